/**
 * The driver contract (proto/driver.proto, docs/COMPUTE.md "The driver contract"), called over
 * the bus against every driver of test/helpers/drivers.ts: one suite, each driver must pass it.
 * Every process is real: the broker, the driver from its Procfile entry point, and the nodes
 * it spawns (the built-in `http` image and `/bin/sh -c` commands).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createClient, type BusClient } from '../../lib/bus/client';
import type { DriverNode__Output } from '../../lib/gen/agora/DriverNode';
import { LOG_MAX_BYTES } from '../../services/driver/state-dir';
import { rejectsWith, until, waitForService, waitForServiceGone } from '../helpers/bus';
import { DRIVERS, RUBY_DRIVER, TS_DRIVER, type DriverSpec } from '../helpers/drivers';
import { alive, ended, startBroker, type Started } from '../helpers/proc';

/** A node as the contract answers it, missing keys filled with their defaults (proto/driver.proto). */
type Node = Omit<DriverNode__Output, 'output'> & { output?: string[] };

const GRACE_MS = 500;
const HEALTH_MS = 3000;
const OUTPUT_LINES = 5;
/** Long enough for a process to start and answer on a loaded 2-core machine. */
const STATE_MS = 15_000;
const REGISTER_MS = 10_000;
const SETTINGS = {
  AGORA_DRIVER_ALLOW_COMMAND: 'true',
  AGORA_DRIVER_STOP_GRACE_MS: String(GRACE_MS),
  AGORA_DRIVER_HEALTH_TIMEOUT_MS: String(HEALTH_MS),
  AGORA_DRIVER_OUTPUT_LINES: String(OUTPUT_LINES),
};
/** A command node that listens on its PORT (a one-line Node.js server), for the TCP health check. */
function listener(js = ''): string {
  return `echo starting; exec ${process.execPath} -e "${js} require('http').createServer((q, s) => s.end('up')).listen(process.env.PORT, process.env.HOST)"`;
}
const LISTEN = listener();

const DEFAULTS: Node = {
  id: '',
  name: '',
  owner: '',
  image: '',
  size: '',
  command: '',
  state: '',
  reason: '',
  host: '',
  port: 0,
  pid: 0,
  exit_code: 0,
  signal: '',
  created_at: 0,
  updated_at: 0,
};

/** A driver on its own broker, and the calls of its contract. */
class Harness {
  private seq = 0;

  constructor(
    readonly spec: DriverSpec,
    readonly client: BusClient,
    public driver: Started,
    private readonly bus: string,
    private readonly procs: Started[],
  ) {}

  /**
   * Start the driver (or `next`, serving the same bus name) again (the last one has ended), with `env`; resolves once
   * it is registered.
   */
  async restart(env: Record<string, string>, next = this.spec): Promise<void> {
    this.driver = await this.start(env, next);
    await waitForService(this.client, this.spec.service, REGISTER_MS);
  }

  /** Start one more driver process on this bus, stopped with the test. */
  async start(env: Record<string, string>, spec = this.spec): Promise<Started> {
    const driver = await spec.start(this.bus, env);
    this.procs.push(driver);
    return driver;
  }

  /** A result map with the defaults of missing keys filled in, as the contract says callers do. */
  async call(method: string, request: unknown): Promise<Node> {
    return { ...DEFAULTS, ...(await this.client.call<Partial<Node>>(this.spec.service, method, [request])) };
  }

  async list(owner = ''): Promise<Node[]> {
    const reply = await this.client.call<{ nodes?: Array<Partial<Node>> }>(this.spec.service, 'List', [{ owner }]);
    return (reply.nodes ?? []).map((n) => ({ ...DEFAULTS, ...n }));
  }

  /** A fresh id, unique in this run. */
  id(prefix: string): string {
    this.seq += 1;
    return `${prefix}-${process.pid}-${this.seq}`;
  }

