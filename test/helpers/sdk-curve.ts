/**
 * The bus SDKs in other languages under CURVE (docs/PROTOCOL.md §15): their example worker as
 * a CURVE worker called by a TypeScript CURVE client, their example client as a CURVE client
 * of the TypeScript echo service, both through the broker process admitting keys made by
 * `agora keys` (and, for Python, by pyzmq's zmq.auth); a worker whose key may not serve its
 * service is not registered, and a client with an unknown key gets no answer.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { createClient } from '../../lib/bus/client';
import { readCertificate, writeCertificate } from '../../lib/bus/curve-cert';
import { rejectsWith, waitForService } from './bus';
import { initKeys, mechanismOf, newKey, peerEnv, startCurveBroker, type Keys } from './curve-mesh';
import { start, startNode } from './proc';
import { needSdk, type Sdk } from './sdk-suite';

function runClient(sdk: Sdk, env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      sdk.interpreter,
      [sdk.client, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout }),
    );
  });
}

/** A client key made by pyzmq's zmq.auth.create_certificates, admitted by the operator with `call = echo`. */
async function pyzmqKey(keys: Keys, name: string): Promise<void> {
  execFileSync('/usr/bin/python3', [
    '-c',
    'import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], sys.argv[2])',
    keys.dir,
    name,
  ]);
  // pyzmq writes no metadata into the public file: the operator's allow-list entry carries the grant.
  const made = await readCertificate(path.join(keys.dir, `${name}.key`));
  await writeCertificate(keys.allow, name, { publicKey: made.publicKey, metadata: { call: 'echo' } });
}

/** Register the CURVE tests of one SDK. */
export function sdkCurveSuite(sdk: Sdk): void {
  test(`CURVE: a TypeScript client calls a ${sdk.lang} worker; its client calls TypeScript echo`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const keys = initKeys(t);
    newKey(keys, 'sdkworker', ['--serve', sdk.service]);
    newKey(keys, 'tsclient', ['--call', `${sdk.service},echo`]);
    const broker = await startCurveBroker(t, keys);
    const bus = String(broker.endpoints.bus);
    const worker = await start(sdk.interpreter, [sdk.worker], {
      env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'sdkworker') },
      stderrLines: true,
    });
    t.after(() => worker.stop('SIGKILL'));
    const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') } });
    t.after(() => echo.stop('SIGKILL'));
    const client = createClient({ endpoint: bus, mechanism: await mechanismOf(keys, 'tsclient'), timeoutMs: 5000 });
    t.after(() => client.close());
    await waitForService(client, sdk.service, 10_000);
    assert.deepEqual(await client.call(sdk.service, 'echo', [{ a: [1, 'two'] }]), { a: [1, 'two'] });
    assert.equal(await client.call(sdk.service, 'pid'), worker.child.pid);

    // The SDK's client, keys from agora keys (`client` may call echo, not the SDK's worker).
    await waitForService(client, 'echo', 10_000);
    const ok = await runClient(sdk, { AGORA_BUS_URL: bus, ...peerEnv(keys, 'client') }, ['echo', 'echo', '"hi"']);
    assert.deepEqual(JSON.parse(ok.stdout), { result: 'hi' });
    const no = await runClient(sdk, { AGORA_BUS_URL: bus, ...peerEnv(keys, 'client') }, [sdk.service, 'echo', '1']);
    assert.equal(no.code, 1);
    assert.equal((JSON.parse(no.stdout) as { error: { code: string } }).error.code, 'AGORA_ERR_BUS_FORBIDDEN');
    if (sdk.lang === 'Python') {
      await pyzmqKey(keys, 'pyzmqclient');
      broker.child.kill('SIGHUP');
      await broker.waitFor((l) => l.msg === 'allow-list reloaded');
      const env = { AGORA_BUS_URL: bus, ...peerEnv(keys, 'pyzmqclient') };
      assert.deepEqual(JSON.parse((await runClient(sdk, env, ['echo', 'echo', '"py"'])).stdout), { result: 'py' });
    }
  });

  test(`CURVE: a ${sdk.lang} worker may serve only what its key grants; an unknown client key gets no answer`, async (t) => {
    if (!(await needSdk(t, sdk))) return;
    const keys = initKeys(t);
    newKey(keys, 'stranger', ['--call', 'echo'], false);
    const broker = await startCurveBroker(t, keys);
    const bus = String(broker.endpoints.bus);
    // echo's key serves echo, not the SDK's service.
    const worker = await start(sdk.interpreter, [sdk.worker], {
      env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') },
      stderrLines: true,
    });
    t.after(() => worker.stop('SIGKILL'));
    const refused = await broker.waitFor((l) => l.refused === `serve ${sdk.service}`);
    assert.equal(refused.name, 'echo');
    const client = createClient({ endpoint: bus, mechanism: await mechanismOf(keys, 'client'), timeoutMs: 5000 });
    t.after(() => client.close());
    assert.equal(await client.hasService(sdk.service), false);
    await rejectsWith(client.call(sdk.service, 'echo', [1]), 'AGORA_ERR_BUS_FORBIDDEN');

    const env = { AGORA_BUS_URL: bus, ...peerEnv(keys, 'stranger') };
    const lost = await runClient(sdk, env, ['--timeout-ms', '500', 'echo', 'echo', '1']);
    assert.equal(lost.code, 1);
    assert.equal((JSON.parse(lost.stdout) as { error: { code: string } }).error.code, 'AGORA_ERR_BUS_TIMEOUT');
    await broker.waitFor((l) => l.refused === 'connect');
  });
}
