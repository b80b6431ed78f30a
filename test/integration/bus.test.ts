/**
 * The bus end to end: the broker and the echo service, each its own process started as the
 * Procfile starts them, on a free loopback port, called by the TypeScript client of this
 * process. Readiness is always a signal (a ready line, an `mmi.service`/`mmi.services`
 * answer, a log line, an exit), never a sleep.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ServiceStats } from '../../lib/bus/broker';
import { createClient, type BusClient, type ClientOptions } from '../../lib/bus/client';
import { keepCalling, rejectsWith, waitForService } from '../helpers/bus';
import { startBroker, startNode, type Started } from '../helpers/proc';

/** Short heartbeats so that a dead worker is noticed in 3 x 100 ms (the default is 3 x 2500). */
const FAST = { AGORA_HEARTBEAT_MS: '100' };
const REGISTER_MS = 10_000;
/** Deadline of a call made while its service has no worker. */
const NO_WORKER_DEADLINE_MS = 400;

interface Mesh {
  broker: Started;
  bus: string;
  client: BusClient;
  echoes: Started[];
  startEcho(env?: Record<string, string>): Promise<Started>;
}

/** 1. A broker; 2. `echoes` echo processes of `concurrency` slots each, all registered; 3. a client. */
async function startMesh(
  t: TestContext,
  options: { echoes?: number; concurrency?: number; client?: Partial<ClientOptions> } = {},
): Promise<Mesh> {
  const procs: Started[] = [];
  const clients: BusClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });
  const broker = await startBroker(FAST);
  procs.push(broker);
  const bus = String(broker.endpoints.bus);
  const concurrency = options.concurrency ?? 32;
  const client = createClient({ endpoint: bus, timeoutMs: 10_000, caller: 'bus.test', ...options.client });
  clients.push(client);
  const echoes: Started[] = [];
  const startEcho = async (env: Record<string, string> = {}): Promise<Started> => {
    const echo = await startNode('services/echo/main.js', {
      env: { AGORA_BUS_URL: bus, AGORA_WORKER_CONCURRENCY: String(concurrency), ...FAST, ...env },
    });
    procs.push(echo);
    echoes.push(echo);
    return echo;
  };
  for (let i = 0; i < (options.echoes ?? 1); i++) await startEcho();
  if (echoes.length > 0)
    await waitForWorkers(client, 'echo', (s) => s.workers === echoes.length && s.slots === echoes.length * concurrency);
  return { broker, bus, client, echoes, startEcho };
}

/** The broker's `mmi.services` line for `name` (zero counts when it knows none). */
async function statsOf(client: BusClient, name: string): Promise<ServiceStats> {
  const all = await client.services({ timeoutMs: 1000 });
  return all.find((s) => s.name === name) ?? { name, workers: 0, slots: 0, idle: 0, queued: 0 };
}

