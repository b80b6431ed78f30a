/**
 * CURVE on the bus end to end (docs/PROTOCOL.md §15, docs/SECURITY.md): keys made by
 * `agora keys`, the broker process admitting its allow-list, the echo process and in-process
 * clients and workers as CURVE peers. What each key may serve and call is enforced, the caller
 * a worker sees is the key's name, `user` counts only from a key granted act_for_users; an
 * unknown key, a NULL peer, a rogue worker and a tampered box are refused, each refusal logged
 * once, and the broker keeps serving; SIGHUP admits a key added meanwhile; without CURVE the
 * broker listens on loopback only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createClient, type BusClient } from '../../lib/bus/client';
import { MESSAGE_MORE } from '../../lib/bus/curve';
import { CurveClient } from '../../lib/bus/curve-client';
import { readCertificate, writeCertificate } from '../../lib/bus/curve-cert';
import { EMPTY, MDPC01 } from '../../lib/bus/mdp';
import { boxKeyPair } from '../../lib/bus/sodium';
import { serve } from '../../lib/bus/worker';
import { z85Encode } from '../../lib/bus/z85';
import { curveClient } from '../../lib/bus/zmtp-curve';
import type { MechanismFactory } from '../../lib/bus/zmtp-mechanism';
import { encodeRequest } from '../../lib/bus/codec';
import { createLogger } from '../../lib/log';
import { rejectsWith, until, waitForService, waitForServiceGone } from '../helpers/bus';
import { admit, initKeys, mechanismOf, newKey, peerEnv, startCurveBroker, type Keys } from '../helpers/curve-mesh';
import { entry, ROOT, startNode, type Started } from '../helpers/proc';
import { greeting, RawZmtp } from '../helpers/zmtp-raw';

const log = createLogger('test', 'silent');

function client(t: TestContext, bus: string, mechanism: MechanismFactory | undefined, caller?: string): BusClient {
  const c = createClient({ endpoint: bus, mechanism, caller, timeoutMs: 3000 });
  t.after(() => c.close());
  return c;
}

/** A worker of `service` answering who called and for whom, holding the key `name`. */
async function whoami(t: TestContext, keys: Keys, bus: string, name: string, service = 'whoami'): Promise<void> {
  const worker = serve(
    service,
    { who: (_params, ctx) => ({ caller: ctx.caller ?? null, user: ctx.user ?? null }) },
    { endpoint: bus, mechanism: await mechanismOf(keys, name), concurrency: 4, log },
  );
  t.after(() => worker.close());
}

/** The broker's refusal lines for `what`. */
function refusals(broker: Started, what: string): Array<Record<string, unknown>> {
  return broker.lines.filter((l) => l.msg === 'bus key refused' && l.refused === what);
}

async function keyOf(keys: Keys, name: string): Promise<string> {
  const cert = await readCertificate(`${keys.dir}/${name}.key`);
  return z85Encode(cert.publicKey);
}

