/**
 * auth as the Procfile runs it (broker + auth processes on free loopback ports), called
 * through the bus as the gateway calls it, and through session caches in this process as
 * channels and messages use them.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createClient, type BusClient } from '../../lib/bus/client';
import type { WatchDown__Output } from '../../lib/gen/agora/WatchDown';
import { createLogger } from '../../lib/log';
import { loadProto } from '../../lib/rpc/proto';
import { createSessionCache, type SessionCache } from '../../lib/session-cache';
import { MAX_SESSION_KEY, WATCH_LEASE_MS } from '../../lib/session-watch';
import { until, waitForService, waitForServiceGone } from '../helpers/bus';
import { startBroker, startNode, type Started } from '../helpers/proc';
import type { LogonReply__Output } from '../../lib/gen/agora/LogonReply';

type LogonReply = LogonReply__Output;

const IDLE_S = 2;
const log = createLogger('test', 'silent');
/** Short heartbeats so that the broker forgets a killed auth quickly. */
const HEARTBEAT = { AGORA_HEARTBEAT_MS: '200', AGORA_HEARTBEAT_LIVENESS: '3' };

/** Poll `ready` until it holds; fail after `ms` naming `what` (the helpers' `until`, with its subject first). */
function waitUntil(what: string, ms: number, ready: () => boolean | Promise<boolean>): Promise<void> {
  return until(async () => ready(), ms, what, 20);
}

function startAuth(bus: string, grpcUrl: string): Promise<Started> {
  return startNode('services/auth/main.js', {
    env: {
      ...HEARTBEAT,
      AGORA_BUS_URL: bus,
      AGORA_AUTH_GRPC_URL: grpcUrl,
      AGORA_SESSION_IDLE_S: String(IDLE_S),
      AGORA_LOGON_MAX_FAILURES: '3',
      AGORA_LOGON_LOCKOUT_S: '60',
    },
  });
}

/** A session cache as a service would hold it, watching (stream up, lease held) before it is returned. */
async function watchingCache(t: TestContext, authGrpcUrl: string): Promise<SessionCache> {
  const cache = createSessionCache({ authGrpcUrl, timeoutMs: 2000, log });
  t.after(() => cache.close());
  await waitUntil('the session cache to watch auth', 5000, () => cache.watching);
  return cache;
}

/** The rejection code of `promise` ('resolved' if it did not reject). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

/** The running broker and auth, and calls to auth over the bus. */
interface Rig {
  procs: Record<string, Started>;
  bus: string;
  authGrpc: string;
  client: BusClient;
  logon: (username: string, password?: string, client_addr?: string) => Promise<LogonReply>;
  logoff: (sesskey: number) => Promise<unknown>;
}

test('auth over the bus and through session caches', async (t) => {
  const procs: Record<string, Started> = {};
  t.after(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop('SIGKILL')));
  });
  procs.broker = await startBroker(HEARTBEAT);
  const bus = String(procs.broker.endpoints.bus);
  procs.auth = await startAuth(bus, '127.0.0.1:0');
  const authGrpc = String(procs.auth.endpoints.grpc);
  assert.match(authGrpc, /^127\.0\.0\.1:\d+$/);
  const client: BusClient = createClient({ endpoint: bus, timeoutMs: 5000, caller: 'test' });
  t.after(() => client.close());
  await waitForService(client, 'Auth', 5000);
  // Each logon from its own address unless the test names one (Auth refuses a logon without).
  let addrs = 0;
  const logon = (username: string, password = `pw-${username}`, client_addr = `198.18.0.${(addrs++ % 250) + 1}`) =>
    client.call<LogonReply>('Auth', 'Logon', [{ username, password, client_addr }]);
  const logoff = (sesskey: number) => client.call('Auth', 'Logoff', [{ sesskey }]);
  const rig: Rig = { procs, bus, authGrpc, client, logon, logoff };

  await t.test('Logon over the bus: created, then again; bad input, wrong password, throttling', () => logons(rig));
  await t.test('resolve through a cache: a miss, then hits; a forged key fails', (t) => cacheResolves(t, rig));
  await t.test('after Logoff has answered, the next resolve fails in every watcher', (t) => logoffEverywhere(t, rig));
  await t.test('a session unused for the idle time expires, also in the caches', (t) => idleExpiry(t, rig));
  await t.test('a session used only through a cache does not expire (touches reach auth)', (t) =>
    touchesKeepAlive(t, rig),
  );
  await t.test('a watcher that stops acking is cut off, and Logoff answers within the lease', () => silentWatcher(rig));
  await t.test('auth killed: caches drop everything and fail; auth back on the same port: they work again', (t) =>
    authKilled(t, rig),
  );
  await t.test('SIGTERM: auth ends the Watch streams, drains and exits 0', (t) => authStopped(t, rig));
});

