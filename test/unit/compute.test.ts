/**
 * services/compute/compute.ts over a hand-made fake driver and the memory store: validation,
 * ownership, the per-user limit, legal transitions, and the sync loop's reconciliation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { ownerOnly } from '../../lib/permissions';
import { MemoryNodeStore } from '../../lib/store/store-memory';
import { newNode, type NodeRecord } from '../../lib/store/contracts';
import type { DriverApi, DriverNodeView, DriverSpec } from '../../services/compute/driver-client';
import { Compute, LOST_REASON, transitionProblem } from '../../services/compute/compute';
import { nodeOf } from '../../services/compute/handlers';

const log = createLogger('test', 'silent');

/** A driver holding nodes in a map; `fail` makes every call fail; `tick` is its clock. */
class FakeDriver implements DriverApi {
  nodes = new Map<string, DriverNodeView>();
  fail: AgoraError | null = null;
  clock = 1000;
  calls: string[] = [];

  private touch(node: DriverNodeView, change: Partial<DriverNodeView>): DriverNodeView {
    Object.assign(node, change, { updated_at: ++this.clock });
    return { ...node };
  }

  private get(id: string): DriverNodeView {
    if (this.fail) throw this.fail;
    const node = this.nodes.get(id);
    if (node === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [id]);
    return node;
  }

  async create(spec: DriverSpec): Promise<DriverNodeView> {
    this.calls.push(`Create ${spec.name}`);
    if (this.fail) throw this.fail;
    if (spec.image !== 'http') throw new AgoraError('AGORA_ERR_NODE_UNKNOWN_IMAGE', [spec.image, 'http']);
    const node: DriverNodeView = {
      ...spec,
      size: spec.size || 'small',
      state: 'BUILDING',
      reason: '',
      host: '127.0.0.1',
      port: 4000,
      pid: 42,
      exit_code: -1,
      signal: '',
      created_at: ++this.clock,
      updated_at: this.clock,
      output: [],
    };
    this.nodes.set(spec.id, node);
    return { ...node };
  }

  async start(id: string) {
    this.calls.push(`Start ${id}`);
    return this.touch(this.get(id), { state: 'BUILDING' });
  }
  async stop(id: string) {
    this.calls.push(`Stop ${id}`);
    return this.touch(this.get(id), { state: 'STOPPING' });
  }
  async delete(id: string) {
    this.calls.push(`Delete ${id}`);
    return this.touch(this.get(id), { state: 'DELETING' });
  }
  async status(id: string) {
    return { ...this.get(id), output: ['hello'] };
  }
  async update(id: string, name: string, size: string) {
    const node = this.get(id);
    return this.touch(node, { name: name || node.name, size: size || node.size });
  }

  async list(): Promise<DriverNodeView[]> {
    if (this.fail) throw this.fail;
    return [...this.nodes.values()].map((n) => ({ ...n }));
  }

  /** What the driver does on its own: progress and deaths. */
  set(id: string, change: Partial<DriverNodeView>): void {
    this.touch(this.nodes.get(id)!, change);
  }
}

function setUp(limit = 3): { driver: FakeDriver; store: MemoryNodeStore; compute: Compute } {
  const driver = new FakeDriver();
  const store = new MemoryNodeStore();
  return { driver, store, compute: new Compute({ store, driver, maxNodesPerUser: limit, log }) };
}

async function rejectsCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof AgoraError && e.code === code);
}

const HTTP = { name: 'web', image: 'http', size: '', command: '' };