/** Poll `mmi.services` until `name`'s counts satisfy `ok`; fail after `ms` with the last counts seen. */
async function waitForWorkers(
  client: BusClient,
  name: string,
  ok: (s: ServiceStats) => boolean,
  ms = REGISTER_MS,
): Promise<ServiceStats> {
  const deadline = Date.now() + ms;
  let last: ServiceStats | string = 'no answer';
  for (;;) {
    try {
      const s = await statsOf(client, name);
      if (ok(s)) return s;
      last = s;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline)
      assert.fail(`mmi.services never satisfied the condition within ${ms} ms; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The process of `echoes` that is NOT `pid`. */
function other(echoes: Started[], pid: number): Started {
  const found = echoes.filter((e) => e.child.pid !== pid && e.child.exitCode === null && e.child.signalCode === null);
  assert.equal(found.length, 1, `expected exactly one other live echo process than ${pid}`);
  return found[0];
}

test('calls through broker and echo', async (t) => {
  const { bus, client, echoes } = await startMesh(t);

  await t.test('a round trip answers the value sent, from the echo process', async () => {
    assert.equal(await client.call('echo', 'echo', ['hi']), 'hi');
    const value = { text: 'ünïcødé ✓', n: 2 ** 53 - 1, list: [1, null, true, 0.5], nested: { empty: {} } };
    assert.deepEqual(await client.call('echo', 'echo', [value]), value);
    assert.equal(await client.call('echo', 'echo', []), null);
    assert.equal(await client.call('echo', 'pid'), echoes[0].child.pid);
  });

  await t.test('5000 calls in flight on one client are each answered with their own payload', async () => {
    const n = 5000;
    const calls = Array.from({ length: n }, (_, i) =>
      client.call('echo', 'echo', [{ i, tag: `call-${i}`, bytes: 'x'.repeat(i % 97) }]),
    );
    // Every call was sent before any answer could be read (the answers need this turn of the event loop to end).
    assert.equal(client.inFlight, n);
    const answers = await Promise.all(calls);
    for (let i = 0; i < n; i++) assert.deepEqual(answers[i], { i, tag: `call-${i}`, bytes: 'x'.repeat(i % 97) });
    assert.equal(client.inFlight, 0);
  });

  await t.test(
    "a deadline that passes rejects with AGORA_ERR_BUS_TIMEOUT; with `traces`, the caller's stack",
    async () => {
      const traced = createClient({ endpoint: bus, traces: true });
      t.after(() => traced.close());
      async function callThatOutlivesItsDeadline(): Promise<unknown> {
        return traced.call('echo', 'sleep', [1000], { timeoutMs: 100 });
      }
      const err = await rejectsWith(callThatOutlivesItsDeadline(), 'AGORA_ERR_BUS_TIMEOUT');
      assert.equal(err.errno, 201);
      assert.equal(err.message, 'Call to echo.sleep passed its deadline');
      const stack = err.stack ?? '';
      assert.match(stack, /^AgoraError: Call to echo\.sleep passed its deadline\n/);
      assert.match(stack, /at callThatOutlivesItsDeadline \(.*bus\.test\.[jt]s:\d+:\d+\)/, stack);
      // The client is still fine after a timeout; the late answer is dropped.
      assert.equal(await traced.call('echo', 'echo', ['after']), 'after');
      // Without `traces` (the default) the error is the same, minus the caller's frames.
      const plain = await rejectsWith(
        client.call('echo', 'sleep', [1000], { timeoutMs: 100 }),
        'AGORA_ERR_BUS_TIMEOUT',
      );
      assert.equal(plain.message, 'Call to echo.sleep passed its deadline');
    },
  );

  await t.test(
    'handler errors travel by code; other failures become AGORA_ERR_INTERNAL without their text',
    async () => {
      const bad = await rejectsWith(
        client.call('echo', 'fail', ['AGORA_ERR_RPC_BAD_PARAMS', 'n must be even']),
        'AGORA_ERR_RPC_BAD_PARAMS',
      );
      assert.equal(bad.errno, 107);
      assert.equal(bad.status, 400);
      assert.equal(bad.message, 'Invalid parameters: n must be even');
      await rejectsWith(client.call('echo', 'sleep', ['soon']), 'AGORA_ERR_RPC_BAD_PARAMS');
      const notFound = await rejectsWith(
        client.call('echo', 'fail', ['AGORA_ERR_CHANNEL_NOT_FOUND', 'general']),
        'AGORA_ERR_CHANNEL_NOT_FOUND',
      );
      assert.equal(notFound.errno, 111);

      const internal = await rejectsWith(client.call('echo', 'fail', ['not a registry code']), 'AGORA_ERR_INTERNAL');
      assert.equal(internal.errno, 999);
      assert.equal(internal.message, 'Internal error');
      const seen = JSON.stringify({ message: internal.message, data: internal.data, stack: internal.stack });
      assert.doesNotMatch(seen, /unexpected failure|must not leak/);

      const noMethod = await rejectsWith(client.call('echo', 'noSuchMethod'), 'AGORA_ERR_RPC_NO_METHOD');
      assert.equal(noMethod.errno, 111);
      assert.equal(noMethod.message, 'Service echo has no method noSuchMethod');
      // Inherited properties are not methods.
      await rejectsWith(client.call('echo', 'toString'), 'AGORA_ERR_RPC_NO_METHOD');
      await rejectsWith(client.call('echo', '__proto__'), 'AGORA_ERR_RPC_NO_METHOD');

      // No worker: the broker answers just before the call's deadline (docs/PROTOCOL.md §9), not at once.
      const asked = Date.now();
      const noService = await rejectsWith(
        client.call('nobody.serves.this', 'echo', [1], { timeoutMs: NO_WORKER_DEADLINE_MS }),
        'AGORA_ERR_BUS_NO_SERVICE',
      );
      assert.equal(noService.message, 'No worker serves nobody.serves.this');
      assert.ok(Date.now() - asked >= NO_WORKER_DEADLINE_MS * 0.9 - 5, 'answered before the wait for a worker ended');
      assert.equal(await client.hasService('nobody.serves.this'), false);
      assert.equal(await client.hasService('echo'), true);
      assert.equal(await client.call('echo', 'echo', ['still serving']), 'still serving');
    },
  );
});

test('one echo process with AGORA_WORKER_CONCURRENCY=8 serves 8 calls at once', async (t) => {
  const SLEEP_MS = 1000;
  const { client, echoes } = await startMesh(t, { concurrency: 8 });
  const started = Date.now();
  // 1. Eight long calls: the broker hands all eight to the process's one socket, which
  //    offered eight slots in its READY; none waits.
  const sleeps = Array.from({ length: 8 }, () => client.call('echo', 'sleep', [SLEEP_MS]));
  await waitForWorkers(
    client,
    'echo',
    (s) => s.workers === 1 && s.slots === 8 && s.idle === 0 && s.queued === 0,
    SLEEP_MS * 4,
  );
  // 2. A ninth call finds no free slot: it waits in the broker's queue, so 8 is the limit.
  const ninth = client.call<number>('echo', 'pid');
  const full = await waitForWorkers(client, 'echo', (s) => s.queued === 1, SLEEP_MS * 4);
  assert.deepEqual(full, { name: 'echo', workers: 1, slots: 8, idle: 0, queued: 1 });
  // 3. All eight answer, overlapping: together they take far less than eight in a row would.
  assert.deepEqual(await Promise.all(sleeps), Array(8).fill(SLEEP_MS));
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 8 * SLEEP_MS, `8 calls of ${SLEEP_MS} ms took ${elapsed} ms: they did not overlap`);
  assert.equal(await ninth, echoes[0].child.pid);
});

test('calls are balanced across two echo processes', async (t) => {
  const { client, echoes } = await startMesh(t, { echoes: 2, concurrency: 4 });
  const pids = await Promise.all(Array.from({ length: 200 }, () => client.call<number>('echo', 'pid')));
  const counts = new Map<number, number>();
  for (const pid of pids) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  assert.deepEqual(
    [...counts.keys()].sort(),
    echoes.map((e) => e.child.pid).sort(),
    `answers per pid: ${JSON.stringify([...counts])}`,
  );
  // Sequential calls alternate between the processes, though each offers 4 slots.
  const sequential: number[] = [];
  for (let i = 0; i < 8; i++) sequential.push(await client.call<number>('echo', 'pid'));
  for (let i = 1; i < sequential.length; i++)
    assert.notEqual(sequential[i], sequential[i - 1], `in turn: ${sequential.join(' ')}`);
});

test('a worker SIGKILLed during a call', async (t) => {
  // Two processes of one socket each: while one serves the long call, `pid` reaches the other.
  const mesh = await startMesh(t, { echoes: 2, concurrency: 1 });
  const { client, broker } = mesh;

  /** Start a long call, find which process serves it, SIGKILL that process; resolves with the call. */
  async function killDuring(
    call: Promise<unknown>,
  ): Promise<{ settled: Promise<unknown>; killed: Started; killedAt: number }> {
    call.catch(() => undefined); // the caller asserts how it settles
    await waitForWorkers(client, 'echo', (s) => s.workers === 2 && s.idle === 1);
    const idlePid = await client.call<number>('echo', 'pid');
    const killed = other(mesh.echoes, idlePid);
    const killedAt = Date.now();
    assert.equal(await killed.stop('SIGKILL'), 'SIGKILL');
    return { settled: call, killed, killedAt };
  }

  await t.test(
    "the caller gets AGORA_ERR_BUS_WORKER_LOST once the worker's connection closes, well before its deadline",
    async () => {
      const start = Date.now();
      const { settled, killed, killedAt } = await killDuring(
        client.call('echo', 'sleep', [10_000], { timeoutMs: 30_000 }),
      );
      const err = await rejectsWith(settled, 'AGORA_ERR_BUS_WORKER_LOST');
      assert.equal(err.errno, 201);
      assert.ok(killedAt < start + 10_000, 'the worker died while the call was in progress');
      // WORKER_LOST, not AGORA_ERR_BUS_TIMEOUT: the call failed when the worker went, not at its deadline.
      const removed = await broker.waitFor((l) => l.msg === 'worker removed' && l.reason === 'connection closed', 1000);
      assert.equal(removed.service, 'echo');
      assert.equal(killed.child.signalCode, 'SIGKILL');
      await waitForWorkers(client, 'echo', (s) => s.workers === 1 && s.idle === 1);
    },
  );

  await t.test('an idempotent call is served again by the other worker', async () => {
    // 1. A second live process again.
    await mesh.startEcho();
    await waitForWorkers(client, 'echo', (s) => s.workers === 2 && s.idle === 2);
    // 2. Kill the one serving the idempotent call.
    const start = Date.now();
    const { settled, killed, killedAt } = await killDuring(
      client.call('echo', 'sleep', [2000], { timeoutMs: 30_000, idempotent: true }),
    );
    assert.ok(killedAt < start + 2000, 'the worker died while the call was in progress');
    const survivor = mesh.echoes.find((e) => e !== killed && e.child.exitCode === null && e.child.signalCode === null);
    assert.ok(survivor !== undefined);
    // 3. Once the killed one's connection closes the broker hands the call to the survivor, now
    //    its only worker and busy.
    await waitForWorkers(client, 'echo', (s) => s.workers === 1 && s.idle === 0);
    assert.equal(await settled, 2000);
    assert.equal(await client.call('echo', 'pid'), survivor.child.pid);
  });
});

test('the broker restarts on the same endpoint; workers and client carry on', async (t) => {
  const { broker, bus, client, echoes } = await startMesh(t);
  const echo = echoes[0];
  assert.equal(await client.call('echo', 'echo', ['before']), 'before');
  // 1. A call in flight when the broker goes away is rejected at once (the TCP connection
  //    closes), not left to its deadline: RFC 7 has no resume, nobody will answer it.
  const pending = client.call('echo', 'sleep', [3000], { timeoutMs: 8000 });
  pending.catch(() => undefined);
  await waitForWorkers(client, 'echo', (s) => s.idle === s.slots - 1);
  assert.equal(await broker.stop('SIGTERM'), 0);
  await rejectsWith(pending, 'AGORA_ERR_BUS_DISCONNECTED');
  // 2. A new broker binds the endpoint the first one printed.
  const second = await startNode('services/broker/main.js', { env: { AGORA_BUS_URL: bus, ...FAST } });
  t.after(() => second.stop('SIGKILL'));
  assert.equal(second.endpoints.bus, bus);
  // 3. The same echo process registers again (it is told DISCONNECT, or finds the broker silent).
  await waitForService(client, 'echo', REGISTER_MS);
  await second.waitFor((l) => l.msg === 'worker ready' && l.service === 'echo', 1000);
  assert.equal(echo.child.exitCode, null);
  // 4. The same client object works again, on every one of the socket's 32 slots, including
  //    the one whose `sleep` was cut off (still running, its answer now dropped).
  assert.equal(await client.call('echo', 'echo', ['after']), 'after');
  assert.equal(await client.call('echo', 'pid'), echo.child.pid);
  await waitForWorkers(client, 'echo', (s) => s.workers === 1 && s.slots === 32 && s.idle === 32);
  const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => client.call('echo', 'echo', [i])));
  assert.deepEqual(
    burst,
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('SIGTERM on echo drains the call in flight, then exits 0', async (t) => {
  const { broker, client, echoes } = await startMesh(t);
  const echo = echoes[0];
  // 1. A call in flight: the broker reports one slot busy.
  const inFlight = client.call('echo', 'sleep', [800]);
  await waitForWorkers(client, 'echo', (s) => s.idle === s.slots - 1);
  // 2. SIGTERM: the call still gets its answer, then the process exits 0.
  const exited = echo.stop('SIGTERM');
  assert.equal(await inFlight, 800);
  assert.equal(await exited, 0);
  assert.ok(echo.lines.some((l) => l.msg === 'draining'));
  // 3. Its workers said DISCONNECT: the broker removed them without waiting for heartbeat expiry.
  const removed = await broker.waitFor((l) => l.msg === 'worker removed' && l.workers === 0, 2000);
  assert.equal(removed.reason, 'worker said DISCONNECT');
  const asked = Date.now();
  await rejectsWith(client.call('echo', 'echo', [1], { timeoutMs: NO_WORKER_DEADLINE_MS }), 'AGORA_ERR_BUS_NO_SERVICE');
  assert.ok(Date.now() - asked >= NO_WORKER_DEADLINE_MS * 0.9 - 5, 'answered before the wait for a worker ended');
});

test('a call made before its worker starts waits in the broker and is served once the worker registers', async (t) => {
  const mesh = await startMesh(t, { echoes: 0 });
  const client = mesh.client;
  const early = client.call('echo', 'echo', ['early'], { timeoutMs: 20_000 });
  await waitForWorkers(client, 'echo', (s) => s.workers === 0 && s.queued === 1);
  assert.equal(await client.hasService('echo'), false, 'mmi.service answers 404 while the call waits');
  await mesh.startEcho();
  assert.equal(await early, 'early');
});

test('a call with a short deadline and no worker gets AGORA_ERR_BUS_NO_SERVICE at its deadline; the waits are bounded by AGORA_BROKER_QUEUE_MAX', async (t) => {
  const broker = await startBroker({ ...FAST, AGORA_BROKER_QUEUE_MAX: '2' });
  const client = createClient({ endpoint: String(broker.endpoints.bus), caller: 'bus.test' });
  t.after(async () => {
    client.close();
    await broker.stop('SIGKILL');
  });
  // 1. The deadline: the broker's answer comes first, and just before it.
  const asked = Date.now();
  await rejectsWith(client.call('absent', 'm', [], { timeoutMs: NO_WORKER_DEADLINE_MS }), 'AGORA_ERR_BUS_NO_SERVICE');
  const waited = Date.now() - asked;
  assert.ok(waited >= NO_WORKER_DEADLINE_MS * 0.9 - 5, `answered after ${waited} ms`);
  // 2. The bound: two calls wait, the third is refused at once.
  const waiting = [1, 2].map((i) => client.call('absent', 'm', [i], { timeoutMs: 2000 }));
  await waitForWorkers(client, 'absent', (s) => s.queued === 2);
  const refusedAt = Date.now();
  await rejectsWith(client.call('absent', 'm', [3], { timeoutMs: 2000 }), 'AGORA_ERR_BUS_QUEUE_FULL');
  assert.ok(Date.now() - refusedAt < 1000, 'the call beyond the bound was not refused at once');
  for (const call of waiting) await rejectsWith(call, 'AGORA_ERR_BUS_NO_SERVICE');
});

test('SIGTERM under constant load: the worker asks the broker for no more, finishes what it holds, exits 0; no call is lost', async (t) => {
  const { broker, client, echoes } = await startMesh(t, { echoes: 2, concurrency: 8 });
  const [leaving, staying] = echoes;
  // 1. Three callers per slot keep calling: every slot of both workers is busy and requests
  //    wait in the broker's queue, so a slot freed by a REPLY is filled again at once. Calls of
  //    different lengths end at different times: the slots of a worker are never all free at once.
  const ms = (caller: number): number => 40 + (caller % 7) * 20;
  const load = keepCalling(
    48,
    (i) => client.call('echo', 'sleep', [ms(i)]),
    (r, i) => r === ms(i),
  );
  t.after(() => load.stop());
  // Every slot has answered about twice: the calls a worker holds are in its hands, not on their
  // way to it (then it would rightly say DISCONNECT at once and the broker serve them elsewhere).
  await load.answered(32, 10_000);
  await waitForWorkers(client, 'echo', (s) => s.workers === 2 && s.idle === 0 && s.queued > 0);
  // 2. SIGTERM one: it asks for no more requests while it holds some (docs/PROTOCOL.md §3, drain)...
  const exited = leaving.stop('SIGTERM');
  const asked = await leaving.waitFor((l) => l.msg === 'draining: asked the broker for no more requests');
  assert.ok(Number(asked.inFlight) > 0, 'it held calls when it began to drain');
  const withdrawn = await broker.waitFor((l) => l.msg === 'worker draining' && l.service === 'echo');
  assert.ok(Number(withdrawn.held) > 0);
  // 3. ...and leaves by DISCONNECT holding nothing, exit 0 after 'stopped': not the grace timeout (exit 1).
  assert.equal(await exited, 0);
  assert.ok(
    leaving.lines.some((l) => l.msg === 'stopped'),
    'it logged stopped',
  );
  assert.ok(!leaving.lines.some((l) => l.msg === 'drain took too long, exiting'));
  const removed = await broker.waitFor((l) => l.msg === 'worker removed' && l.service === 'echo');
  assert.deepEqual([removed.reason, removed.workers], ['worker said DISCONNECT', 1]);
  // 4. The load goes on, served by the other worker alone; then every call made has its answer.
  await load.answered(load.made + 100, 20_000);
  assert.equal(staying.child.exitCode, null);
  await load.stop();
  assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.made} calls failed`);
  assert.equal(await client.call('echo', 'pid'), staying.child.pid);
});