async function logons(rig: Rig): Promise<void> {
  const { logon } = rig;
  const first = await logon('alice');
  assert.equal(first.created, true);
  assert.equal(first.username, 'alice');
  assert.ok(Number.isSafeInteger(first.sesskey) && first.sesskey >= 1 && first.sesskey <= MAX_SESSION_KEY);
  const again = await logon('alice');
  assert.equal(again.created, false);
  assert.notEqual(again.sesskey, first.sesskey);
  await assert.rejects(logon('alice', 'wrong'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS', errno: 105 });
  await assert.rejects(logon('no spaces please'), { code: 'AGORA_ERR_RPC_BAD_PARAMS', errno: 107 });
  await assert.rejects(logon('bob', ''), { code: 'AGORA_ERR_RPC_BAD_PARAMS', errno: 107 });
  for (const noAddr of [{}, { client_addr: '' }])
    await assert.rejects(rig.client.call('Auth', 'Logon', [{ username: 'bob', password: 'pw', ...noAddr }]), {
      code: 'AGORA_ERR_RPC_BAD_PARAMS',
      message: /client_addr/,
    });
  await logon('mallory', 'real');
  for (let i = 0; i < 3; i++)
    await assert.rejects(logon('mallory', 'guess', '203.0.113.9'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('mallory', 'real', '203.0.113.10'), {
    code: 'AGORA_ERR_AUTH_THROTTLED',
    errno: 117,
    message: /try again in 60 seconds/,
  });
}

async function cacheResolves(t: TestContext, rig: Rig): Promise<void> {
  const { authGrpc, client, logon } = rig;
  const cache = await watchingCache(t, authGrpc);
  const { sesskey } = await logon('carol');
  assert.equal(await cache.resolve(sesskey), 'carol');
  assert.deepEqual({ ...cache.stats }, { hits: 0, misses: 1, drops: 0 });
  assert.equal(await cache.resolve(sesskey), 'carol');
  assert.equal(await cache.resolve(sesskey), 'carol');
  assert.equal(cache.stats.hits, 2);
  assert.equal(cache.stats.misses, 1);
  for (const forged of [sesskey === MAX_SESSION_KEY ? 1 : sesskey + 1, 0, -5, 1.5, MAX_SESSION_KEY + 2]) {
    assert.equal(await codeOf(cache.resolve(forged)), 'AGORA_ERR_AUTH_BAD_SESSION', String(forged));
  }
  assert.equal(await codeOf(client.call('Auth', 'Resolve', [{ sesskey: sesskey + 1 }])), 'AGORA_ERR_AUTH_BAD_SESSION');
}

async function logoffEverywhere(t: TestContext, rig: Rig): Promise<void> {
  const { authGrpc, logon, logoff } = rig;
  const caches = [await watchingCache(t, authGrpc), await watchingCache(t, authGrpc)];
  // 1. Many rounds, each: logon, warm both caches (the second resolve is a hit), logoff, resolve at once.
  for (let round = 0; round < 25; round++) {
    const { sesskey } = await logon('dave');
    for (const cache of caches) {
      assert.equal(await cache.resolve(sesskey), 'dave');
      const hits = cache.stats.hits;
      assert.equal(await cache.resolve(sesskey), 'dave');
      assert.equal(cache.stats.hits, hits + 1, 'answered from the cache');
    }
    assert.deepEqual(await logoff(sesskey), { ok: true });
    for (const cache of caches)
      assert.equal(await codeOf(cache.resolve(sesskey)), 'AGORA_ERR_AUTH_BAD_SESSION', `round ${round}`);
  }
  // 2. Also when the logoff races resolves in flight (misses whose answers arrive around the invalidation).
  for (let round = 0; round < 25; round++) {
    const { sesskey } = await logon('erin');
    const racing = caches.map((c) => c.resolve(sesskey).catch(() => 'failed'));
    await logoff(sesskey);
    await Promise.all(racing);
    for (const cache of caches)
      assert.equal(await codeOf(cache.resolve(sesskey)), 'AGORA_ERR_AUTH_BAD_SESSION', `racing round ${round}`);
  }
  await assert.rejects(logoff(1), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
}

async function idleExpiry(t: TestContext, rig: Rig): Promise<void> {
  const { authGrpc, client, logon } = rig;
  const cache = await watchingCache(t, authGrpc);
  const { sesskey } = await logon('frank');
  assert.equal(await cache.resolve(sesskey), 'frank');
  const lastUse = Date.now();
  assert.equal(cache.size, 1);
  // 1. The signal: auth's invalidation reaches the cache and removes the entry (no lookup touches it).
  await waitUntil('the expiry to reach the cache', IDLE_S * 1000 + 10_000, () => cache.size === 0);
  assert.ok(
    Date.now() - lastUse >= IDLE_S * 1000 - 50,
    `expired after ${Date.now() - lastUse} ms, not before the idle time`,
  );
  assert.equal(cache.stats.drops, 0, 'removed by invalidation, not by a stream failure');
  assert.equal(await codeOf(cache.resolve(sesskey)), 'AGORA_ERR_AUTH_BAD_SESSION');
  assert.equal(await codeOf(client.call('Auth', 'Resolve', [{ sesskey }])), 'AGORA_ERR_AUTH_BAD_SESSION');
}

async function touchesKeepAlive(t: TestContext, rig: Rig): Promise<void> {
  const { authGrpc, client, logon, logoff } = rig;
  const cache = await watchingCache(t, authGrpc);
  const { sesskey, version } = await logon('grace');
  assert.equal(await cache.resolve(sesskey), 'grace');
  const misses = cache.stats.misses;
  // 1. Use it through the cache for 2.5 idle times, every 200 ms.
  const until = Date.now() + IDLE_S * 2500;
  while (Date.now() < until) {
    assert.equal(await cache.resolve(sesskey), 'grace');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(cache.stats.misses, misses, 'every use was a cache hit: only touches kept it alive at auth');
  // 2. auth itself still knows it.
  assert.deepEqual(
    await client.call('Auth', 'Resolve', [{ sesskey }]),
    { sesskey, username: 'grace', idle_s: IDLE_S, version },
    'the version of its logon',
  );
  await logoff(sesskey);
}

async function silentWatcher(rig: Rig): Promise<void> {
  const { authGrpc, logon, logoff } = rig;
  const Auth = loadProto('auth.proto').agora.Auth;
  const raw = new Auth(authGrpc, grpc.credentials.createInsecure());
  const stream = raw.Watch();
  const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
  // 1. Ack the hello and the first ping (so it holds a lease), then fall silent.
  let acked = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', (m: WatchDown__Output) => {
      if (acked < 2) stream.write({ ack: { seq: m.seq } });
      if (++acked === 2) resolve();
    });
  });
  const { sesskey } = await logon('heidi');
  const started = Date.now();
  assert.deepEqual(await logoff(sesskey), { ok: true });
  const took = Date.now() - started;
  assert.ok(took < WATCH_LEASE_MS + 1000, `Logoff took ${took} ms`);
  const err = await ended;
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.match(err.details, /cut off/);
  raw.close();
}

async function authKilled(t: TestContext, rig: Rig): Promise<void> {
  const { procs, bus, authGrpc, client, logon } = rig;
  const cache = await watchingCache(t, authGrpc);
  const { sesskey } = await logon('ivan');
  assert.equal(await cache.resolve(sesskey), 'ivan');
  assert.equal(await cache.resolve(sesskey), 'ivan');
  // 1. SIGKILL: no goodbye. The cache must stop answering from memory.
  await procs.auth.stop('SIGKILL');
  await waitUntil(
    'the cache to notice auth is gone',
    WATCH_LEASE_MS + 3000,
    async () => (await codeOf(cache.resolve(sesskey))) !== 'resolved',
  );
  assert.equal(await codeOf(cache.resolve(sesskey)), 'AGORA_ERR_RPC_UNAVAILABLE');
  assert.equal(cache.size, 0);
  assert.equal(cache.watching, false);
  assert.ok(cache.stats.drops >= 1);
  // 2. auth back on the same address; the broker has forgotten the dead worker first.
  await waitForServiceGone(client, 'Auth', 5000);
  procs.auth = await startAuth(bus, authGrpc);
  assert.equal(String(procs.auth.endpoints.grpc), authGrpc);
  await waitForService(client, 'Auth', 5000);
  await waitUntil('the cache to watch the new auth', 10_000, () => cache.watching);
  // 3. The old key died with the old process's memory; new logons resolve.
  assert.equal(await codeOf(cache.resolve(sesskey)), 'AGORA_ERR_AUTH_BAD_SESSION');
  const fresh = await logon('ivan');
  assert.equal(await cache.resolve(fresh.sesskey), 'ivan');
  const hits = cache.stats.hits;
  assert.equal(await cache.resolve(fresh.sesskey), 'ivan');
  assert.equal(cache.stats.hits, hits + 1);
}

async function authStopped(t: TestContext, rig: Rig): Promise<void> {
  const { procs, authGrpc } = rig;
  const cache = await watchingCache(t, authGrpc);
  const drops = cache.stats.drops;
  // Exit 0: a drain cut short by the grace timeout would exit 1.
  assert.equal(await procs.auth.stop('SIGTERM'), 0);
  await waitUntil('the cache to see the stream end', 5000, () => cache.stats.drops > drops);
  assert.equal(cache.watching, false);
}