test('keys from agora keys: calls granted pass, others are AGORA_ERR_BUS_FORBIDDEN, the caller is vouched for', async (t) => {
  const keys = initKeys(t);
  newKey(keys, 'whoami', ['--serve', 'whoami']);
  newKey(keys, 'caller', ['--call', 'whoami,echo.echo']);
  newKey(keys, 'actor', ['--call', 'whoami', '--act-for-users']);
  const broker = await startCurveBroker(t, keys);
  const bus = String(broker.endpoints.bus);
  const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') } });
  t.after(() => echo.stop('SIGKILL'));
  await whoami(t, keys, bus, 'whoami');

  const plain = client(t, bus, await mechanismOf(keys, 'client'));
  await waitForService(plain, 'echo', 10_000);
  await waitForService(plain, 'whoami', 10_000);
  assert.equal(await plain.call('echo', 'echo', ['over CURVE']), 'over CURVE');
  assert.equal(await plain.call('echo', 'pid'), echo.child.pid, 'client may call every method of echo');
  // client's grant is `call = echo`: whoami is not for it, twice, and the refusal is logged once.
  for (let i = 0; i < 2; i++) {
    const e = await rejectsWith(plain.call('whoami', 'who'), 'AGORA_ERR_BUS_FORBIDDEN');
    assert.equal(e.errno, 121);
    assert.equal(e.status, 403);
  }
  await broker.waitFor((l) => l.refused === 'call whoami.who');
  assert.equal(refusals(broker, 'call whoami.who').length, 1);
  assert.equal(refusals(broker, 'call whoami.who')[0].key, await keyOf(keys, 'client'));

  // A forged caller frame: `caller` and `user` claimed, the broker names the key and drops the user.
  const forger = client(t, bus, await mechanismOf(keys, 'caller'), 'gateway');
  assert.deepEqual(await forger.call('whoami', 'who', [], { user: 'alice' }), { caller: 'caller', user: null });
  // Method-level grant: echo.echo only.
  assert.equal(await forger.call('echo', 'echo', [1]), 1);
  await rejectsWith(forger.call('echo', 'pid'), 'AGORA_ERR_BUS_FORBIDDEN');
  // act_for_users: the user counts.
  const actor = client(t, bus, await mechanismOf(keys, 'actor'), 'someone');
  assert.deepEqual(await actor.call('whoami', 'who', [], { user: 'alice' }), { caller: 'actor', user: 'alice' });
});

test('refused: an unknown key, a NULL peer, a rogue Auth worker, a tampered box; the broker keeps serving', async (t) => {
  const keys = initKeys(t);
  const broker = await startCurveBroker(t, keys);
  const bus = String(broker.endpoints.bus);
  const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') } });
  t.after(() => echo.stop('SIGKILL'));
  const good = client(t, bus, await mechanismOf(keys, 'client'));
  await waitForService(good, 'echo', 10_000);

  // The rogue: echo's key, known, registering Auth, which it may not serve.
  await whoami(t, keys, bus, 'echo', 'Auth');
  const refusal = await broker.waitFor((l) => l.refused === 'serve Auth');
  assert.equal(refusal.key, await keyOf(keys, 'echo'));
  assert.equal(refusal.name, 'echo');
  assert.equal(await good.hasService('Auth'), false);

  // An unknown key: no handshake, so no call; the broker logs it once with the key.
  const stranger = boxKeyPair();
  const serverKey = (await readCertificate(`${keys.dir}/broker.key`)).publicKey;
  const unknown = client(t, bus, curveClient(serverKey, stranger));
  await rejectsWith(unknown.call('echo', 'echo', [1], { timeoutMs: 500 }), 'AGORA_ERR_BUS_TIMEOUT');
  await broker.waitFor((l) => l.refused === 'connect' && l.key === z85Encode(stranger.publicKey));
  assert.equal(refusals(broker, 'connect').length, 1, 'logged once though the client keeps retrying');

  // A NULL peer: cut at its greeting.
  const nullPeer = client(t, bus, undefined);
  await rejectsWith(nullPeer.call('echo', 'echo', [1], { timeoutMs: 300 }), 'AGORA_ERR_BUS_TIMEOUT');
  const raw = await RawZmtp.connect(bus);
  t.after(() => raw.close());
  raw.socket.write(greeting('NULL', false));
  await raw.closed;

  // A tampered MESSAGE box: that connection is cut, nothing else.
  const own = await readCertificate(`${keys.dir}/client.key_secret`);
  const tampered = await RawZmtp.connect(bus);
  t.after(() => tampered.close());
  const curve = new CurveClient({
    serverKey,
    publicKey: own.publicKey,
    secretKey: own.secretKey as Buffer,
    properties: { 'Socket-Type': Buffer.from('DEALER') },
  });
  tampered.socket.write(greeting('CURVE', false));
  await tampered.greeting();
  for (const body of curve.start()) tampered.command(body);
  for (;;) {
    const step = curve.onCommand((await tampered.next()).body);
    for (const body of step.send) tampered.command(body);
    if (step.ready !== undefined) break;
  }
  const frames = [EMPTY, MDPC01, Buffer.from('echo'), encodeRequest(1, 'echo', ['x'])];
  const boxes = frames.map((f, i) => curve.encode(f, i < frames.length - 1 ? MESSAGE_MORE : 0));
  boxes[3][boxes[3].length - 1] ^= 1;
  for (const box of boxes) tampered.send(0, box);
  await tampered.closed;

  assert.equal(await good.call('echo', 'echo', ['still serving']), 'still serving');
});

