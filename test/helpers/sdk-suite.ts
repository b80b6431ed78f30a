/**
 * One integration suite for the bus SDKs in other languages (workers/python, workers/ruby):
 * the SDK's example worker called by the TypeScript client, its example client calling the
 * TypeScript echo service, and the MDP life cycle across languages (heartbeat expiry after
 * SIGKILL, re-registration after a broker restart). Every process is real, started as the
 * Procfile would, on free loopback ports. A test file calls `sdkSuite` once per language.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { Dealer } from 'zeromq';
import type { ServiceStats } from '../../lib/bus/broker';
import { createClient, type BusClient } from '../../lib/bus/client';
import { decodeMessage, encodeMeta, encodeNotification, encodeRequest, pack, unpack } from '../../lib/bus/codec';
import { EMPTY, MDPC01 } from '../../lib/bus/mdp';
import { keepCalling, rejectsWith, until, waitForService, waitForServiceGone } from './bus';
import { skipOrFail, start, startBroker, startNode, type Started } from './proc';

/** A bus SDK in another language and its two example programs. */
export interface Sdk {
  /** Its name in test titles ("Python", "Ruby"). */
  lang: string;
  /** The interpreter that has the SDK's Debian packages (the first one on PATH may not). */
  interpreter: string;
  /** Interpreter arguments that fail when the packages are missing. */
  probe: string[];
  /** The Debian packages CI must install for it. */
  packages: string;
  /** The example worker (echo, add, upper, fail, sleep, pid), its service name, the example client. */
  worker: string;
  service: string;
  client: string;
}

const MAX_SAFE = 2 ** 53 - 1;
const REGISTER_MS = 10_000;
/** Requests the example worker serves at once, on its one socket (AGORA_WORKER_CONCURRENCY). */
const SLOTS = 3;

const problems = new Map<string, Promise<string | null>>();

/**
 * Whether an SDK's interpreter loads its packages; otherwise skip, or fail under CI
 * (docs/ARCHITECTURE.md "Tests and measurement").
 */
export async function needSdk(t: TestContext, sdk: Pick<Sdk, 'interpreter' | 'probe' | 'packages'>): Promise<boolean> {
  const key = [sdk.interpreter, ...sdk.probe].join(' ');
  if (!problems.has(key)) {
    problems.set(
      key,
      new Promise((resolve) => {
        execFile(sdk.interpreter, sdk.probe, { timeout: 10_000 }, (err, _stdout, stderr) =>
          resolve(err === null ? null : (stderr.trim().split('\n').pop() ?? err.message)),
        );
      }),
    );
  }
  const problem = await problems.get(key);
  if (problem === null) return true;
  return skipOrFail(t, `${key} fails (${problem})`, sdk.packages);
}

/** Children and clients of one test, all stopped in t.after. */
function tracker(t: TestContext): { procs: Started[]; clients: BusClient[] } {
  const held = { procs: [] as Started[], clients: [] as BusClient[] };
  t.after(async () => {
    for (const c of held.clients) c.close();
    await Promise.all(held.procs.map((p) => p.stop()));
  });
  return held;
}

function startWorker(sdk: Sdk, bus: string, env: Record<string, string> = {}): Promise<Started> {
  return start(sdk.interpreter, [sdk.worker], { env: { AGORA_BUS_URL: bus, ...env }, stderrLines: true });
}