test('create: checked before the driver is called; the driver judges the catalogue; nothing is left of a refusal', async () => {
  const { driver, compute } = setUp();
  await rejectsCode(compute.create('alice', { ...HTTP, name: 'no spaces' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsCode(compute.create('alice', { ...HTTP, image: '' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsCode(compute.create('alice', { ...HTTP, size: 'x'.repeat(65) }), 'AGORA_ERR_NODE_INVALID');
  assert.deepEqual(driver.calls, []);
  await rejectsCode(compute.create('alice', { ...HTTP, image: 'windows' }), 'AGORA_ERR_NODE_UNKNOWN_IMAGE');
  assert.deepEqual((await compute.list('alice')).nodes, []);
  const node = await compute.create('alice', HTTP);
  assert.deepEqual([node.status, node.owner, node.size], ['BUILDING', 'alice', 'small']);
  assert.equal((await compute.get('alice', node.id)).id, node.id);
});

test('the per-user limit holds under concurrent creates; other users are not counted', async () => {
  const { compute } = setUp(3);
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => compute.create('alice', { ...HTTP, name: `n${i}` })),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  for (const r of results.filter((r) => r.status === 'rejected'))
    assert.equal((r.reason as AgoraError).code, 'AGORA_ERR_NODE_LIMIT');
  assert.equal((await compute.create('bob', HTTP)).owner, 'bob');
});

test("another user's node is as unknown as a node that never was", async () => {
  const { compute } = setUp();
  const node = await compute.create('alice', HTTP);
  for (const call of [
    compute.get('bob', node.id),
    compute.update('bob', node.id, { name: 'x', size: '', action: '' }),
    compute.delete('bob', node.id),
    compute.output('bob', node.id),
    compute.get('alice', 'nope'),
    compute.get('alice', 'x'.repeat(1000)),
  ])
    await rejectsCode(call, 'AGORA_ERR_NODE_NOT_FOUND');
  assert.deepEqual((await compute.list('bob')).nodes, []);
});

test('a node shared for reading is seen, listed and read; changing it is AGORA_ERR_FORBIDDEN', async () => {
  const { compute, driver } = setUp();
  const node = await compute.create('alice', { ...HTTP, permissions: { read: ['account:bob'] } });
  assert.deepEqual(node.permissions, { read: ['account:bob'], write: ['account:alice'] }, 'the owner gets write');
  assert.equal((await compute.get('bob', node.id)).id, node.id);
  assert.deepEqual((await compute.output('bob', node.id)).lines, ['hello']);
  const listed = await compute.list('bob');
  assert.deepEqual([listed.nodes.map((n) => n.id), listed.shared], [[node.id], true]);
  assert.equal((await compute.list('alice')).shared, false, "one's own nodes only");
  driver.calls.length = 0;
  for (const call of [
    compute.update('bob', node.id, { name: '', size: '', action: 'stop' }),
    compute.update('bob', node.id, { name: '', size: '', action: '', permissions: { write: ['account:bob'] } }),
    compute.delete('bob', node.id),
  ])
    await rejectsCode(call, 'AGORA_ERR_FORBIDDEN');
  assert.deepEqual(driver.calls, [], 'nothing reached the driver');
  await rejectsCode(compute.get('cy', node.id), 'AGORA_ERR_NODE_NOT_FOUND');
  assert.deepEqual((await compute.list('cy')).nodes, []);
});

test("a reader's list version moves when a node shared with it is unshared; a create compares it", async () => {
  const { compute } = setUp();
  const node = await compute.create('alice', { ...HTTP, permissions: { read: ['account:bob'] } });
  const seen = (await compute.list('bob')).version;
  assert.ok(seen >= node.version, 'at least the shared node it lists');
  const permissions = { read: [] };
  await compute.update('alice', node.id, { name: '', size: '', action: '', permissions });
  const after = await compute.list('bob');
  assert.deepEqual(after.nodes, [], 'no longer listed');
  assert.ok(after.version > seen, `${after.version} after ${seen}`);
  await assert.rejects(
    compute.create('bob', HTTP, undefined, seen),
    (e: unknown) =>
      e instanceof AgoraError &&
      e.code === 'AGORA_ERR_NODE_LIST_STALE' &&
      JSON.stringify(e.data) === JSON.stringify({ info: `current ETag: "${after.version}"` }),
  );
  const made = await compute.create('bob', HTTP, undefined, after.version);
  assert.ok((await compute.list('bob')).version >= made.version, 'its own create moves it too');
});

test('a node shared for control: its writer stops, renames and deletes it; permissions change alone', async () => {
  const { compute, driver } = setUp();
  const node = await compute.create('alice', HTTP);
  await rejectsCode(compute.get('bob', node.id), 'AGORA_ERR_NODE_NOT_FOUND');
  // A change of permissions alone: no driver call, a new version; the kind not given is kept.
  const shared = await compute.update('alice', node.id, {
    name: '',
    size: '',
    action: '',
    permissions: { write: ['account:bob'] },
  });
  assert.deepEqual(shared.permissions, { read: [], write: ['account:alice', 'account:bob'] });
  assert.equal(shared.version, node.version + 1);
  assert.deepEqual(driver.calls, ['Create web']);
  driver.set(node.id, { state: 'ACTIVE' });
  await compute.sync();
  assert.deepEqual((await compute.get('alice', node.id)).permissions, shared.permissions, 'the sync keeps them');
  const stopped = await compute.update('bob', node.id, { name: 'www', size: '', action: 'stop' });
  assert.deepEqual([stopped.name, stopped.task, stopped.owner], ['www', 'stopping', 'alice']);
  // Permissions ride with another change; the owner stays a writer whatever is asked.
  const narrowed = await compute.update('bob', node.id, {
    name: 'web2',
    size: '',
    action: '',
    permissions: { read: ['system.Authenticated'], write: [] },
  });
  assert.deepEqual(narrowed.permissions, { read: ['system.Authenticated'], write: ['account:alice', 'account:bob'] });
  assert.deepEqual((await compute.get('cy', node.id)).name, 'web2', 'every signed-in user reads it now');
  await rejectsCode(
    compute.update('alice', node.id, { name: '', size: '', action: '', permissions: { read: ['nobody'] } }),
    'AGORA_ERR_PERMISSIONS_INVALID',
  );
  assert.equal((await compute.delete('bob', node.id)).status, 'DELETING');
});

test('transitions: what docs/COMPUTE.md allows in each status, and 409 for the rest', async () => {
  const at = (status: NodeRecord['status'], task = ''): NodeRecord => ({
    id: 'a',
    owner: 'o',
    name: 'n',
    image: 'http',
    size: 'small',
    command: '',
    status,
    task,
    reason: '',
    host: '',
    port: 0,
    pid: 0,
    exitCode: -1,
    signal: '',
    createdAt: 1,
    updatedAt: 1,
    version: 1,
    permissions: ownerOnly('o'),
  });
  const start = { name: '', size: '', action: 'start' };
  const stop = { name: '', size: '', action: 'stop' };
  const resize = { name: '', size: 'large', action: '' };
  const rename = { name: 'm', size: '', action: '' };
  assert.deepEqual(transitionProblem(at('ACTIVE'), start), ['start', 'ACTIVE']);
  assert.deepEqual(transitionProblem(at('ACTIVE', 'stopping'), stop), ['stop', 'ACTIVE (stopping)']);
  assert.deepEqual(transitionProblem(at('BUILDING'), stop), ['stop', 'BUILDING']);
  assert.deepEqual(transitionProblem(at('STOPPED'), stop), ['stop', 'STOPPED']);
  assert.deepEqual(transitionProblem(at('ACTIVE'), resize), ['resize', 'ACTIVE']);
  assert.deepEqual(transitionProblem(at('DELETING'), rename), ['rename', 'DELETING']);
  assert.equal(transitionProblem(at('ACTIVE'), { ...resize, size: 'small' }), null, 'the same size is no change');
  for (const [status, input] of [
    ['STOPPED', start],
    ['ERROR', start],
    ['ACTIVE', stop],
    ['ERROR', stop],
    ['STOPPED', resize],
    ['BUILDING', rename],
  ] as const) {
    assert.equal(transitionProblem(at(status), input), null, `${input.action || 'change'} from ${status}`);
  }
});

test('update: everything is checked before anything is done; start and stop reach the driver', async () => {
  const { driver, compute } = setUp();
  const node = await compute.create('alice', HTTP);
  driver.set(node.id, { state: 'ACTIVE' });
  await compute.sync();
  driver.calls = [];
  await rejectsCode(
    compute.update('alice', node.id, { name: 'ok', size: 'large', action: '' }),
    'AGORA_ERR_NODE_CONFLICT',
  );
  await rejectsCode(
    compute.update('alice', node.id, { name: '', size: '', action: 'reboot' }),
    'AGORA_ERR_NODE_INVALID',
  );
  await rejectsCode(compute.update('alice', node.id, { name: '', size: '', action: '' }), 'AGORA_ERR_NODE_INVALID');
  assert.deepEqual(driver.calls, [], 'a refused change reached the driver');
  assert.equal((await compute.get('alice', node.id)).name, 'web');
  const stopping = await compute.update('alice', node.id, { name: 'web-2', size: '', action: 'stop' });
  assert.deepEqual([stopping.name, stopping.status, stopping.task], ['web-2', 'ACTIVE', 'stopping']);
  driver.set(node.id, { state: 'STOPPED', port: 0 });
  await compute.sync();
  const resized = await compute.update('alice', node.id, { name: '', size: 'large', action: 'start' });
  assert.deepEqual([resized.size, resized.status], ['large', 'BUILDING']);
  assert.deepEqual(driver.calls, [`Stop ${node.id}`, `Start ${node.id}`]);
});

test('sync: progress and deaths are recorded; a stale reply does not undo a newer one', async () => {
  const { driver, compute } = setUp();
  const node = await compute.create('alice', HTTP);
  driver.set(node.id, { state: 'ACTIVE' });
  await compute.sync();
  assert.equal((await compute.get('alice', node.id)).status, 'ACTIVE');
  const stale = await driver.list();
  await compute.update('alice', node.id, { name: '', size: '', action: 'stop' });
  // A List answered before the Stop, arriving after it, must not bring ACTIVE back.
  const realList = driver.list.bind(driver);
  driver.list = async () => stale;
  await compute.sync();
  assert.equal((await compute.get('alice', node.id)).task, 'stopping');
  driver.list = realList;
  driver.set(node.id, { state: 'ERROR', reason: 'killed by signal SIGKILL', signal: 'SIGKILL', exit_code: -1 });
  await compute.sync();
  const dead = await compute.get('alice', node.id);
  assert.deepEqual([dead.status, dead.reason, dead.signal], ['ERROR', 'killed by signal SIGKILL', 'SIGKILL']);
});

test('reconciliation: a new compute rebuilds every record from the driver; lost nodes turn ERROR; deleted ones go', async () => {
  const first = setUp();
  const a = await first.compute.create('alice', HTTP);
  const b = await first.compute.create('bob', { ...HTTP, name: 'other' });
  first.driver.set(a.id, { state: 'ACTIVE' });
  // 1. A new compute over the same driver, with an empty store: records come back, owners too.
  const compute = new Compute({ store: new MemoryNodeStore(), driver: first.driver, maxNodesPerUser: 3, log });
  assert.deepEqual(
    (await compute.list('alice')).nodes.map((n) => [n.id, n.status, n.owner]),
    [[a.id, 'ACTIVE', 'alice']],
  );
  assert.deepEqual(
    (await compute.list('bob')).nodes.map((n) => n.id),
    [b.id],
  );
  // 2. The driver loses a node: ERROR with the reason; a DELETING node it no longer has is gone.
  await compute.delete('alice', a.id);
  first.driver.nodes.clear();
  await compute.sync();
  await rejectsCode(compute.get('alice', a.id), 'AGORA_ERR_NODE_NOT_FOUND');
  const lost = await compute.get('bob', b.id);
  assert.deepEqual([lost.status, lost.reason], ['ERROR', LOST_REASON]);
  // 3. A lost node cannot be stopped; renamed, it waits; started, it is made again at the driver.
  await rejectsCode(compute.update('bob', b.id, { name: '', size: '', action: 'stop' }), 'AGORA_ERR_NODE_CONFLICT');
  assert.equal((await compute.update('bob', b.id, { name: 'again', size: '', action: '' })).name, 'again');
  assert.equal(first.driver.nodes.size, 0);
  await rejectsCode(
    compute.update('bob', b.id, { name: '', size: 'large', action: 'start' }),
    'AGORA_ERR_NODE_CONFLICT',
  );
  const remade = await compute.update('bob', b.id, { name: '', size: '', action: 'start' });
  assert.deepEqual(
    [remade.id, remade.status, remade.reason, remade.name, remade.size],
    [b.id, 'BUILDING', '', 'again', 'small'],
  );
  assert.deepEqual([first.driver.nodes.get(b.id)?.owner, first.driver.nodes.get(b.id)?.name], ['bob', 'again']);
});

test('a node the driver lost before the sync noticed: a start makes it again, its output is empty', async () => {
  const { driver, compute } = setUp();
  const node = await compute.create('alice', HTTP);
  driver.set(node.id, { state: 'STOPPED' });
  await compute.sync();
  driver.nodes.clear();
  assert.deepEqual(await compute.output('alice', node.id), { id: node.id, lines: [] });
  assert.equal((await compute.get('alice', node.id)).reason, LOST_REASON);
  const again = await compute.update('alice', node.id, { name: '', size: '', action: 'start' });
  assert.deepEqual([again.status, driver.nodes.has(node.id)], ['BUILDING', true]);
  // The same, found by the start itself.
  driver.set(node.id, { state: 'STOPPED' });
  await compute.sync();
  driver.nodes.clear();
  assert.equal((await compute.update('alice', node.id, { name: '', size: '', action: 'start' })).status, 'BUILDING');
  assert.deepEqual(
    driver.calls.filter((c) => c.startsWith('Create')),
    ['Create web', 'Create web', 'Create web'],
  );
});

test('calls wait for the first sync, and fail with 503 while the driver does not answer', async () => {
  const { driver, compute } = setUp();
  driver.fail = new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['driver.local']);
  await rejectsCode(compute.list('alice'), 'AGORA_ERR_RPC_UNAVAILABLE');
  await rejectsCode(compute.create('alice', HTTP), 'AGORA_ERR_RPC_UNAVAILABLE');
  driver.fail = null;
  assert.deepEqual((await compute.list('alice')).nodes, []);
});

test('delete: DELETING, again on a second call; a node the driver no longer has goes at once', async () => {
  const { driver, compute } = setUp();
  const node = await compute.create('alice', HTTP);
  assert.equal((await compute.delete('alice', node.id)).status, 'DELETING');
  assert.equal((await compute.delete('alice', node.id)).status, 'DELETING');
  assert.deepEqual(
    driver.calls.filter((c) => c.startsWith('Delete')),
    [`Delete ${node.id}`],
  );
  await rejectsCode(
    compute.update('alice', node.id, { name: '', size: '', action: 'start' }),
    'AGORA_ERR_NODE_CONFLICT',
  );
  const other = await compute.create('alice', { ...HTTP, name: 'other' });
  driver.nodes.delete(other.id);
  assert.equal((await compute.delete('alice', other.id)).status, 'DELETING');
  await rejectsCode(compute.get('alice', other.id), 'AGORA_ERR_NODE_NOT_FOUND');
});

test('a deleted node is listed as a tombstone for the time configured, then pruned by the sync', async () => {
  const driver = new FakeDriver();
  const store = new MemoryNodeStore();
  const compute = new Compute({ store, driver, maxNodesPerUser: 3, log, tombstoneTtlMs: 60_000 });
  const node = await compute.create('alice', HTTP);
  driver.nodes.delete(node.id);
  await compute.delete('alice', node.id);
  const { deleted, version } = await compute.list('alice');
  assert.deepEqual(deleted, [{ id: node.id, lastModified: version }], 'stamped as the last write of the list');
  assert.deepEqual((await compute.list('bob')).deleted, []);
  // Past its time: no longer listed, and the sync forgets it.
  const real = Date.now;
  Date.now = () => real() + 61_000;
  try {
    assert.deepEqual((await compute.list('alice')).deleted, []);
    await compute.sync();
  } finally {
    Date.now = real;
  }
  assert.deepEqual((await store.owned('alice')).deleted, [], 'pruned from the store');
});

test('MemoryNodeStore: oldest first, copies in and out, ids unique', async () => {
  const store = new MemoryNodeStore();
  const rec = (id: string, owner: string, createdAt: number): NodeRecord =>
    newNode({ id, owner, name: id, image: 'http', size: 'small', command: '' }, createdAt);
  assert.equal(await store.create(rec('b', 'alice', 2), 5), 'created');
  assert.equal(await store.create(rec('a', 'alice', 2), 5), 'created');
  assert.equal(await store.create(rec('c', 'bob', 1), 5), 'created');
  assert.equal(await store.create(rec('c', 'bob', 1), 5), 'exists');
  assert.equal(await store.create(rec('d', 'alice', 3), 2), 'limit');
  assert.deepEqual(
    (await store.list()).map((n) => n.id),
    ['c', 'a', 'b'],
  );
  assert.deepEqual(
    (await store.list('alice')).map((n) => n.id),
    ['a', 'b'],
  );
  const got = (await store.get('a'))!;
  got.name = 'changed';
  assert.equal((await store.get('a'))!.name, 'a');
  assert.equal(await store.delete('a'), true);
  assert.equal(await store.delete('a'), false);
});

test('a write naming a version: of concurrent stops one reaches the driver; the others are NODE_STALE and call nothing', async () => {
  const { compute, driver } = setUp();
  const node = await compute.create('alice', HTTP);
  driver.set(node.id, { state: 'ACTIVE' });
  await compute.sync();
  const active = await compute.get('alice', node.id);
  assert.equal(active.status, 'ACTIVE');
  // 1. A version it is not at: refused before anything is asked of the driver.
  const before = driver.calls.length;
  await assert.rejects(
    compute.update('alice', node.id, { name: '', size: '', action: 'stop' }, undefined, active.version - 1),
    {
      code: 'AGORA_ERR_NODE_STALE',
      status: 412,
      errno: 114,
      data: { info: `current ETag: "${active.version}"` },
    },
  );
  assert.equal(driver.calls.length, before);
  // 2. Eight stops at the current version at once: one claims the node and stops it.
  const answers = await Promise.allSettled(
    Array.from({ length: 8 }, () =>
      compute.update('alice', node.id, { name: '', size: '', action: 'stop' }, undefined, active.version),
    ),
  );
  const stopped = answers.filter((a) => a.status === 'fulfilled');
  assert.equal(stopped.length, 1);
  for (const a of answers)
    if (a.status === 'rejected') assert.equal((a.reason as AgoraError).code, 'AGORA_ERR_NODE_STALE');
  assert.deepEqual(driver.calls.slice(before), [`Stop ${node.id}`], 'the driver was asked once');
  const [won] = stopped;
  assert.ok(won.value.version > active.version + 1, 'the claim and the recorded answer are two writes');
  assert.deepEqual(await compute.get('alice', node.id), won.value);
  // 3. A delete naming the version before the stop: refused, nothing deleted.
  await rejectsCode(compute.delete('alice', node.id, undefined, active.version), 'AGORA_ERR_NODE_STALE');
  assert.equal(driver.calls.filter((c) => c.startsWith('Delete')).length, 0);
});

test("two compute instances: a create in flight on one is not judged lost by the other's sync", async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const driver = new FakeDriver();
  const store = new MemoryNodeStore();
  const a = new Compute({ store, driver, maxNodesPerUser: 3, log, settleMs: 5000 });
  const b = new Compute({ store, driver, maxNodesPerUser: 3, log, settleMs: 5000 });
  await Promise.all([a.ready(), b.ready()]);
  // 1. A's create is recorded (BUILDING), then waits at the driver.
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const create = driver.create.bind(driver);
  driver.create = async (spec) => {
    arrive();
    await gate;
    return create(spec);
  };
  const creating = a.create('alice', HTTP);
  await arrived;
  const [pending] = await store.list();
  assert.equal(pending.status, 'BUILDING');
  // 2. B syncs a second later: the driver does not list the node yet, but it is too fresh to be lost.
  t.mock.timers.tick(1000);
  await b.sync();
  assert.deepEqual(await store.get(pending.id), pending);
  // 3. The driver answers A: the node is recorded, never lost.
  release();
  const made = await creating;
  assert.deepEqual([made.status, made.reason], ['BUILDING', '']);
  // 4. Past settleMs, a record the driver does not have is lost, as with one instance.
  driver.nodes.clear();
  t.mock.timers.tick(6000);
  await b.sync();
  assert.deepEqual([(await store.get(made.id))?.status, (await store.get(made.id))?.reason], ['ERROR', LOST_REASON]);
});

test('two compute instances: a sync never overwrites what the other wrote after it read', async () => {
  const driver = new FakeDriver();
  const store = new MemoryNodeStore();
  const a = new Compute({ store, driver, maxNodesPerUser: 3, log });
  const node = await a.create('alice', HTTP);
  driver.set(node.id, { state: 'ACTIVE' });
  // B reads the record and the driver's list; A renames the node before B writes.
  let interleave: (() => Promise<void>) | undefined;
  const bStore = Object.create(store) as MemoryNodeStore;
  bStore.list = async (owner) => {
    const read = await store.list(owner);
    const hook = interleave;
    interleave = undefined;
    await hook?.();
    return read;
  };
  const b = new Compute({ store: bStore, driver, maxNodesPerUser: 3, log });
  interleave = async () => void (await a.update('alice', node.id, { name: 'renamed', size: '', action: '' }));
  await b.sync();
  const now = await a.get('alice', node.id);
  assert.equal(now.name, 'renamed', 'the rename survives the older news of the sync');
  // The next sync brings the driver's progress in.
  await b.sync();
  assert.deepEqual(
    [(await a.get('alice', node.id)).name, (await a.get('alice', node.id)).status],
    ['renamed', 'ACTIVE'],
  );
});

test("names: a DNS label, one per owner, at create and at rename; each node's static URL", async () => {
  const { compute } = setUp(5);
  for (const name of ['Web', 'web_1', 'web.1', '-web', 'a'.repeat(64)])
    await rejectsCode(compute.create('alice', { ...HTTP, name }), 'AGORA_ERR_NODE_INVALID');
  const web = await compute.create('alice', HTTP);
  await rejectsCode(compute.create('alice', HTTP), 'AGORA_ERR_NODE_NAME_TAKEN');
  assert.equal((await compute.create('bob', HTTP)).name, 'web', "another owner's name is no matter");
  const api = await compute.create('alice', { ...HTTP, name: 'api' });
  await rejectsCode(
    compute.update('alice', api.id, { name: 'web', size: '', action: '' }),
    'AGORA_ERR_NODE_NAME_TAKEN',
  );
  await rejectsCode(compute.update('alice', api.id, { name: 'Web', size: '', action: '' }), 'AGORA_ERR_NODE_INVALID');
  assert.equal((await compute.update('alice', api.id, { name: 'api', size: '', action: '' })).name, 'api');
  assert.equal((await compute.update('alice', web.id, { name: 'www', size: '', action: '' })).name, 'www');
  assert.equal((await compute.update('alice', api.id, { name: 'web', size: '', action: '' })).name, 'web', 'freed');
  const proxy = { domain: 'nodes.localhost', port: 8000 };
  assert.equal(nodeOf(await compute.get('alice', api.id), proxy).url, 'http://web.alice.nodes.localhost:8000/');
  assert.equal(nodeOf({ ...web, name: 'Old_Name' }, proxy).url, '', 'a name from before the rule has no URL');
});
