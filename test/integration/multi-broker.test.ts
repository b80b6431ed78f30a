/**
 * Several brokers (README "Several brokers"): real broker processes that share nothing, an echo
 * worker process registered with both (AGORA_BUS_URL a list), and a client spreading its calls
 * over them. A broker killed: new calls go to the other at once; the calls it held fail with
 * AGORA_ERR_BUS_DISCONNECTED, or, idempotent, are sent again through the other. A rolling
 * restart of both under a steady idempotent load fails no call.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createClient, type BusClient } from '../../lib/bus/client';
import { isAgoraError } from '../../lib/errors';
import { keepCalling, until, waitForService } from '../helpers/bus';
import { freePort, startBroker, startNode, type Started } from '../helpers/proc';

const HEARTBEAT = { AGORA_HEARTBEAT_MS: '200', AGORA_HEARTBEAT_LIVENESS: '3' };
const REGISTER_MS = 10_000;

interface Mesh {
  urls: string[];
  brokers: Started[];
  worker: Started;
  /** A client of each broker alone, to ask it what it knows (mmi). */
  single: BusClient[];
  /** The client of both. */
  client: BusClient;
  restart: (i: number) => Promise<void>;
}

function brokerOn(url: string): Promise<Started> {
  return startBroker({ AGORA_BUS_URL: url, ...HEARTBEAT });
}

async function mesh(t: TestContext): Promise<Mesh> {
  const urls = [`tcp://127.0.0.1:${await freePort()}`, `tcp://127.0.0.1:${await freePort()}`];
  const brokers = await Promise.all(urls.map(brokerOn));
  const list = urls.join(',');
  const worker = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: list, ...HEARTBEAT } });
  const single = urls.map((endpoint) => createClient({ endpoint, timeoutMs: 2000 }));
  const client = createClient({ endpoint: list, timeoutMs: 5000, heartbeatMs: 200 });
  const m: Mesh = {
    urls,
    brokers,
    worker,
    single,
    client,
    restart: async (i) => {
      assert.equal(await m.brokers[i].stop('SIGTERM'), 0);
      m.brokers[i] = await brokerOn(urls[i]);
      await waitForService(single[i], 'echo', REGISTER_MS);
      await until(async () => client.brokersUp.includes(urls[i]), REGISTER_MS, `client back on ${urls[i]}`);
    },
  };
  t.after(async () => {
    for (const c of [...single, client]) c.close();
    await worker.stop();
    await Promise.all(m.brokers.map((b) => b.stop()));
  });
  await Promise.all(single.map((c) => waitForService(c, 'echo', REGISTER_MS)));
  await until(async () => client.brokersUp.length === 2, REGISTER_MS, 'the client connected to both brokers');
  return m;
}

test('a worker registers with both brokers; with one killed every call goes to the other', async (t) => {
  const m = await mesh(t);
  assert.equal(m.worker.endpoints.bus, m.urls.join(','));
  const before = await Promise.all(Array.from({ length: 10 }, (_, i) => m.client.call('echo', 'echo', [i])));
  assert.deepEqual(before, [...Array(10).keys()]);
  await m.brokers[0].stop('SIGKILL');
  await until(async () => m.client.brokersUp.length === 1, 5000, 'the client to drop the killed broker');
  assert.deepEqual(m.client.brokersUp, [m.urls[1]]);
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => m.client.call('echo', 'echo', [i])));
  assert.deepEqual(after, [...Array(20).keys()]);
});

test('rolling restart of both brokers under a steady load of idempotent calls fails none', async (t) => {
  const m = await mesh(t);
  const load = keepCalling(
    16,
    (i) => m.client.call('echo', 'sleep', [5], { idempotent: true, timeoutMs: 10_000 }).then(() => i),
    (result, i) => result === i,
  );
  t.after(() => load.stop());
  await load.answered(100, 10_000);
  for (const i of [0, 1]) {
    await m.restart(i);
    // Calls went through the restarted broker too: a fresh batch is answered with it up.
    const made = load.made;
    await until(async () => load.made > made + 100, 10_000, 'the load to go on');
    assert.deepEqual(load.failures, [], `failures after restarting broker ${i}`);
  }
  await load.stop();
  assert.deepEqual(load.failures, []);
});

test('calls held by a killed broker fail with AGORA_ERR_BUS_DISCONNECTED; none hangs; the other broker answers', async (t) => {
  const m = await mesh(t);
  const started = Date.now();
  const calls = Array.from({ length: 8 }, (_, i) =>
    m.client.call('echo', 'sleep', [3000], { timeoutMs: 20_000 }).then(
      () => ({ i, ok: true, code: '', at: Date.now() }),
      (e: unknown) => ({ i, ok: false, code: isAgoraError(e) ? e.code : String(e), at: Date.now() }),
    ),
  );
  // Both brokers hold some: the worker is busy on each.
  for (const c of m.single)
    await until(
      async () => ((await c.services()).find((s) => s.name === 'echo')?.idle ?? Infinity) < 32,
      5000,
      'a broker to hand the worker its calls',
    );
  await m.brokers[0].stop('SIGKILL');
  const killedAt = Date.now();
  const settled = await Promise.all(calls);
  const failed = settled.filter((s) => !s.ok);
  const ok = settled.filter((s) => s.ok);
  assert.equal(failed.length, 4, JSON.stringify(settled));
  assert.equal(ok.length, 4, JSON.stringify(settled));
  for (const f of failed) {
    assert.equal(f.code, 'AGORA_ERR_BUS_DISCONNECTED');
    assert.ok(f.at - killedAt < 1000, `a held call failed ${f.at - killedAt} ms after the kill`);
  }
  for (const s of ok) assert.ok(s.at - started >= 3000);
  // New calls go to the broker left, at once.
  assert.equal(await m.client.call('echo', 'echo', ['still']), 'still');
});

test('a broker that stops answering (SIGSTOP) takes no new calls; woken, it takes them again', async (t) => {
  const m = await mesh(t);
  t.after(() => m.brokers[0].child.kill('SIGCONT')); // a frozen process would not die of SIGTERM
  m.brokers[0].child.kill('SIGSTOP');
  // Its connection stays up: only the client's probes (each 200 ms, 3 missed) tell it is silent.
  await until(async () => m.client.brokersUp.length === 1, 5000, 'the client to leave the silent broker');
  assert.deepEqual(m.client.brokersUp, [m.urls[1]]);
  const during = await Promise.all(Array.from({ length: 10 }, (_, i) => m.client.call('echo', 'echo', [i])));
  assert.deepEqual(during, [...Array(10).keys()]);
  m.brokers[0].child.kill('SIGCONT');
  await until(async () => m.client.brokersUp.length === 2, 5000, 'the client to take the woken broker back');
  await waitForService(m.single[0], 'echo', REGISTER_MS);
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => m.client.call('echo', 'echo', [i])));
  assert.deepEqual(after, [...Array(10).keys()]);
});
