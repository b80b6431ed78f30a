/**
 * Several brokers with the bus SDKs in other languages (README "Several brokers"): the SDK's
 * example worker, given AGORA_BUS_URL listing two brokers, registers with both and serves
 * through either; its example client, given the list, reaches a service through whichever
 * broker is up. A test file calls `sdkMultiSuite` once per language.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { createClient, type BusClient } from '../../lib/bus/client';
import { waitForService } from './bus';
import { freePort, start, startBroker, startNode, type Started } from './proc';
import { needSdk, type Sdk } from './sdk-suite';

const REGISTER_MS = 10_000;

/** Two loopback endpoints on distinct free ports. */
async function twoUrls(): Promise<string[]> {
  for (;;) {
    const ports = [await freePort(), await freePort()];
    if (ports[0] !== ports[1]) return ports.map((p) => `tcp://127.0.0.1:${p}`);
  }
}

/** Two brokers, a client of each alone, all stopped in t.after. */
async function twoBrokers(t: TestContext): Promise<{ urls: string[]; brokers: Started[]; single: BusClient[] }> {
  const urls = await twoUrls();
  const brokers = await Promise.all(urls.map((url) => startBroker({ AGORA_BUS_URL: url })));
  const single = urls.map((endpoint) => createClient({ endpoint, timeoutMs: 5000 }));
  t.after(async () => {
    for (const c of single) c.close();
    await Promise.all(brokers.map((b) => b.stop()));
  });
  return { urls, brokers, single };
}

function runClient(sdk: Sdk, bus: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      sdk.interpreter,
      [sdk.client, ...args],
      { env: { ...process.env, AGORA_BUS_URL: bus }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code ?? -1), stdout, stderr }),
    );
  });
}

export function sdkMultiSuite(sdk: Sdk): void {
  test(`a ${sdk.lang} worker given two brokers registers with both and serves through each`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const { urls, single } = await twoBrokers(t);
    const list = urls.join(',');
    const worker = await start(sdk.interpreter, [sdk.worker], {
      env: { AGORA_BUS_URL: list, AGORA_WORKER_CONCURRENCY: '2' },
      stderrLines: true,
    });
    t.after(() => worker.stop());
    assert.deepEqual(worker.endpoints, { bus: list });
    await Promise.all(single.map((c) => waitForService(c, sdk.service, REGISTER_MS)));
    // The same process answers through either broker, each knowing it with its two slots.
    const pids = await Promise.all(single.map((c) => c.call(sdk.service, 'pid')));
    assert.equal(pids[0], pids[1]);
    assert.equal(pids[0], worker.child.pid);
    for (const c of single) {
      const stats = (await c.services()).find((s) => s.name === sdk.service);
      assert.deepEqual([stats?.workers, stats?.slots], [1, 2]);
    }
    // SIGTERM drains on both and exits 0.
    assert.equal(await worker.stop('SIGTERM'), 0);
  });

  test(`a ${sdk.lang} client given two brokers calls through either, and through the other with one killed`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const { urls, brokers, single } = await twoBrokers(t);
    const list = urls.join(',');
    const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: list } });
    t.after(() => echo.stop());
    await Promise.all(single.map((c) => waitForService(c, 'echo', REGISTER_MS)));
    const ok = await runClient(sdk, list, ['echo', 'echo', '"both"']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { result: 'both' });
    // One broker gone: the client's socket queues to the connected one only (ZMQ_IMMEDIATE).
    await brokers[0].stop('SIGKILL');
    for (const i of [1, 2, 3]) {
      const one = await runClient(sdk, list, ['--timeout-ms', '3000', 'echo', 'echo', String(i)]);
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(JSON.parse(one.stdout), { result: i });
    }
  });
}