  /** Poll Status until the node reaches `state` (failing at once on an unexpected ERROR). */
  async reach(id: string, state: string): Promise<Node> {
    let node!: Node;
    await until(async () => {
      node = await this.call('Status', { id });
      if (node.state === 'ERROR' && state !== 'ERROR')
        assert.fail(`node ${id} went to ERROR: ${node.reason} ${JSON.stringify(node.output)}`);
      return node.state === state;
    }, STATE_MS);
    return node;
  }

  async gone(id: string): Promise<void> {
    await until(async () => {
      try {
        await this.call('Status', { id });
        return false;
      } catch (e) {
        return (e as { code?: string }).code === 'AGORA_ERR_NODE_NOT_FOUND';
      }
    }, STATE_MS);
  }
}

async function setUp(
  t: TestContext,
  spec: DriverSpec,
  env: Record<string, string>,
  brokerEnv: Record<string, string> = {},
): Promise<Harness> {
  const broker = await startBroker(brokerEnv);
  const bus = String(broker.endpoints.bus);
  const client = createClient({ endpoint: bus, timeoutMs: 5000 });
  const procs: Started[] = [broker];
  t.after(async () => {
    client.close();
    for (const p of procs.reverse()) await p.stop();
  });
  const driver = await spec.start(bus, env);
  procs.push(driver);
  await waitForService(client, spec.service, REGISTER_MS);
  return new Harness(spec, client, driver, bus, procs);
}

/** The body of GET / on host:port, or null when nothing answers. */
async function get(host: string, port: number): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

/** The id an http node serves in the body of GET / (undefined when nothing answered). */
function servedId(res: { body: string } | null): unknown {
  return (JSON.parse(res?.body ?? '{}') as { id?: unknown }).id;
}

for (const spec of DRIVERS) {
  test(`${spec.name} driver: the contract`, async (t) => {
    if (!(await spec.available(t))) return;
    const d = await setUp(t, spec, SETTINGS);
    await t.test('an http node: BUILDING, then ACTIVE answering with its name and id', () => httpNode(d));
    await t.test('stop, update and start: the port stops answering, the new name is served', () => stopUpdateStart(d));
    await t.test('delete: DELETING, then gone with its process', () => deleteNode(d));
    await t.test('a node killed from outside is ERROR with its signal; Stop and Start recover it', () =>
      killedFromOutside(d),
    );
    await t.test('command nodes: TCP health check, exit codes, last output lines, failed health', () =>
      commandNodes(d),
    );
    await t.test("a node gets its size's memory and no more", () => memoryLimit(d));
    await t.test('SIGTERM ignored: SIGKILL after the grace period; conflicts while stopping and deleting', () =>
      sigtermIgnored(d),
    );
    await t.test('bad input: clear errors, and the driver keeps serving', () => badInput(d));
    await t.test('SIGTERM to the driver stops every node process and exits 0', () => driverSigterm(d));
  });

  test(`${spec.name} driver: commands are refused by default; AGORA_DRIVER_MAX_NODES caps the nodes`, async (t) => {
    if (!(await spec.available(t))) return;
    const d = await setUp(t, spec, { AGORA_DRIVER_MAX_NODES: '1' });
    const err = await rejectsWith(
      d.call('Create', { id: d.id('cmd'), name: 'n', image: 'command', command: 'true' }),
      'AGORA_ERR_NODE_COMMAND_NOT_ALLOWED',
    );
    assert.equal(err.errno, 107);
    assert.deepEqual(await d.list(), []);
    // One node fits; a second is refused, while a retry of the first still answers it.
    const id = d.id('only');
    const made = await d.call('Create', { id, name: 'only', image: 'http' });
    await rejectsWith(d.call('Create', { id: d.id('more'), name: 'more', image: 'http' }), 'AGORA_ERR_DRIVER_FULL');
    assert.equal((await d.call('Create', { id, name: 'only', image: 'http' })).created_at, made.created_at);
    assert.deepEqual(
      (await d.list()).map((n) => n.id),
      [id],
    );
  });
}

