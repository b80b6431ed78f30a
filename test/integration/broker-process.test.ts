/**
 * The broker as the Procfile runs it (dist/services/broker/main.js), its own process on a
 * free loopback port: a raw MDP worker and client in this process make a round trip through
 * it; a bad configuration value exits 78 naming the variable; SIGTERM exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { encodeMeta, encodeRequest, encodeResponse } from '../../lib/bus/codec';
import { EMPTY, MDPC01, MDPW01, REQUEST } from '../../lib/bus/mdp';
import { Peer, uniqueId, waitMmi, within } from '../helpers/mdp-peer';
import { entry, ROOT, startBroker } from '../helpers/proc';

test('a raw DEALER worker and client make a round trip through the broker process', async (t) => {
  const broker = await startBroker({ AGORA_HEARTBEAT_MS: '200' });
  const peers: Peer[] = [];
  t.after(async () => {
    for (const p of peers) p.close();
    await broker.stop('SIGKILL');
  });
  const bus = String(broker.endpoints.bus);
  assert.match(bus, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.doesNotMatch(bus, /:0$/);

  const worker = new Peer(bus, uniqueId('worker'));
  const client = new Peer(bus, uniqueId('client'));
  peers.push(worker, client);
  worker.answerHeartbeats = true;
  await worker.ready('xproc');
  await waitMmi(client, 'xproc', '200', 10_000);

  const body = encodeRequest(123, 'Echo', ['across processes']);
  const meta = encodeMeta({ reqId: 'x-1' });
  await client.ask('xproc', body, meta);
  assert.deepEqual(await worker.next(), [EMPTY, MDPW01, REQUEST, Buffer.from(client.id), EMPTY, body, meta]);
  const reply = encodeResponse(123, null, 'across processes');
  await worker.reply(Buffer.from(client.id), reply);
  assert.deepEqual(await client.next(), [EMPTY, MDPC01, Buffer.from('xproc'), reply]);
  // The broker heartbeats the worker (AGORA_HEARTBEAT_MS reached the process).
  await worker.waitHeartbeats(2, 5000);
});

test('a bad configuration value exits 78 and names the variable on stderr', async () => {
  const child = spawn(process.execPath, [entry('services/broker/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      AGORA_BUS_URL: 'tcp://127.0.0.1:0',
      AGORA_HEARTBEAT_MS: 'abc',
      AGORA_HEARTBEAT_LIVENESS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await within(once(child, 'exit'), 15_000, 'the broker to exit')) as [number | null];
  assert.equal(code, 78, `stderr: ${stderr}`);
  assert.match(stderr, /AGORA_HEARTBEAT_MS must be an integer, got "abc"/);
  // Every bad variable is named, not only the first.
  assert.match(stderr, /AGORA_HEARTBEAT_LIVENESS must be between 1 and 100, got 0/);
  assert.doesNotMatch(stdout, /"ready":true/);
});

test('SIGTERM stops the broker with exit code 0', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop('SIGKILL'));
  assert.equal(await within(broker.stop('SIGTERM'), 15_000, 'the broker to exit'), 0);
});
