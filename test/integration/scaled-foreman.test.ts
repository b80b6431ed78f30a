/**
 * The documented several-instances invocation (README "Several instances"): foreman runs
 * Procfile.scaled with two brokers and two instances of auth, channels and messages on shared
 * PostgreSQL and Redis, each binding its gRPC on foreman's PORT; every worker registers with both
 * brokers; a user logs on and posts through the gateway on foreman's PORT for it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { skipOrFail, startPostgres, startRedis, until } from '../helpers/backends';
import { ended, entry, freePort, labelledLine, ROOT, start } from '../helpers/proc';
import { legacy, logon } from '../helpers/scaled-mesh';
import { createClient } from '../../lib/bus/client';
import { peerMechanism } from '../../lib/bus/security';
import { defaultConfig } from '../../lib/config';

/** Whether `port` can be bound on loopback now. */
async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  // events.once rejects when 'error' comes first: the port is taken.
  const ok = await once(server, 'listening').then(
    () => true,
    () => false,
  );
  if (ok) {
    server.close();
    await once(server, 'close');
  }
  return ok;
}

/** Two bus endpoints on distinct free ports (freePort alone may answer the same port twice). */
async function brokerUrls(): Promise<string[]> {
  for (;;) {
    const ports = [await freePort(), await freePort()];
    if (ports[0] !== ports[1]) return ports.map((p) => `tcp://127.0.0.1:${p}`);
  }
}

/** Every worker registers with both brokers: each knows the same services, with their instances. */
async function registeredWithBoth(busUrls: string[], keys: string): Promise<void> {
  const mechanism = await peerMechanism({
    ...defaultConfig(),
    busCurve: 'on',
    busCert: `${keys}client.key_secret`,
    busServerKey: `${keys}broker.key`,
  });
  const wanted = ['Auth', 'Channels', 'Messages', 'Compute', 'Routes', 'driver.local'];
  const names = await Promise.all(
    busUrls.map(async (endpoint) => {
      const client = createClient({ endpoint, mechanism, timeoutMs: 5000 });
      try {
        await until(async () => {
          const known = (await client.services()).filter((s) => s.workers > 0).map((s) => s.name);
          return wanted.every((n) => known.includes(n));
        }, `every service registered with ${endpoint}`);
        return (await client.services()).map((s) => `${s.name}:${s.workers}`).sort();
      } finally {
        client.close();
      }
    }),
  );
  assert.deepEqual(names[0], names[1]);
  assert.ok(names[0].includes('Auth:2'), names[0].join(' '));
}

/** Where the kernel starts the ports it gives outgoing connections and servers bound to port 0. */
function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A foreman base port whose instance ports (base + 100 n + i, up to base + 999) are free, all below the
 * kernel's ephemeral range: no connection or server of another process can take one of them between
 * this check and foreman's start.
 */
async function freeBase(ports: number[]): Promise<number> {
  const bases = Math.max(1, Math.floor((ephemeralStart() - 1000 - 20_000) / 100));
  for (;;) {
    const base = 20_000 + 100 * Math.floor(Math.random() * bases);
    if ((await Promise.all(ports.map((p) => isFree(base + p)))).every(Boolean)) return base;
  }
}