async function httpNode(d: Harness): Promise<void> {
  const id = d.id('web');
  // 1. Create answers at once, in BUILDING, with the record as given and size defaulted.
  const made = await d.call('Create', { id, name: 'web-1', owner: 'ann', image: 'http' });
  assert.deepEqual(
    [made.id, made.name, made.owner, made.image, made.size, made.command],
    [id, 'web-1', 'ann', 'http', 'small', ''],
  );
  assert.equal(made.state, 'BUILDING');
  assert.ok(made.created_at > Date.now() - 60_000 && made.created_at <= made.updated_at);
  // 2. ACTIVE only once it answers; it serves its identity on its loopback port.
  const active = await d.reach(id, 'ACTIVE');
  assert.equal(active.host, '127.0.0.1');
  assert.ok(active.port > 0 && active.pid > 0);
  const res = await get(active.host, active.port);
  assert.equal(res?.status, 200);
  assert.deepEqual(JSON.parse(res.body), { id, name: 'web-1', image: 'http', size: 'small' });
  // Its size's memory (64 MiB) is its data segment limit.
  assert.match(readFileSync(`/proc/${active.pid}/limits`, 'utf8'), /^Max data size\s+67108864\s+67108864\s+bytes/m);
  // 3. Its output is kept and read through Status; List has the node without output.
  const status = await d.call('Status', { id });
  assert.ok((status.output ?? []).length > 0, 'the http image writes a line when it listens');
  const listed = (await d.list()).find((n) => n.id === id);
  assert.equal(listed?.state, 'ACTIVE');
  assert.deepEqual(listed?.output ?? [], [], 'List leaves output out');
  assert.deepEqual(
    (await d.list('ann')).map((n) => n.id),
    [id],
  );
  assert.deepEqual(await d.list('nobody'), []);
  // 4. Create again with the same id (a retry) answers the same node, starting nothing new.
  const again = await d.call('Create', { id, name: 'other', owner: 'bob', image: 'http' });
  assert.deepEqual([again.name, again.pid, again.created_at], ['web-1', active.pid, made.created_at]);
}

async function stopUpdateStart(d: Harness): Promise<void> {
  const id = d.id('cycle');
  await d.call('Create', { id, name: 'before', image: 'http', size: 'medium' });
  const active = await d.reach(id, 'ACTIVE');
  // 1. Stop: SIGTERM; the http image exits 0 and the port no longer answers.
  assert.ok(['STOPPING', 'STOPPED'].includes((await d.call('Stop', { id })).state));
  const stopped = await d.reach(id, 'STOPPED');
  assert.deepEqual([stopped.pid, stopped.port, stopped.exit_code, stopped.signal], [0, 0, 0, '']);
  assert.equal(await get(active.host, active.port), null);
  assert.equal(alive(active.pid), false);
  assert.equal((await d.call('Stop', { id })).state, 'STOPPED', 'Stop on a stopped node answers it unchanged');
  // 2. Update changes the record at once; the process sees it at its next start.
  const updated = await d.call('Update', { id, name: 'after', size: 'large' });
  assert.deepEqual([updated.name, updated.size, updated.state], ['after', 'large', 'STOPPED']);
  assert.equal((await d.call('Update', { id, name: '', size: '' })).name, 'after', 'empty means unchanged');
  assert.equal((await d.call('Start', { id })).state, 'BUILDING');
  const again = await d.reach(id, 'ACTIVE');
  assert.equal((await d.call('Start', { id })).state, 'ACTIVE', 'Start on an active node answers it unchanged');
  const res = await get(again.host, again.port);
  assert.deepEqual(JSON.parse(res?.body ?? '{}'), { id, name: 'after', image: 'http', size: 'large' });
}