/** Run the SDK's example client; never throws on a non-zero exit. */
function runClient(sdk: Sdk, bus: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      sdk.interpreter,
      [sdk.client, ...args],
      { env: { ...process.env, AGORA_BUS_URL: bus }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The first test's worker of the SDK, with its broker and a client: what its subtests share. */
interface OneWorker {
  sdk: Sdk;
  broker: Started;
  worker: Started;
  bus: string;
  client: BusClient;
  call: <T = unknown>(method: string, params?: unknown[], reqId?: string) => Promise<T>;
  stats: () => Promise<ServiceStats | undefined>;
  /** The worker's own log lines `msg` for the calls whose reqId is in `reqIds`, in the order it wrote them. */
  logged: (msg: string, reqIds: string[]) => number[];
}

/** Register the suite's tests for one SDK. */
export function sdkSuite(sdk: Sdk): void {
  test(`a TypeScript client calls a ${sdk.lang} worker`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const w = await startOneWorker(t, sdk);
    await slotTests(t, w);
    await valueTests(t, w);
    await wireTest(t, w);
    await sigtermTest(t, w);
  });
  drainTest(sdk);
  clientTest(sdk);
  frozenTest(sdk);
  restartTest(sdk);
}

async function startOneWorker(t: TestContext, sdk: Sdk): Promise<OneWorker> {
  const held = tracker(t);
  // 1. Broker, then the worker; its ready line names the service and the bus.
  const broker = await startBroker();
  held.procs.push(broker);
  const bus = String(broker.endpoints.bus);
  // Debug: a 'call' line as each handler starts, a 'call done' line as it ends.
  const worker = await startWorker(sdk, bus, { AGORA_LOG_LEVEL: 'debug', AGORA_WORKER_CONCURRENCY: String(SLOTS) });
  held.procs.push(worker);
  assert.equal(worker.lines.find((l) => l.ready === true)?.service, sdk.service);
  assert.deepEqual(worker.endpoints, { bus });
  // 2. The ready line means connected; registered is what the broker says (RFC 8).
  const client = createClient({ endpoint: bus, timeoutMs: 5000 });
  held.clients.push(client);
  await waitForService(client, sdk.service, REGISTER_MS);
  const call = <T = unknown>(method: string, params: unknown[] = [], reqId?: string): Promise<T> =>
    client.call<T>(sdk.service, method, params, { reqId });
  const stats = async (): Promise<ServiceStats | undefined> =>
    (await client.services()).find((s) => s.name === sdk.service);
  const logged = (msg: string, reqIds: string[]): number[] =>
    worker.lines.flatMap((l, i) => (l.msg === msg && reqIds.includes(String(l.reqId)) ? [i] : []));
  return { sdk, broker, worker, bus, client, call, stats, logged };
}

/** Its READY offers its slots, and calls sent at once run at once. */
async function slotTests(t: TestContext, w: OneWorker): Promise<void> {
  const { sdk, worker, call, stats, logged } = w;
  await t.test(`one socket: its READY offers ${SLOTS} slots (docs/PROTOCOL.md §3)`, async () => {
    assert.deepEqual(await stats(), { name: sdk.service, workers: 1, slots: SLOTS, idle: SLOTS, queued: 0 });
  });

  await t.test(`${SLOTS} calls sent at once run at once on that socket`, async () => {
    // 1. Calls that each sleep; each carries its own reqId, which the worker logs.
    const reqIds = Array.from({ length: SLOTS }, (_, i) => `overlap-${i}`);
    const calls = reqIds.map((id) => call('sleep', [1000], id));
    // 2. Every handler has started before any ended: the worker wrote every 'call' line before
    //    its first 'call done' (one at a time, each 'call' would follow the previous 'call done').
    await worker.waitFor(() => logged('call', reqIds).length === SLOTS, 10_000);
    assert.deepEqual(
      await stats(),
      { name: sdk.service, workers: 1, slots: SLOTS, idle: 0, queued: 0 },
      'one worker holds them all',
    );
    assert.deepEqual(
      await Promise.all(calls),
      reqIds.map(() => 1000),
    );
    await worker.waitFor(() => logged('call done', reqIds).length === SLOTS, 5000);
    const started = logged('call', reqIds);
    const ended = logged('call done', reqIds);
    assert.ok(
      Math.max(...started) < Math.min(...ended),
      `calls ran one after another: starts at lines ${started.join(',')}, ends at ${ended.join(',')}`,
    );
  });
}

/** Values round-trip, the handlers compute, failures carry their codes, many calls in flight. */
async function valueTests(t: TestContext, w: OneWorker): Promise<void> {
  const { sdk, worker, call } = w;
  await t.test('echo round-trips maps, arrays, unicode, binary and integers up to 2^53-1', async () => {
    const nested = {
      a: [1, 2, { b: 'ünïcødé ✓ 🎉 中文' }],
      n: null,
      yes: true,
      no: false,
      f: 1.5,
      neg: -7,
      empty: {},
      none: [],
    };
    assert.deepEqual(await call('echo', [nested]), nested);
    for (const n of [0, -1, 255, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, MAX_SAFE, -MAX_SAFE, 0.1, 1e300]) {
      const back = await call('echo', [n]);
      assert.equal(typeof back, 'number');
      assert.equal(back, n);
    }
    for (const s of ['', 'plain', 'é', '𝄞 outside the BMP', 'a'.repeat(100_000)])
      assert.equal(await call('echo', [s]), s);
    const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
    const back = await call<Uint8Array>('echo', [bytes]);
    assert.ok(back instanceof Uint8Array, 'bin comes back as bin, not as a string');
    assert.deepEqual(Buffer.from(back), bytes);
    const inMap = await call<{ bin: Uint8Array; key: number }>('echo', [{ bin: bytes, key: MAX_SAFE }]);
    assert.deepEqual(Buffer.from(inMap.bin), bytes);
    assert.equal(inMap.key, MAX_SAFE);
    assert.equal(await call('echo', []), null);
  });
  await t.test(`add, upper and pid compute in ${sdk.lang}`, async () => {
    assert.equal(await call('add', [2, 3]), 5);
    assert.equal(await call('add', [0.5, 0.25]), 0.75);
    assert.equal(await call('add', [MAX_SAFE - 1, 1]), MAX_SAFE);
    assert.equal(await call('add', [-5, 2]), -3);
    assert.equal(await call('upper', ['straße ünï']), 'STRASSE ÜNÏ');
    assert.equal(await call('pid'), worker.child.pid);
  });
  await t.test('__describe__ lists echo, the one handler marked public (docs/PROTOCOL.md §14)', async () => {
    assert.deepEqual(await call('__describe__'), {
      methods: { echo: { params: {}, result: {}, summary: 'Answers its parameter unchanged' } },
    });
  });

  await t.test('failures arrive as AgoraError with the right code', async () => {
    const bad = await rejectsWith(call('fail'), 'AGORA_ERR_RPC_BAD_PARAMS');
    assert.equal(bad.errno, 107);
    assert.deepEqual(bad.data, { kind: 'bad-params' });
    await rejectsWith(call('add', [1]), 'AGORA_ERR_RPC_BAD_PARAMS'); // wrong arity
    await rejectsWith(call('add', ['1', 2]), 'AGORA_ERR_RPC_BAD_PARAMS');
    await rejectsWith(call('upper', [5]), 'AGORA_ERR_RPC_BAD_PARAMS');
    const internal = await rejectsWith(call('fail', ['internal']), 'AGORA_ERR_INTERNAL');
    assert.equal(internal.message, 'Internal error', 'the exception text must not leak');
    assert.equal(internal.errno, 999);
    const missing = await rejectsWith(call('nope'), 'AGORA_ERR_RPC_NO_METHOD');
    assert.equal(missing.errno, 111);
    assert.equal(await call('echo', ['still serving']), 'still serving');
  });

  await t.test('many calls in flight are each answered with their own result', async () => {
    const n = 200;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => call('echo', [{ i }])));
    assert.deepEqual(
      answers,
      Array.from({ length: n }, (_, i) => ({ i })),
    );
  });
}

