/**
 * services/compute/routes-push.ts: every write of a node record reaches Routes, in order per
 * node, coalesced while a call is in flight; the user's write never waits for Routes nor fails
 * with it; what failed is sent again once Routes answers; a Watch hello pushes everything
 * again and drops what Routes holds that compute does not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeTarget, NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import { createLogger } from '../../lib/log';
import { ownerOnly } from '../../lib/permissions';
import type { RouteWatchHandlers } from '../../lib/routes-client';
import type { NodeRecord } from '../../lib/store/contracts';
import { MemoryNodeStore } from '../../lib/store/store-memory';
import { pushingStore, RoutePusher, targetOf, type RoutesApi } from '../../services/compute/routes-push';
import { until } from '../helpers/bus';

const log = createLogger('test', 'silent');

function record(id: string, change: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    owner: 'alice',
    name: id,
    image: 'http',
    size: 'small',
    command: '',
    status: 'BUILDING',
    task: '',
    reason: '',
    host: '127.0.0.1',
    port: 4000,
    pid: 1,
    exitCode: -1,
    signal: '',
    createdAt: 1,
    updatedAt: 1,
    version: 0,
    permissions: ownerOnly('alice'),
    ...change,
  };
}

/** A Routes that records what it is told; `down` makes every call fail; `gate` holds calls until opened. */
class FakeRoutes implements RoutesApi {
  calls: string[] = [];
  held: NodeTarget__Output[] = [];
  down = false;
  gate: Promise<void> | undefined;
  watcher: RouteWatchHandlers | undefined;

  async syncNode(t: NodeTarget): Promise<void> {
    await this.gate;
    if (this.down) throw new Error('routes down');
    this.calls.push(`sync ${t.id} v${Number(t.version)} ${t.status} ${t.port}`);
  }
  async dropNode(id: string, version: number): Promise<void> {
    await this.gate;
    if (this.down) throw new Error('routes down');
    this.calls.push(`drop ${id} v${version}`);
  }
  async table(): Promise<{ nodes: NodeTarget__Output[] }> {
    if (this.down) throw new Error('routes down');
    return { nodes: this.held };
  }
  watch(handlers: RouteWatchHandlers) {
    this.watcher = handlers;
    return { close: () => (this.watcher = undefined) };
  }
}

function setUp() {
  const routes = new FakeRoutes();
  // A clock stopped at 0: each write's timestamp is its owner's count of writes (1, 2, …).
  const store = new MemoryNodeStore(() => 0);
  const pusher = new RoutePusher({
    routes,
    store,
    epoch: 'e1',
    ready: async () => undefined,
    log,
    backoffMinMs: 10,
    backoffMaxMs: 40,
  });
  return { routes, store, pusher, pushing: pushingStore(store, pusher) };
}

test('a node target carries its address only while ACTIVE, the epoch, and who may route to it', () => {
  const permissions = { read: ['account:cy'], write: ['account:alice', 'account:bob'] };
  assert.deepEqual(targetOf(record('a', { status: 'ACTIVE', version: 3, permissions }), 'e1'), {
    id: 'a',
    name: 'a',
    owner: 'alice',
    status: 'ACTIVE',
    host: '127.0.0.1',
    port: 4000,
    version: 3,
    epoch: 'e1',
    write: ['account:alice', 'account:bob'],
  });
  const stopped = targetOf(record('a', { status: 'STOPPED' }), 'e1');
  assert.deepEqual([stopped.host, stopped.port], ['', 0]);
});

test('every write is pushed with the version the store gave; a delete is a drop of the last version', async (t) => {
  const { routes, pushing, pusher } = setUp();
  t.after(() => pusher.close());
  assert.equal(await pushing.create(record('a'), 5), 'created');
  await until(async () => routes.calls.length === 1, 2000);
  await pushing.put(record('a', { status: 'ACTIVE', port: 4100 }));
  await until(async () => routes.calls.length === 2, 2000);
  assert.deepEqual((await pushing.putIfVersion(record('a'), 1)).done, false, 'a refused write pushes nothing');
  await pushing.putIfVersion(record('a', { status: 'ACTIVE', port: 4200 }), 2);
  await until(async () => routes.calls.length === 3, 2000);
  await pushing.delete('a');
  await until(async () => routes.calls.length === 4, 2000);
  assert.equal(await pushing.create(record('b', { name: 'a' }), 5), 'created');
  assert.equal(await pushing.create(record('c', { name: 'a' }), 5), 'name', 'a refused create pushes nothing');
  await until(async () => routes.calls.length === 5, 2000);
  assert.deepEqual(routes.calls, [
    'sync a v1 BUILDING 0',
    'sync a v2 ACTIVE 4100',
    'sync a v3 ACTIVE 4200',
    'drop a v3',
    'sync b v5 BUILDING 0',
  ]);
});

test('while Routes is slow or down, writes answer at once; pushes coalesce and arrive once it is back', async (t) => {
  const { routes, pushing, pusher } = setUp();
  t.after(() => pusher.close());
  let open!: () => void;
  routes.gate = new Promise((resolve) => (open = resolve));
  await pushing.create(record('a'), 5);
  for (let port = 1; port <= 5; port++) await pushing.put(record('a', { status: 'ACTIVE', port }));
  assert.equal(pusher.backlog, 1, 'one node waiting, whatever its number of writes');
  routes.down = true;
  open();
  routes.gate = undefined;
  await pushing.put(record('b', { status: 'ACTIVE', port: 9 }));
  await until(async () => pusher.backlog === 2, 2000, 'both kept while Routes is down');
  assert.deepEqual(routes.calls, []);
  routes.down = false;
  await until(async () => pusher.backlog === 0, 2000, 'the backlog to drain');
  assert.deepEqual(routes.calls.sort(), ['sync a v6 ACTIVE 5', 'sync b v7 ACTIVE 9']);
});

test('a hello: every record pushed again, and what Routes holds that compute does not dropped', async (t) => {
  const { routes, pushing, pusher, store } = setUp();
  t.after(() => pusher.close());
  await store.create(record('a', { status: 'ACTIVE' }), 5);
  await store.create(record('b'), 5);
  routes.held = [
    targetOf(record('a', { version: 1 }), 'e1'),
    targetOf(record('ghost', { version: 4 }), 'e1'),
    targetOf(record('old', { version: 9 }), 'another epoch'),
  ];
  pusher.start();
  assert.ok(routes.watcher !== undefined, 'the pusher follows the Watch stream');
  routes.watcher.onReload();
  await until(async () => routes.calls.length === 4, 2000, 'the resync');
  assert.deepEqual(routes.calls.sort(), [
    'drop ghost v4',
    'drop old v0',
    'sync a v1 ACTIVE 4000',
    'sync b v2 BUILDING 0',
  ]);
  // A write made while a resync reads keeps its own push: the resync's older read does not replace it.
  routes.calls = [];
  routes.held = [targetOf(record('a', { version: 1 }), 'e1'), targetOf(record('b', { version: 1 }), 'e1')];
  let release!: () => void;
  const reading = new Promise<void>((resolve) => (release = resolve));
  const list = store.list.bind(store);
  store.list = async (owner) => {
    const read = await list(owner);
    await reading;
    return read;
  };
  const resync = pusher.resync();
  await new Promise((resolve) => setImmediate(resolve));
  await pushing.delete('b');
  release();
  await resync;
  await until(async () => routes.calls.length === 2, 2000);
  assert.deepEqual(routes.calls.sort(), ['drop b v2', 'sync a v1 ACTIVE 4000']);
});