async function deleteNode(d: Harness): Promise<void> {
  const id = d.id('del');
  await d.call('Create', { id, name: 'gone-soon', image: 'http' });
  const active = await d.reach(id, 'ACTIVE');
  assert.equal((await d.call('Delete', { id })).state, 'DELETING');
  await d.gone(id);
  assert.equal(alive(active.pid), false);
  assert.equal(
    (await d.list()).some((n) => n.id === id),
    false,
  );
  await rejectsWith(d.call('Delete', { id }), 'AGORA_ERR_NODE_NOT_FOUND');
  // A stopped node (no process) goes too.
  const quiet = d.id('del');
  await d.call('Create', { id: quiet, name: 'quiet', image: 'http' });
  await d.reach(quiet, 'ACTIVE');
  await d.call('Stop', { id: quiet });
  await d.reach(quiet, 'STOPPED');
  assert.equal((await d.call('Delete', { id: quiet })).state, 'DELETING');
  await d.gone(quiet);
}

async function killedFromOutside(d: Harness): Promise<void> {
  const id = d.id('killed');
  await d.call('Create', { id, name: 'victim', image: 'http' });
  const active = await d.reach(id, 'ACTIVE');
  process.kill(active.pid, 'SIGKILL');
  const failed = await d.reach(id, 'ERROR');
  assert.deepEqual([failed.signal, failed.exit_code, failed.pid, failed.port], ['SIGKILL', -1, 0, 0]);
  assert.match(failed.reason, /SIGKILL/);
  // ERROR keeps its output; Start tries again.
  assert.ok((failed.output ?? []).length > 0);
  assert.equal((await d.call('Start', { id })).state, 'BUILDING');
  const back = await d.reach(id, 'ACTIVE');
  assert.notEqual(back.pid, active.pid);
  process.kill(back.pid, 'SIGKILL');
  await d.reach(id, 'ERROR');
  assert.equal((await d.call('Stop', { id })).state, 'STOPPED', 'Stop on an ERROR node: STOPPED at once');
}