/** Raw MDP frames: uint64 integers, notifications, expired deadlines, undecodable bodies. */
async function wireTest(t: TestContext, w: OneWorker): Promise<void> {
  const { sdk, bus } = w;
  await t.test(
    'on the wire: uint64 integers, notifications, expired deadlines, malformed bodies, wrong arity',
    async (t2) => {
      const socket = new Dealer({ linger: 0, receiveTimeout: 5000 });
      t2.after(() => socket.close());
      socket.connect(bus);
      const exchange = async (frames: Buffer[]): Promise<Buffer[]> => {
        await socket.send([EMPTY, MDPC01, Buffer.from(sdk.service), ...frames]);
        const reply = await socket.receive();
        assert.equal(reply.length, 4);
        assert.deepEqual([reply[0], reply[1], reply[2].toString()], [EMPTY, MDPC01, sdk.service]);
        return reply;
      };
      // 1. 2^53-1 goes out and comes back as a msgpack uint64 (0xcf), never as a float64 (0xcb).
      const [, , , body] = await exchange([encodeRequest(7, 'echo', [MAX_SAFE])]);
      assert.deepEqual(body.subarray(-9), Buffer.from([0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
      assert.deepEqual(decodeMessage(body), { type: 1, msgid: 7, error: null, result: MAX_SAFE });
      // 2. A notification is run and answered with one empty body (MDP needs the REPLY).
      const [, , , empty] = await exchange([encodeNotification('echo', [1])]);
      assert.equal(empty.length, 0);
      // 3. A request whose deadline has passed is not run: it answers AGORA_ERR_BUS_TIMEOUT.
      const [, , , late] = await exchange([encodeRequest(8, 'echo', [1]), encodeMeta({ deadline: Date.now() - 1000 })]);
      const reply = decodeMessage(late);
      assert.equal(reply.type, 1);
      assert.equal(reply.type === 1 && reply.msgid, 8);
      assert.equal(reply.type === 1 && (reply.error as { code: string }).code, 'AGORA_ERR_BUS_TIMEOUT');
      // 4. An undecodable body answers AGORA_ERR_BUS_BAD_MESSAGE and the worker keeps serving.
      const [, , , junk] = await exchange([Buffer.from([0xc1])]);
      const bad = unpack(junk) as unknown[];
      assert.deepEqual([bad[0], bad[1], (bad[2] as { code: string }).code], [1, null, 'AGORA_ERR_BUS_BAD_MESSAGE']);
      // 5. Valid msgpack that is not msgpack-RPC, or trailing bytes: AGORA_ERR_BUS_BAD_MESSAGE with the
      //    msgid read as the broker reads it (`94 00` then an integer), else nil, never 0 (docs/PROTOCOL.md §6).
      const malformed: Array<[Buffer, number | null]> = [
        [pack({}), null],
        [pack([0, 1]), null],
        [pack([7, 1, 'echo', []]), null],
        [Buffer.concat([encodeRequest(11, 'echo', [1]), Buffer.from([0xc0])]), 11],
      ];
      for (const [frame, msgid] of malformed) {
        const [, , , answer] = await exchange([frame]);
        const m = unpack(answer) as unknown[];
        assert.deepEqual(
          [m[0], m[1], (m[2] as { code: string }).code, m[3]],
          [1, msgid, 'AGORA_ERR_BUS_BAD_MESSAGE', null],
          frame.toString('hex'),
        );
      }
      // 6. Params the method does not take: AGORA_ERR_RPC_BAD_PARAMS, not INTERNAL.
      const [, , , arity] = await exchange([encodeRequest(12, 'upper', ['a', 'b'])]);
      const wrong = decodeMessage(arity);
      assert.equal(wrong.type === 1 && wrong.msgid, 12);
      assert.equal(wrong.type === 1 && (wrong.error as { code: string }).code, 'AGORA_ERR_RPC_BAD_PARAMS');
      const [, , , fine] = await exchange([
        encodeRequest(9, 'upper', ['ok']),
        encodeMeta({ deadline: Date.now() + 5000, reqId: 'r-1' }),
      ]);
      assert.deepEqual(decodeMessage(fine), { type: 1, msgid: 9, error: null, result: 'OK' });
    },
  );
}

/** SIGTERM: the worker finishes its calls, says DISCONNECT and exits 0. */
async function sigtermTest(t: TestContext, w: OneWorker): Promise<void> {
  const { sdk, broker, worker, client, call, stats, logged } = w;
  await t.test('SIGTERM: the worker finishes its calls, says DISCONNECT and exits 0', async () => {
    // 1. Two calls in flight on the one socket, and running: the worker logged them. (Only "the
    // broker sent them" would leave MDP's race open: a REQUEST still on the wire when the worker
    // says DISCONNECT never ran, and with no other worker it fails with
    // AGORA_ERR_BUS_WORKER_LOST, docs/PROTOCOL.md §3.)
    const reqIds = ['term-0', 'term-1'];
    const inFlight = reqIds.map((id) => call('sleep', [300], id));
    await worker.waitFor(() => logged('call', reqIds).length === reqIds.length, 5000);
    assert.equal((await stats())?.idle, SLOTS - reqIds.length, 'the broker sees two slots busy');
    // 2. SIGTERM drains it: each caller gets its answer, the process exits 0.
    const exited = worker.stop('SIGTERM');
    assert.deepEqual(await Promise.all(inFlight), [300, 300]);
    assert.equal(await exited, 0);
    // DISCONNECT, not heartbeat expiry (2.5 s x 3 here), removes it.
    const removed = await broker.waitFor(
      (l) => l.msg === 'worker removed' && l.service === sdk.service && l.workers === 0,
      5000,
    );
    assert.equal(removed.reason, 'worker said DISCONNECT');
    await waitForServiceGone(client, sdk.service, 2000);
  });
}

function drainTest(sdk: Sdk): void {
  test(`two ${sdk.lang} workers under constant load: one SIGTERMed asks the broker for no more, finishes what it holds, exits 0; no call is lost`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const held = tracker(t);
    const broker = await startBroker({ AGORA_HEARTBEAT_MS: '100' });
    held.procs.push(broker);
    const bus = String(broker.endpoints.bus);
    const slots = 8;
    const env = { AGORA_HEARTBEAT_MS: '100', AGORA_WORKER_CONCURRENCY: String(slots) };
    const [leaving, staying] = [await startWorker(sdk, bus, env), await startWorker(sdk, bus, env)];
    held.procs.push(leaving, staying);
    const client = createClient({ endpoint: bus, timeoutMs: 10_000 });
    held.clients.push(client);
    const stats = async (): Promise<ServiceStats | undefined> =>
      (await client.services()).find((s) => s.name === sdk.service);
    await until(async () => (await stats())?.slots === 2 * slots, REGISTER_MS);
    // 1. Three callers per slot, calls of different lengths: every slot busy, requests queued, so
    //    each slot a REPLY frees is filled again at once and a worker never holds nothing by itself.
    //    Calls of 40 ms and more: with shorter ones a worker stalled by a loaded machine could
    //    answer all it held before it heard the SIGTERM, and rightly go straight to DISCONNECT.
    const ms = (caller: number): number => 40 + (caller % 7) * 20;
    const load = keepCalling(
      3 * 2 * slots,
      (i) => client.call(sdk.service, 'sleep', [ms(i)]),
      (r, i) => r === ms(i),
    );
    t.after(() => load.stop());
    // Every slot has answered about twice: each worker has read what the broker sent it, so the
    // calls it holds are in its hands, not still on their way (then it would rightly say
    // DISCONNECT at once, holding nothing, and the broker would serve them elsewhere).
    await load.answered(4 * slots, 10_000);
    await until(async () => {
      const s = await stats();
      return s !== undefined && s.idle === 0 && s.queued > 0;
    }, 10_000);
    // 2. SIGTERM one: holding calls, it asks the broker for no more (docs/PROTOCOL.md §3, drain)...
    const exited = leaving.stop('SIGTERM');
    const asked = await leaving.waitFor((l) => l.msg === 'draining: asked the broker for no more requests');
    assert.ok(Number(asked.inFlight) > 0, 'it held calls when it began to drain');
    assert.ok(Number((await broker.waitFor((l) => l.msg === 'worker draining' && l.service === sdk.service)).held) > 0);
    // 3. ...then says DISCONNECT holding nothing and exits 0 ('drain timed out' would exit 1).
    assert.equal(await exited, 0);
    assert.ok(leaving.lines.some((l) => l.msg === 'stopped'));
    assert.ok(!leaving.lines.some((l) => l.msg === 'drain timed out'));
    const removed = await broker.waitFor((l) => l.msg === 'worker removed' && l.service === sdk.service);
    assert.deepEqual([removed.reason, removed.workers], ['worker said DISCONNECT', 1]);
    // 4. The other worker carries the load on; every call made is answered, none failed.
    await load.answered(load.made + 100, 20_000);
    await load.stop();
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.made} calls failed`);
    assert.equal(await client.call(sdk.service, 'pid'), staying.child.pid);
  });
}

function clientTest(sdk: Sdk): void {
  test(`a ${sdk.lang} client calls a TypeScript service`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const held = tracker(t);
    const broker = await startBroker();
    held.procs.push(broker);
    const bus = String(broker.endpoints.bus);
    held.procs.push(await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus } }));
    const client = createClient({ endpoint: bus });
    held.clients.push(client);
    await waitForService(client, 'echo', REGISTER_MS);

    // 1. A result, printed as JSON; 2^53-1 reached the client as an integer (no ".0").
    const value = { k: [1, 'é', null, true], big: MAX_SAFE, neg: -MAX_SAFE, f: 0.5 };
    const ok = await runClient(sdk, bus, ['echo', 'echo', JSON.stringify(value)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { result: value });
    assert.match(ok.stdout, /"big": ?9007199254740991[,}]/);
    // 2. A failure carries the registry code and the TypeScript side's message.
    const failed = await runClient(sdk, bus, ['echo', 'fail', '"AGORA_ERR_RPC_BAD_PARAMS"', '"nope"']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.deepEqual(JSON.parse(failed.stdout), {
      error: { code: 'AGORA_ERR_RPC_BAD_PARAMS', message: 'Invalid parameters: nope', data: null },
    });
    // 3. A non-AgoraError thrown in TypeScript does not leak its text.
    const internal = JSON.parse((await runClient(sdk, bus, ['echo', 'fail', '"not a code"'])).stdout) as {
      error: { code: string; message: string };
    };
    assert.deepEqual([internal.error.code, internal.error.message], ['AGORA_ERR_INTERNAL', 'Internal error']);
    // 4. The broker's own errors, and the client's own deadline.
    const none = JSON.parse((await runClient(sdk, bus, ['--timeout-ms', '500', 'nosuchservice', 'x'])).stdout) as {
      error: { code: string };
    };
    assert.equal(none.error.code, 'AGORA_ERR_BUS_NO_SERVICE');
    const slow = await runClient(sdk, bus, ['--timeout-ms', '200', 'echo', 'sleep', '1000']);
    assert.equal(slow.code, 1);
    assert.equal((JSON.parse(slow.stdout) as { error: { code: string } }).error.code, 'AGORA_ERR_BUS_TIMEOUT');
  });
}

function frozenTest(sdk: Sdk): void {
  test(`a ${sdk.lang} worker frozen (SIGSTOP) leaves mmi after liveness x heartbeat, woken registers again, killed leaves at once`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const held = tracker(t);
    const fast = { AGORA_HEARTBEAT_MS: '100', AGORA_HEARTBEAT_LIVENESS: '3' };
    const broker = await startBroker(fast);
    held.procs.push(broker);
    const bus = String(broker.endpoints.bus);
    // Concurrency 1: a plain RFC 7 worker, whose READY has no options frame (one slot).
    const worker = await startWorker(sdk, bus, { ...fast, AGORA_WORKER_CONCURRENCY: '1' });
    held.procs.push(worker);
    t.after(() => worker.child.kill('SIGCONT')); // a frozen process would not die of SIGTERM
    const client = createClient({ endpoint: bus });
    held.clients.push(client);
    await waitForService(client, sdk.service, REGISTER_MS);
    assert.equal((await broker.waitFor((l) => l.msg === 'worker ready' && l.service === sdk.service, 5000)).slots, 1);
    // 1. Its heartbeats keep it registered: calls over several expiry windows (3 x 100 ms) all succeed.
    const until = Date.now() + 1000;
    while (Date.now() < until) assert.equal(await client.call(sdk.service, 'echo', [1]), 1);
    // A call twice as long as the expiry window: the worker heartbeats while its handler runs.
    assert.equal(await client.call(sdk.service, 'sleep', [600]), 600);
    assert.equal(
      broker.lines.some((l) => l.msg === 'worker removed'),
      false,
      'a live worker was dropped',
    );
    // 2. Frozen, its connection stays open and silent: only its heartbeat expiry removes it.
    // (The configured 3 x 100 ms applies: the default expiry, 7.5 s, would not come within the wait.)
    worker.child.kill('SIGSTOP');
    const expired = await broker.waitFor(
      (l) => l.msg === 'worker removed' && l.service === sdk.service && l.workers === 0,
      5000,
    );
    assert.equal(expired.reason, 'heartbeat expired');
    await waitForServiceGone(client, sdk.service, 2000);
    await rejectsWith(client.call(sdk.service, 'echo', [1], { timeoutMs: 300 }), 'AGORA_ERR_BUS_NO_SERVICE');
    // 3. Woken, its next HEARTBEAT gets DISCONNECT from a broker that forgot it, and it registers again.
    worker.child.kill('SIGCONT');
    await waitForService(client, sdk.service, REGISTER_MS);
    assert.equal(await client.call(sdk.service, 'echo', ['back']), 'back');
    // 4. SIGKILL closes its connection: the broker forgets it at once, not after expiry.
    await worker.stop('SIGKILL');
    const closed = await broker.waitFor(
      (l) => l.msg === 'worker removed' && l.reason === 'connection closed' && l.service === sdk.service,
      5000,
    );
    assert.equal(closed.workers, 0);
    await rejectsWith(client.call(sdk.service, 'echo', [1], { timeoutMs: 300 }), 'AGORA_ERR_BUS_NO_SERVICE');
  });
}

function restartTest(sdk: Sdk): void {
  test(`a ${sdk.lang} worker re-registers after the broker restarts on the same port`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const held = tracker(t);
    const fast = { AGORA_HEARTBEAT_MS: '100' };
    const first = await startBroker(fast);
    held.procs.push(first);
    const bus = String(first.endpoints.bus);
    held.procs.push(await startWorker(sdk, bus, { ...fast, AGORA_WORKER_CONCURRENCY: String(SLOTS) }));
    const client = createClient({ endpoint: bus });
    held.clients.push(client);
    await waitForService(client, sdk.service, REGISTER_MS);
    assert.equal(
      (await first.waitFor((l) => l.msg === 'worker ready' && l.service === sdk.service, 5000)).slots,
      SLOTS,
    );
    assert.equal(await client.call(sdk.service, 'echo', ['before']), 'before');
    // 1. The broker goes away; a new one binds the endpoint the first one printed.
    assert.equal(await first.stop(), 0);
    const second = await startNode('services/broker/main.js', { env: { AGORA_BUS_URL: bus, ...fast } });
    held.procs.push(second);
    assert.equal(second.endpoints.bus, bus);
    // 2. The worker notices (DISCONNECT in answer to its heartbeat, or broker silence) and says READY again.
    await waitForService(client, sdk.service, REGISTER_MS);
    // A new socket's READY, offering the same slots.
    assert.equal(
      (await second.waitFor((l) => l.msg === 'worker ready' && l.service === sdk.service, 5000)).slots,
      SLOTS,
    );
    assert.equal(await client.call(sdk.service, 'echo', ['after']), 'after');
  });
}