test('foreman runs Procfile.scaled: two instances of auth, channels and messages on PostgreSQL and Redis', async (t) => {
  try {
    execFileSync('foreman', ['version'], { timeout: 10_000, stdio: 'ignore' });
  } catch (e) {
    skipOrFail(t, `foreman is not usable here (${(e as Error).message.split('\n')[0]})`, 'ruby-foreman');
    return;
  }
  const pg = await startPostgres(t);
  const redis = await startRedis(t);
  if (pg === undefined || redis === undefined) return;
  const base = await freeBase([100, 101, 200, 201, 300, 301, 400, 500, 600, 700, 800, 900]);
  // 1. scaled.env with this run's ports and servers.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-scaled-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, 'scaled.env');
  const shipped = readFileSync(path.join(ROOT, 'scaled.env'), 'utf8');
  const text = shipped
    .replace(/127\.0\.0\.1:5(\d)0(\d)/g, (_, n: string, i: string) => `127.0.0.1:${base + 100 * Number(n) + Number(i)}`)
    .replace(/^AGORA_DATABASE_URL=.*$/m, `AGORA_DATABASE_URL=${await pg.newDatabase()}`)
    .replace(/^AGORA_REDIS_URL=.*$/m, `AGORA_REDIS_URL=${redis.url}`)
    .replace(/^AGORA_PROXY_PORT=5900$/m, `AGORA_PROXY_PORT=${base + 900}`);
  // The bus runs CURVE from keys made as docs/SECURITY.md says, here in this run's directory:
  // the Procfile's `keys/` paths point there, its commands still run in the repository (-d).
  const keys = path.join(dir, 'keys') + path.sep;
  execFileSync(process.execPath, [entry('bin/agora.js'), 'keys', 'init', keys, '-f', 'Procfile.scaled'], { cwd: ROOT });
  const procfile = path.join(dir, 'Procfile.scaled');
  writeFileSync(procfile, readFileSync(path.join(ROOT, 'Procfile.scaled'), 'utf8').replaceAll('keys/', keys));
  const busUrls = await brokerUrls();
  assert.match(text, /^AGORA_BUS_URL=tcp:\/\/[^,\n]+,tcp:\/\/[^,\n]+$/m, 'scaled.env lists two brokers');
  writeFileSync(
    envFile,
    text.replace(/^AGORA_BUS_URL=.*$/m, `AGORA_BUS_URL=${busUrls.join(',')}`).replaceAll('keys/', keys),
  );

  // 2. foreman, as the README says, with this run's base port; ready once every instance is.
  const expected = [
    'broker.1',
    'auth.1',
    'auth.2',
    'channels.1',
    'channels.2',
    'messages.1',
    'messages.2',
    'compute.1',
    'gateway.1',
    'driver.1',
    'routes.1',
    'wake.1',
    'proxy.1',
    'broker2.1',
  ];
  const seen = new Set<string>();
  const foreman = await start(
    'foreman',
    [
      'start',
      ...['-f', procfile, '-d', ROOT, '-e', envFile, '-p', String(base)],
      ...['-m', 'all=1,auth=2,channels=2,messages=2'],
    ],
    {
      parse: labelledLine,
      isReady: (l) => {
        if (l.ready === true && typeof l.label === 'string') seen.add(l.label);
        return expected.every((label) => seen.has(label));
      },
      readyMs: 60_000,
    },
  );
  t.after(() => foreman.stop());
  const grpcOf = (label: string, name = 'grpc'): unknown =>
    (foreman.lines.find((l) => l.label === label && l.ready === true)?.endpoints as Record<string, unknown>)[name];
  for (const [i, label] of ['broker.1', 'broker2.1'].entries()) {
    assert.ok(
      foreman.lines.some((l) => l.label === label && l.msg === 'CURVE on'),
      `${label} runs CURVE`,
    );
    assert.equal(grpcOf(label, 'bus'), busUrls[i], `${label} binds its own endpoint of the list`);
  }
  await registeredWithBoth(busUrls, keys);
  assert.equal(grpcOf('auth.2'), `127.0.0.1:${base + 101}`);
  assert.equal(grpcOf('messages.1'), `127.0.0.1:${base + 300}`);

  // 3. Through the gateway on its foreman PORT.
  const gateway = `http://127.0.0.1:${base + 500}`;
  const key = await logon(gateway, 'ann');
  assert.equal((await legacy(gateway, '/create', { sesskey: key, channel: 'general' })).status, true);
  for (let i = 0; i < 6; i++)
    assert.equal((await legacy(gateway, '/post', { sesskey: key, channel: 'general', message: `m${i}` })).status, true);
  assert.deepEqual(await legacy(gateway, '/lastmessage', { sesskey: key, channel: 'general' }), {
    status: true,
    data: 6,
  });
  // 4. foreman's SIGTERM reaches every instance itself (the Procfile `exec`s node after its
  //    assignment, else the shell would die and leave node running), so none outlives it.
  const pids = foreman.lines.filter((l) => l.msg === 'ready' && typeof l.pid === 'number').map((l) => l.pid as number);
  assert.equal(pids.length, expected.length, 'one logged ready line, with its pid, per instance');
  assert.equal(await foreman.stop(), 0);
  const running = (): number[] => pids.filter((pid) => !ended(pid));
  await until(async () => running().length === 0, 'the instances to exit', 5000).catch(() => undefined);
  assert.deepEqual(running(), [], 'instances still running after foreman stopped');
});