async function commandNodes(d: Harness): Promise<void> {
  // 1. A command that listens on PORT turns ACTIVE.
  const up = d.id('cmd');
  const made = await d.call('Create', { id: up, name: 'listener', image: 'command', command: LISTEN });
  assert.equal(made.command, LISTEN);
  const active = await d.reach(up, 'ACTIVE');
  assert.equal((await get(active.host, active.port))?.body, 'up');
  // 2. One that exits on its own is ERROR with its exit code; only the last lines are kept.
  const quits = d.id('cmd');
  await d.call('Create', {
    id: quits,
    name: 'quitter',
    image: 'command',
    command: 'for i in 1 2 3 4 5 6 7 8; do echo line $i; done; exit 3',
  });
  const failed = await d.reach(quits, 'ERROR');
  assert.deepEqual([failed.exit_code, failed.signal], [3, '']);
  assert.match(failed.reason, /3/);
  assert.deepEqual(failed.output, ['line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
  // 3. One that never listens is killed after the health timeout and put in ERROR.
  const deaf = d.id('cmd');
  const sleeper = await d.call('Create', {
    id: deaf,
    name: 'deaf',
    image: 'command',
    command: 'echo waiting; exec sleep 60',
  });
  const timedOut = await d.reach(deaf, 'ERROR');
  assert.notEqual(timedOut.reason, '');
  assert.equal(alive(sleeper.pid), false);
  // 4. Its environment: PORT, NODE_* and nothing of the driver's own.
  const env = d.id('cmd');
  await d.call('Create', {
    id: env,
    name: 'env',
    image: 'command',
    size: 'medium',
    command: 'echo "$NODE_ID $NODE_NAME $NODE_IMAGE $NODE_SIZE $NODE_MEMORY_MB $HOST ${AGORA_BUS_URL:-none}"; exit 0',
  });
  const printed = await d.reach(env, 'ERROR');
  assert.deepEqual(printed.output, [`${env} env command medium 128 127.0.0.1 none`]);
  assert.equal(printed.exit_code, 0);
}

async function memoryLimit(d: Harness): Promise<void> {
  const alloc = `exec ${process.execPath} -e "try { Buffer.alloc(100 * 2 ** 20); console.log('allocated') } catch { console.log('refused') }"`;
  const small = d.id('mem');
  const large = d.id('mem');
  await d.call('Create', { id: small, name: 'small', image: 'command', size: 'small', command: alloc });
  await d.call('Create', { id: large, name: 'large', image: 'command', size: 'large', command: alloc });
  assert.deepEqual((await d.reach(small, 'ERROR')).output, ['refused'], '100 MiB in a 64 MiB node');
  assert.deepEqual((await d.reach(large, 'ERROR')).output, ['allocated'], '100 MiB in a 256 MiB node');
}

async function sigtermIgnored(d: Harness): Promise<void> {
  const id = d.id('stubborn');
  await d.call('Create', {
    id,
    name: 'stubborn',
    image: 'command',
    command: listener("process.on('SIGTERM', () => console.log('SIGTERM ignored'));"),
  });
  const active = await d.reach(id, 'ACTIVE');
  assert.equal((await d.call('Stop', { id })).state, 'STOPPING');
  await rejectsWith(d.call('Start', { id }), 'AGORA_ERR_NODE_CONFLICT');
  assert.equal((await d.call('Delete', { id })).state, 'DELETING');
  assert.equal((await d.call('Delete', { id })).state, 'DELETING', 'Delete on a deleting node answers it unchanged');
  for (const method of ['Start', 'Stop', 'Update']) {
    const err = await rejectsWith(d.call(method, { id, name: 'x' }), 'AGORA_ERR_NODE_CONFLICT');
    assert.equal(err.errno, 122);
  }
  await d.gone(id);
  assert.equal(alive(active.pid), false);
}

async function badInput(d: Harness): Promise<void> {
  const id = d.id('bad');
  await rejectsWith(d.client.call(d.spec.service, 'Create', ['not a map']), 'AGORA_ERR_RPC_BAD_PARAMS');
  await rejectsWith(d.client.call(d.spec.service, 'Status', [[id]]), 'AGORA_ERR_RPC_BAD_PARAMS');
  await rejectsWith(d.client.call(d.spec.service, 'Status', []), 'AGORA_ERR_NODE_NOT_FOUND'); // no request: every field at its default
  await rejectsWith(d.call('Create', { id, name: 5, image: 'http' }), 'AGORA_ERR_RPC_BAD_PARAMS');
  await rejectsWith(d.call('Create', { id: 'Bad_Id', name: 'n', image: 'http' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsWith(d.call('Create', { id: 'x'.repeat(65), name: 'n', image: 'http' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsWith(d.call('Create', { id, name: '.hidden', image: 'http' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsWith(d.call('Create', { id, name: '', image: 'http' }), 'AGORA_ERR_NODE_INVALID');
  const image = await rejectsWith(d.call('Create', { id, name: 'n', image: 'vm' }), 'AGORA_ERR_NODE_UNKNOWN_IMAGE');
  assert.ok(['http', 'command'].every((i) => (image.data as { images: string[] }).images.includes(i)));
  const size = await rejectsWith(
    d.call('Create', { id, name: 'n', image: 'http', size: 'huge' }),
    'AGORA_ERR_NODE_UNKNOWN_SIZE',
  );
  assert.deepEqual((size.data as { sizes: string[] }).sizes, ['small', 'medium', 'large']);
  await rejectsWith(d.call('Create', { id, name: 'n', image: 'http', command: 'true' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsWith(d.call('Create', { id, name: 'n', image: 'command' }), 'AGORA_ERR_NODE_INVALID');
  await rejectsWith(
    d.call('Create', { id, name: 'n', image: 'command', command: `echo ${'x'.repeat(4096)}` }),
    'AGORA_ERR_NODE_INVALID',
  );
  for (const method of ['Start', 'Stop', 'Delete', 'Status', 'Update']) {
    const err = await rejectsWith(d.call(method, { id: 'no-such-node' }), 'AGORA_ERR_NODE_NOT_FOUND');
    assert.equal(err.errno, 111);
  }
  await rejectsWith(d.client.call(d.spec.service, 'Reboot', [{ id }]), 'AGORA_ERR_RPC_NO_METHOD');
  await rejectsWith(d.call('Status', { id }), 'AGORA_ERR_NODE_NOT_FOUND'); // nothing was made
  assert.equal((await d.call('Create', { id, name: 'fine', image: 'http' })).state, 'BUILDING');
  await rejectsWith(d.call('Update', { id, size: 'huge' }), 'AGORA_ERR_NODE_UNKNOWN_SIZE');
  await rejectsWith(d.call('Update', { id, name: '-dash' }), 'AGORA_ERR_NODE_INVALID');
  assert.deepEqual([(await d.call('Status', { id })).name, (await d.call('Status', { id })).size], ['fine', 'small']);
}

async function driverSigterm(d: Harness): Promise<void> {
  const nodes = (await d.list()).filter((n) => n.pid > 0);
  assert.ok(nodes.length > 0, 'some nodes still run');
  assert.equal(await d.driver.stop('SIGTERM'), 0);
  // Its children are reaped by init once it has gone: a moment, hence a short poll.
  await until(async () => nodes.every((n) => !alive(n.pid)), 5000);
}

/** The nodes the driver is killed with; their processes go to `pids` as they start. */
async function nodesToAdopt(d: Harness, go: string, pids: number[]) {
  // An http node and a command node that ignores SIGTERM, both ACTIVE, and a stopped node.
  const web = d.id('web');
  await d.call('Create', { id: web, name: 'web', owner: 'ann', image: 'http' });
  const stubborn = d.id('stubborn');
  await d.call('Create', {
    id: stubborn,
    name: 'stubborn',
    owner: 'ann',
    image: 'command',
    command: listener("process.on('SIGTERM', () => console.log('SIGTERM ignored'));"),
  });
  const quiet = d.id('quiet');
  await d.call('Create', { id: quiet, name: 'quiet', owner: 'bob', image: 'http' });
  const before = [await d.reach(web, 'ACTIVE'), await d.reach(stubborn, 'ACTIVE'), await d.reach(quiet, 'ACTIVE')];
  pids.push(...before.map((n) => n.pid));
  await d.call('Stop', { id: quiet });
  await d.reach(quiet, 'STOPPED');
  const [active, held] = before;
  // One more that listens only once the file `go` exists: BUILDING when the driver is killed.
  const late = d.id('late');
  await d.call('Create', {
    id: late,
    name: 'late',
    image: 'command',
    command: `while [ ! -e ${go} ]; do sleep 0.05; done; ${LISTEN}`,
  });
  const building = await d.call('Status', { id: late });
  assert.equal(building.state, 'BUILDING');
  pids.push(building.pid);
  return { web, stubborn, quiet, late, active, held, building };
}

for (const spec of DRIVERS) {
  test(`${spec.name} driver: killed with SIGKILL and started again, it adopts the nodes still running`, async (t) => {
    if (!(await spec.available(t))) return;
    const root = mkdtempSync(path.join(tmpdir(), 'agora-driver-test-'));
    // A fast heartbeat, so that the broker drops the killed driver soon; time for a node to stay BUILDING across the
    // restart.
    const env = {
      ...SETTINGS,
      AGORA_DRIVER_STATE_DIR: root,
      AGORA_DRIVER_KEEP_NODES: 'true',
      AGORA_HEARTBEAT_MS: '250',
      AGORA_DRIVER_HEALTH_TIMEOUT_MS: '60000',
    };
    const go = path.join(root, 'go');
    const pids: number[] = [];
    t.after(() => {
      for (const pid of pids.filter((p) => !ended(p))) process.kill(-pid, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    });
    const d = await setUp(t, spec, env, { AGORA_HEARTBEAT_MS: '250' });

    // 1. An http node and a command node that ignores SIGTERM, both ACTIVE, a stopped node and a BUILDING one.
    const { web, stubborn, quiet, late, active, held, building } = await nodesToAdopt(d, go, pids);

    // 2. The driver killed: its nodes run on, answering on their ports. A record it cannot read does not stop the
    // next one.
    assert.equal(await d.driver.stop('SIGKILL'), 'SIGKILL');
    await waitForServiceGone(d.client, spec.service, REGISTER_MS);
    assert.equal((await get(active.host, active.port))?.status, 200);
    const [dir] = readdirSync(root).filter((name) => name.includes('@'));
    const state = path.join(root, dir);
    writeFileSync(path.join(state, 'garbage.json'), '{');

    // 3. Started again: every node listed as it was, the running ones with the same process and port.
    await d.restart(env);
    const listed = new Map((await d.list()).map((n) => [n.id, n]));
    assert.deepEqual(
      [web, stubborn, quiet].map((id) => listed.get(id)?.state),
      ['ACTIVE', 'ACTIVE', 'STOPPED'],
    );
    assert.deepEqual(
      [listed.get(web)?.pid, listed.get(web)?.port, listed.get(web)?.owner],
      [active.pid, active.port, 'ann'],
    );
    assert.equal(listed.get(stubborn)?.pid, held.pid);
    // The starting one is health-checked again: ACTIVE once it listens.
    assert.deepEqual([listed.get(late)?.state, listed.get(late)?.pid], ['BUILDING', building.pid]);
    writeFileSync(go, '');
    assert.equal((await get('127.0.0.1', (await d.reach(late, 'ACTIVE')).port))?.body, 'up');
    const res = await get(active.host, active.port);
    assert.equal(servedId(res), web);
    // The output from before the restart is kept (the node writes it to its log itself), and goes on.
    const output = (await d.call('Status', { id: web })).output ?? [];
    assert.ok(
      output.some((l) => l.includes('listening')),
      JSON.stringify(output),
    );
    assert.match(
      output[output.length - 1],
      /^GET \//,
      `the request just served is there too: ${JSON.stringify(output)}`,
    );

    // 4. Another driver on the same state directory refuses to start while this one holds it.
    await assert.rejects(d.start(env), /exited/);

    // 5. Stopped as ever: SIGTERM, then SIGKILL after the grace period (it ignores SIGTERM).
    assert.equal((await d.call('Stop', { id: stubborn })).state, 'STOPPING');
    await d.reach(stubborn, 'STOPPED');
    await until(async () => ended(held.pid), STATE_MS);

    // 6. A death is noticed without an exit status: the process is not the driver's child.
    process.kill(active.pid, 'SIGKILL');
    const failed = await d.reach(web, 'ERROR');
    assert.deepEqual([failed.exit_code, failed.signal, failed.pid], [-1, '', 0]);
    assert.match(failed.reason, /exit status unknown/);

    // 7. Started again, it is this driver's child; a restart with SIGTERM and AGORA_DRIVER_KEEP_NODES leaves it
    // running too.
    await d.call('Start', { id: web });
    const again = await d.reach(web, 'ACTIVE');
    pids.push(again.pid);
    assert.equal(await d.driver.stop('SIGTERM'), 0);
    await d.restart(env);
    assert.deepEqual(
      [(await d.call('Status', { id: web })).state, (await d.call('Status', { id: web })).pid],
      ['ACTIVE', again.pid],
    );

    // 8. A node writing more than the log holds: the log is cut, its last lines are still answered.
    const chatty = d.id('chatty');
    await d.call('Create', {
      id: chatty,
      name: 'chatty',
      image: 'command',
      command: `yes ${'x'.repeat(20)} | head -n ${Math.ceil(LOG_MAX_BYTES / 21) + 5000}; echo written; ${LISTEN}`,
    });
    pids.push((await d.reach(chatty, 'ACTIVE')).pid);
    await until(async () => statSync(path.join(state, `${chatty}.log`)).size < LOG_MAX_BYTES, STATE_MS);
    assert.ok(statSync(path.join(state, `${chatty}.log.1`)).size > 0);
    assert.deepEqual((await d.call('Status', { id: chatty })).output?.slice(-3), [
      'x'.repeat(20),
      'written',
      'starting',
    ]);

    // 9. Deleted, every node goes with its process, and nothing is left of it in the state directory.
    const all = [web, stubborn, quiet, late, chatty];
    for (const id of all) await d.call('Delete', { id });
    for (const id of all) await d.gone(id);
    assert.deepEqual(
      pids.filter((p) => !ended(p)),
      [],
    );
    assert.deepEqual(readdirSync(state).sort(), ['driver.lock', 'garbage.json']);
  });
}

test('one state directory format: each driver adopts the nodes the other left (TypeScript, then Ruby, then TypeScript)', async (t) => {
  if (!(await RUBY_DRIVER.available(t))) return;
  // Both drivers serve one bus name, so that they share the directory `<service>@<bus>`.
  const service = 'driver.shared';
  const ts: DriverSpec = {
    ...TS_DRIVER,
    service,
    start: (bus, env = {}) => TS_DRIVER.start(bus, { ...env, AGORA_DRIVER_SERVICE: service }),
  };
  const ruby: DriverSpec = {
    ...RUBY_DRIVER,
    service,
    start: (bus, env = {}) => RUBY_DRIVER.start(bus, { ...env, AGORA_RUBY_DRIVER_SERVICE: service }),
  };
  const root = mkdtempSync(path.join(tmpdir(), 'agora-driver-test-'));
  const pids: number[] = [];
  t.after(() => {
    for (const pid of pids.filter((p) => !ended(p))) process.kill(-pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  const env = { ...SETTINGS, AGORA_DRIVER_STATE_DIR: root, AGORA_HEARTBEAT_MS: '250' };
  const d = await setUp(t, ts, env, { AGORA_HEARTBEAT_MS: '250' });
  /** Kill the running driver and start `next` on its state directory (and its lock, left by a dead process). */
  const handOver = async (next: DriverSpec): Promise<void> => {
    assert.equal(await d.driver.stop('SIGKILL'), 'SIGKILL');
    await waitForServiceGone(d.client, service, REGISTER_MS);
    await d.restart(env, next);
  };
  const running = (nodes: Node[]) => nodes.map((n) => [n.id, n.state, n.pid, n.port, n.owner]);

  // 1. The TypeScript driver's node, adopted by the Ruby driver as it was, its output with it.
  const first = d.id('ts');
  await d.call('Create', { id: first, name: 'from-ts', owner: 'ann', image: 'http' });
  const a = await d.reach(first, 'ACTIVE');
  pids.push(a.pid);
  await handOver(ruby);
  assert.deepEqual(running(await d.list()), [[first, 'ACTIVE', a.pid, a.port, 'ann']]);
  const output = (await d.call('Status', { id: first })).output ?? [];
  assert.ok(
    output.some((l) => l.includes('listening')),
    JSON.stringify(output),
  );

  // 2. The Ruby driver's node and the one it adopted, adopted back by the TypeScript driver.
  const second = d.id('rb');
  await d.call('Create', { id: second, name: 'from-ruby', owner: 'bob', image: 'http' });
  const b = await d.reach(second, 'ACTIVE');
  pids.push(b.pid);
  await handOver(ts);
  assert.deepEqual(running(await d.list()), [
    [first, 'ACTIVE', a.pid, a.port, 'ann'],
    [second, 'ACTIVE', b.pid, b.port, 'bob'],
  ]);
  assert.equal(servedId(await get(b.host, b.port)), second);

  // 3. Deleted by the TypeScript driver: both processes end, and only the lock is left.
  for (const id of [first, second]) await d.call('Delete', { id });
  for (const id of [first, second]) await d.gone(id);
  assert.deepEqual(
    pids.filter((p) => !ended(p)),
    [],
  );
  const [dir] = readdirSync(root).filter((name) => name.includes('@'));
  assert.deepEqual(readdirSync(path.join(root, dir)), ['driver.lock']);
});