test('SIGHUP: a key added is admitted, a key removed is cut, a withdrawn serve grant removes the worker', async (t) => {
  const keys = initKeys(t);
  newKey(keys, 'late', ['--call', 'echo'], false);
  const broker = await startCurveBroker(t, keys);
  const bus = String(broker.endpoints.bus);
  const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') } });
  t.after(() => echo.stop('SIGKILL'));
  const late = client(t, bus, await mechanismOf(keys, 'late'));
  await rejectsWith(late.call('echo', 'echo', [1], { timeoutMs: 300 }), 'AGORA_ERR_BUS_TIMEOUT');
  await broker.waitFor((l) => l.refused === 'connect');
  admit(keys, 'late');
  broker.child.kill('SIGHUP');
  await broker.waitFor((l) => l.msg === 'allow-list reloaded');
  // The refused client retries its handshake by itself and is now admitted.
  await until(
    async () => {
      try {
        return (await late.call('echo', 'echo', ['admitted'], { timeoutMs: 200 })) === 'admitted';
      } catch {
        return false;
      }
    },
    10_000,
    'the late key admitted',
  );

  // Reloaded without the client's key, and with echo's grant to serve echo withdrawn.
  const client2 = client(t, bus, await mechanismOf(keys, 'client'));
  assert.equal(await client2.call('echo', 'echo', ['before']), 'before');
  rmSync(path.join(keys.allow, 'client.key'));
  const echoCert = await readCertificate(path.join(keys.allow, 'echo.key'));
  await writeCertificate(keys.allow, 'echo', { publicKey: echoCert.publicKey, metadata: { serve: 'other' } });
  broker.child.kill('SIGHUP');
  await waitForServiceGone(late, 'echo', 10_000);
  await broker.waitFor((l) => l.refused === 'serve echo');
  await rejectsWith(client2.call('echo', 'echo', ['after'], { timeoutMs: 300 }), 'AGORA_ERR_BUS_DISCONNECTED');
});

test('without CURVE the broker refuses a non-loopback address unless AGORA_BUS_INSECURE; CURVE needs its files', () => {
  const run = (env: Record<string, string>): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [entry('services/broker/main.js')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });
    return { status: r.status, stderr: r.stderr };
  };
  const open = run({ AGORA_BUS_URL: 'tcp://0.0.0.0:0' });
  assert.equal(open.status, 78, open.stderr);
  assert.match(open.stderr, /AGORA_BUS_INSECURE=true/);
  assert.match(open.stderr, /AGORA_BUS_CURVE=on/);
  const noAllow = run({
    AGORA_BUS_URL: 'tcp://127.0.0.1:0',
    AGORA_BUS_CURVE: 'on',
    AGORA_BUS_SERVER_CERT: '/nonexistent',
  });
  assert.equal(noAllow.status, 78, noAllow.stderr);
  assert.match(noAllow.stderr, /AGORA_BUS_SERVER_CERT \/nonexistent cannot be read/);
});

test('AGORA_BUS_INSECURE=true lets a broker without CURVE listen on every address', async (t) => {
  const broker = await startNode('services/broker/main.js', {
    env: { AGORA_BUS_URL: 'tcp://0.0.0.0:0', AGORA_BUS_INSECURE: 'true' },
  });
  t.after(() => broker.stop('SIGKILL'));
  assert.match(String(broker.endpoints.bus), /^tcp:\/\/0\.0\.0\.0:\d+$/);
});
