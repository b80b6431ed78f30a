/**
 * CURVE across hosts (docs/SECURITY.md "Across machines"), simulated with two network
 * namespaces joined by a veth pair: the broker listens on its namespace's address with CURVE
 * on; echo, auth and the gateway run in the other namespace and reach it only over the veth.
 * A logon through the gateway (Auth.Logon, which only the gateway's key may call) and a Python
 * client's echo call cross it; a broker with CURVE off refuses that address. The namespaces
 * are removed afterwards. Needs root and iproute2.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { brokerEnv, initKeys, peerEnv } from '../helpers/curve-mesh';
import { entry, ROOT, skipOrFail, start, type Started } from '../helpers/proc';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Two namespaces and a veth pair between them, deleted after the test; their addresses. */
function namespaces(t: TestContext): { broker: string; peers: string; brokerIp: string } | undefined {
  if (process.getuid?.() !== 0) {
    skipOrFail(t, 'network namespaces need root', 'iproute2 (and running as root)');
    return undefined;
  }
  const tag = randomBytes(3).toString('hex');
  const broker = `agb${tag}`;
  const peers = `agp${tag}`;
  const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`;
  try {
    ip('netns', 'add', broker);
  } catch (e) {
    skipOrFail(t, `ip netns does not work here (${(e as Error).message.split('\n')[0]})`, 'iproute2');
    return undefined;
  }
  t.after(() => {
    for (const ns of [broker, peers]) spawnSync('ip', ['netns', 'del', ns]);
  });
  ip('netns', 'add', peers);
  ip('link', 'add', `${broker}v`, 'type', 'veth', 'peer', 'name', `${peers}v`);
  for (const [ns, dev, host] of [
    [broker, `${broker}v`, '1'],
    [peers, `${peers}v`, '2'],
  ]) {
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${subnet}.${host}/30`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  return { broker, peers, brokerIp: `${subnet}.1` };
}

/** Start a compiled entry point inside namespace `ns`. */
function startIn(t: TestContext, ns: string, relative: string, env: Record<string, string>): Promise<Started> {
  const started = start('ip', ['netns', 'exec', ns, process.execPath, entry(relative)], { env, cwd: ROOT });
  void started.then((p) => t.after(() => p.stop('SIGKILL'))).catch(() => undefined);
  return started;
}

/** Run a command inside namespace `ns`; its stdout. */
function runIn(ns: string, command: string[], env: Record<string, string> = {}): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

test('CURVE across two network namespaces: broker in one, echo, auth and the gateway in the other', async (t) => {
  const net = namespaces(t);
  if (net === undefined) return;
  const keys = initKeys(t);
  const bus = `tcp://${net.brokerIp}:5555`;

  // CURVE off: the broker refuses an address beyond loopback.
  const refused = spawnSync('ip', ['netns', 'exec', net.broker, process.execPath, entry('services/broker/main.js')], {
    cwd: ROOT,
    env: { ...process.env, AGORA_BUS_URL: bus },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(refused.status, 78, refused.stderr);
  assert.match(refused.stderr, /AGORA_BUS_INSECURE/);

  const broker = await startIn(t, net.broker, 'services/broker/main.js', { AGORA_BUS_URL: bus, ...brokerEnv(keys) });
  assert.equal(broker.endpoints.bus, bus);
  await startIn(t, net.peers, 'services/echo/main.js', { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') });
  await startIn(t, net.peers, 'services/auth/main.js', {
    AGORA_BUS_URL: bus,
    AGORA_AUTH_GRPC_URL: '127.0.0.1:0',
    ...peerEnv(keys, 'auth'),
  });
  const gateway = await startIn(t, net.peers, 'gateway/main.js', {
    AGORA_BUS_URL: bus,
    AGORA_HTTP_PORT: '0',
    ...peerEnv(keys, 'gateway'),
  });
  const http = String(gateway.endpoints.http);

  // A logon through the gateway: HTTP in the peers' namespace, Auth.Logon over CURVE to the broker and back.
  const script = `fetch(process.argv[1] + '/logon', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ann', password: 'secret' }) }).then((r) => r.text()).then((b) => console.log(b))`;
  let logon: { status?: boolean; data?: unknown } = {};
  for (let i = 0; i < 50 && logon.status !== true; i++) {
    logon = JSON.parse(runIn(net.peers, [process.execPath, '-e', script, http])) as typeof logon;
  }
  assert.equal(logon.status, true, JSON.stringify(logon));
  assert.equal(typeof logon.data, 'number');

  // The Python SDK's client, with the `client` key, calls echo across the namespaces.
  const python = '/usr/bin/python3';
  if (spawnSync(python, ['-c', 'import zmq, msgpack']).status !== 0) return;
  const out = runIn(net.peers, [python, 'workers/python/example_client.py', 'echo', 'echo', '"across"'], {
    AGORA_BUS_URL: bus,
    ...peerEnv(keys, 'client'),
  });
  assert.deepEqual(JSON.parse(out), { result: 'across' });
});
