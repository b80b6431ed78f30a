/**
 * The auth handlers in-process over the memory stores, called directly as lib/rpc would
 * call them; time comes from an injected clock (no sleeps). The Watch hub is driven with a
 * fake stream and t.mock.timers.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { WatchDown } from '../../lib/gen/agora/WatchDown';
import { createLogger } from '../../lib/log';
import type { RpcContext } from '../../lib/rpc/service';
import { MAX_SESSION_KEY } from '../../lib/session-watch';
import { MemoryFailureStore, MemorySessionStore, MemoryUserStore } from '../../lib/store/store-memory';
import { passwordProblem, usernameProblem } from '../../services/auth/credentials';
import { buildAuth, type AuthConfig, type AuthDeps } from '../../services/auth/handlers';
import { drawSessionKey } from '../../services/auth/sessions';
import { WatchHub, type WatchCall } from '../../services/auth/watch';

const log = createLogger('test', 'silent');
const ctx: RpcContext = { service: 'Auth', method: 'test', log };
const CONFIG: AuthConfig = { openRegistration: true, sessionIdleS: 60, logonMaxFailures: 3, logonLockoutS: 30 };

/** A fresh client address (a documentation range, RFC 5737) for each logon that names none. */
let addrs = 0;
const nextAddr = (): string => `198.18.${Math.floor(addrs / 250) % 250}.${(addrs++ % 250) + 1}`;

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function setup(t: TestContext, overrides: Partial<AuthConfig> = {}, extra: Partial<AuthDeps> = {}) {
  const clock = manualClock();
  const users = new MemoryUserStore();
  const sessions = new MemorySessionStore();
  const config = { ...CONFIG, ...overrides };
  const failures = new MemoryFailureStore({
    maxFailures: config.logonMaxFailures,
    windowMs: config.logonLockoutS * 1000,
  });
  const auth = buildAuth({ users, sessions, failures, config, log, now: clock.now, ...extra });
  t.after(() => auth.close());
  const h = auth.impl.handlers;
  // Each logon from its own address unless the test names one: only the user's failures add up.
  const logon = (username: string, password: string, client_addr = nextAddr()) =>
    h.Logon({ username, password, client_addr }, ctx) as Promise<{
      sesskey: number;
      username: string;
      created: boolean;
      version: number;
    }>;
  const resolve = (sesskey: number) =>
    h.Resolve({ sesskey }, ctx) as Promise<{ sesskey: number; username: string; idle_s: number; version: number }>;
  const logoff = async (sesskey: number) => h.Logoff({ sesskey, check_version: false, expected_version: 0 }, ctx);
  return { auth, users, sessions, clock, logon, resolve, logoff };
}

test('logon creates the user, then the right password logs on again with a new key', async (t) => {
  const { logon, resolve } = setup(t);
  const first = await logon('ann', 's3cret');
  assert.equal(first.created, true);
  assert.equal(first.username, 'ann');
  const second = await logon('ann', 's3cret');
  assert.equal(second.created, false);
  assert.notEqual(second.sesskey, first.sesskey);
  assert.notEqual(second.version, first.version, 'each session its own version');
  assert.deepEqual(await resolve(first.sesskey), {
    sesskey: first.sesskey,
    username: 'ann',
    idle_s: 60,
    version: first.version,
  });
  assert.deepEqual(await resolve(second.sesskey), {
    sesskey: second.sesskey,
    username: 'ann',
    idle_s: 60,
    version: second.version,
  });
});

test('Logoff with check_version ends the session only at its version; racers: one ends it, the others find the key dead', async (t) => {
  const { logon, resolve, auth } = setup(t);
  const { sesskey, version } = await logon('ann', 's3cret');
  const at = (expected_version: number) =>
    Promise.resolve(auth.impl.handlers.Logoff({ sesskey, check_version: true, expected_version }, ctx));
  await assert.rejects(at(version + 1), {
    code: 'AGORA_ERR_SESSION_STALE',
    errno: 114,
    status: 412,
    data: { info: `current ETag: "${version}"` },
  });
  assert.equal((await resolve(sesskey)).username, 'ann', 'a stale logoff ends nothing');
  const answers = await Promise.allSettled(Array.from({ length: 8 }, () => at(version)));
  assert.equal(answers.filter((a) => a.status === 'fulfilled').length, 1, 'exactly one logoff');
  for (const a of answers)
    if (a.status === 'rejected') assert.equal((a.reason as { code: string }).code, 'AGORA_ERR_AUTH_BAD_SESSION');
  await assert.rejects(resolve(sesskey), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
});

test('a wrong password fails with AGORA_ERR_AUTH_BAD_CREDENTIALS', async (t) => {
  const { logon } = setup(t);
  await logon('bob', 'right');
  await assert.rejects(logon('bob', 'wrong'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS', errno: 105, status: 401 });
  await assert.rejects(logon('bob', 'Right'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
});

test('closed registration refuses unknown users but lets known ones in', async (t) => {
  const open = setup(t);
  await open.logon('known', 'pw');
  const failures = new MemoryFailureStore({
    maxFailures: CONFIG.logonMaxFailures,
    windowMs: CONFIG.logonLockoutS * 1000,
  });
  const closed = buildAuth({
    users: open.users,
    sessions: open.sessions,
    failures,
    config: { ...CONFIG, openRegistration: false },
    log,
  });
  t.after(() => closed.close());
  const logon = async (username: string, password: string) =>
    closed.impl.handlers.Logon({ username, password, client_addr: nextAddr() }, ctx);
  await assert.rejects(logon('stranger', 'pw'), (err: Error & { code?: string; errno?: number }) => {
    assert.equal(err.code, 'AGORA_ERR_AUTH_UNKNOWN_USER');
    assert.equal(err.errno, 105);
    assert.match(err.message, /stranger/);
    return true;
  });
  assert.equal(await open.users.get('stranger'), undefined);
  assert.equal(((await logon('known', 'pw')) as { created: boolean }).created, false);
});

test('usernames and passwords are validated with AGORA_ERR_RPC_BAD_PARAMS', async (t) => {
  const { logon } = setup(t);
  for (const ok of ['a', 'x'.repeat(64), 'ann.smith@example.org', 'A_b-9']) assert.equal(usernameProblem(ok), null, ok);
  for (const bad of ['', 'x'.repeat(65), 'with space', 'ünï', 'a/b', 'tab\t']) {
    assert.notEqual(usernameProblem(bad), null, JSON.stringify(bad));
    await assert.rejects(logon(bad, 'pw'), { code: 'AGORA_ERR_RPC_BAD_PARAMS', errno: 107 });
  }
  assert.equal(passwordProblem('😀'.repeat(256)), null, '256 characters, counted as code points');
  assert.notEqual(passwordProblem('x'.repeat(257)), null);
  await assert.rejects(logon('ann', ''), {
    code: 'AGORA_ERR_RPC_BAD_PARAMS',
    message: 'Invalid parameters: password must not be empty',
  });
  await assert.rejects(logon('ann', 'x'.repeat(257)), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'AGORA_ERR_RPC_BAD_PARAMS');
    assert.doesNotMatch(err.message, /xxx/, 'the password is never echoed');
    return true;
  });
});

test('a logon without a client address is refused with AGORA_ERR_RPC_BAD_PARAMS, and creates nobody', async (t) => {
  const { logon, users } = setup(t);
  for (const addr of ['', '   '])
    await assert.rejects(logon('newcomer', 'pw', addr), {
      code: 'AGORA_ERR_RPC_BAD_PARAMS',
      errno: 107,
      message: 'Invalid parameters: client_addr must name the address of the client logging on',
    });
  assert.equal(await users.get('newcomer'), undefined);
  assert.equal((await logon('newcomer', 'pw', '192.0.2.1')).created, true);
});

test('passwords are stored only as salted scrypt hashes', async (t) => {
  const { logon, users } = setup(t);
  await logon('u1', 'same-password');
  await logon('u2', 'same-password');
  const [u1, u2] = [(await users.get('u1'))!, (await users.get('u2'))!];
  for (const u of [u1, u2]) {
    assert.notEqual(u.hash, 'same-password');
    assert.ok(!Buffer.from(u.hash, 'base64').includes(Buffer.from('same-password')));
    assert.equal(Buffer.from(u.hash, 'base64').length, 64);
    assert.equal(Buffer.from(u.salt, 'base64').length, 16);
  }
  assert.notEqual(u1.salt, u2.salt, 'a salt per user');
  assert.notEqual(u1.hash, u2.hash, 'same password, different hashes');
});

test('throttling per user: locked after N failures, for the window, reset by a success', async (t) => {
  const { logon, clock } = setup(t);
  await logon('carl', 'good');
  // 1. Two failures, then a success: the counter starts over.
  await assert.rejects(logon('carl', 'bad'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('carl', 'bad'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await logon('carl', 'good');
  // 2. Three failures within the window lock the user, even from other addresses and with the right password.
  for (let i = 0; i < 3; i++)
    await assert.rejects(logon('carl', 'bad', `10.0.0.${i}`), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('carl', 'good', '10.0.0.9'), {
    code: 'AGORA_ERR_AUTH_THROTTLED',
    errno: 117,
    status: 429,
    message: 'Too many failed logons; try again in 30 seconds',
  });
  clock.advance(20_000);
  await assert.rejects(logon('carl', 'good'), { message: 'Too many failed logons; try again in 10 seconds' });
  // 3. Once the window has passed, the right password works again.
  clock.advance(10_000);
  assert.equal((await logon('carl', 'good')).username, 'carl');
});

test('throttling: failures spread wider than the window do not lock', async (t) => {
  const { logon, clock } = setup(t);
  await logon('dora', 'good');
  for (let i = 0; i < 6; i++) {
    await assert.rejects(logon('dora', 'bad'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
    clock.advance(16_000);
  }
  await logon('dora', 'good');
});

test('throttling per client address, across users', async (t) => {
  const { logon, clock } = setup(t, { openRegistration: false });
  // Unknown users (closed registration) and wrong passwords both count against the address.
  await assert.rejects(logon('nobody1', 'x', '198.51.100.7'), { code: 'AGORA_ERR_AUTH_UNKNOWN_USER' });
  await assert.rejects(logon('nobody2', 'x', '198.51.100.7'), { code: 'AGORA_ERR_AUTH_UNKNOWN_USER' });
  await assert.rejects(logon('nobody3', 'x', '198.51.100.7'), { code: 'AGORA_ERR_AUTH_UNKNOWN_USER' });
  await assert.rejects(logon('nobody4', 'x', '198.51.100.7'), {
    code: 'AGORA_ERR_AUTH_THROTTLED',
    message: /30 seconds/,
  });
  // Another address is not affected; after the window this one may try again.
  await assert.rejects(logon('nobody4', 'x', '198.51.100.8'), { code: 'AGORA_ERR_AUTH_UNKNOWN_USER' });
  clock.advance(30_000);
  await assert.rejects(logon('nobody4', 'x', '198.51.100.7'), { code: 'AGORA_ERR_AUTH_UNKNOWN_USER' });
});

test('throttling per address with wrong passwords of several existing users', async (t) => {
  const { logon } = setup(t);
  for (const u of ['e1', 'e2', 'e3', 'e4']) await logon(u, 'good', '203.0.113.1');
  await assert.rejects(logon('e1', 'bad', '203.0.113.1'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('e2', 'bad', '203.0.113.1'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('e3', 'bad', '203.0.113.1'), { code: 'AGORA_ERR_AUTH_BAD_CREDENTIALS' });
  await assert.rejects(logon('e4', 'good', '203.0.113.1'), { code: 'AGORA_ERR_AUTH_THROTTLED' });
  await logon('e4', 'good', '203.0.113.2');
});

test('concurrent wrong guesses for one user cannot outrun the lock', async (t) => {
  const { logon } = setup(t);
  await logon('fay', 'good');
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => logon('fay', 'bad')));
  const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'));
  assert.deepEqual(codes.filter((c) => c === 'AGORA_ERR_AUTH_BAD_CREDENTIALS').length, 3);
  assert.deepEqual(codes.filter((c) => c === 'AGORA_ERR_AUTH_THROTTLED').length, 7);
});

test('the in-memory failure table is bounded and prunes what is over', async () => {
  const throttle = new MemoryFailureStore({ maxFailures: 2, windowMs: 1000 }, 3);
  for (const key of ['a', 'b', 'c', 'd', 'e']) await throttle.fail(key, 0);
  assert.equal(throttle.size, 3);
  await throttle.fail('e', 10);
  assert.equal(await throttle.retryAfterMs('e', 10), 1000);
  assert.equal(await throttle.retryAfterMs('a', 10), 0, 'evicted first: the oldest');
  await throttle.prune(1000);
  assert.equal(throttle.size, 1, 'only the locked key is left');
  await throttle.prune(1010);
  assert.equal(throttle.size, 0);
});

test('sessions expire after the idle time without use; use refreshes them', async (t) => {
  const { logon, resolve, clock, auth } = setup(t, { sessionIdleS: 10 });
  const { sesskey } = await logon('gus', 'pw');
  const other = (await logon('gus', 'pw')).sesskey;
  // 1. Used just before the idle time: still valid, and the idle time restarts.
  clock.advance(9_999);
  assert.equal((await resolve(sesskey)).username, 'gus');
  clock.advance(9_999);
  assert.equal((await resolve(sesskey)).username, 'gus');
  // 2. `other` was not used for 19.998 s: expired, even before any sweep.
  await assert.rejects(resolve(other), { code: 'AGORA_ERR_AUTH_BAD_SESSION', errno: 105 });
  // 3. Exactly the idle time without use: expired; the sweep removes it.
  clock.advance(10_000);
  await assert.rejects(resolve(sesskey), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
  const third = (await logon('gus', 'pw')).sesskey;
  clock.advance(10_000);
  assert.equal(await auth.sweep(), 1);
  await assert.rejects(resolve(third), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
});

test('logoff ends the session; unknown and forged keys fail', async (t) => {
  const { logon, resolve, logoff } = setup(t);
  const { sesskey } = await logon('hal', 'pw');
  assert.deepEqual(await logoff(sesskey), { ok: true });
  await assert.rejects(resolve(sesskey), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
  await assert.rejects(logoff(sesskey), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
  for (const forged of [0, -1, 1.5, MAX_SESSION_KEY, 12345]) {
    await assert.rejects(resolve(forged), { code: 'AGORA_ERR_AUTH_BAD_SESSION' }, String(forged));
    await assert.rejects(logoff(forged), { code: 'AGORA_ERR_AUTH_BAD_SESSION' }, String(forged));
  }
});

test('session keys are integers in [1, 2^53−1], redrawn on collision', async (t) => {
  let top = 0;
  for (let i = 0; i < 20_000; i++) {
    const key = drawSessionKey();
    assert.ok(Number.isSafeInteger(key) && key >= 1 && key <= MAX_SESSION_KEY, String(key));
    if (key > 2 ** 52) top++;
  }
  assert.ok(top > 9000 && top < 11000, `about half the keys use the 53rd bit (${top} of 20000)`);
  const draws = [5, 5, 5, 9];
  const { logon } = setup(t, {}, { drawKey: () => draws.shift()! });
  assert.equal((await logon('ivy', 'pw')).sesskey, 5);
  assert.equal((await logon('ivy', 'pw')).sesskey, 9);
});

/** A fake server-side Watch stream: records writes, can be fed acks and touches. */
class FakeCall extends EventEmitter {
  readonly written: WatchDown[] = [];
  ended = false;
  error: { code: number; details: string } | undefined;
  constructor() {
    super();
    this.on('error', (e: { code: number; details: string }) => {
      this.error = e;
    });
  }
  getPeer(): string {
    return 'fake:1';
  }
  write(message: WatchDown): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  ack(seq: number): void {
    this.emit('data', { ack: { seq }, kind: 'ack' });
  }
  last(): WatchDown {
    return this.written[this.written.length - 1];
  }
}

test('Watch hub: hello, lease pings, invalidation waits for the ack, a silent watcher is cut off', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  let now = 0;
  const tick = (ms: number) => {
    now += ms;
    t.mock.timers.tick(ms);
  };
  const touched: number[][] = [];
  const hub = new WatchHub({
    log,
    onTouch: (keys) => touched.push(keys),
    leaseMs: 1500,
    pingMs: 250,
    clock: () => now,
  });
  t.after(() => hub.close());
  const call = new FakeCall();
  hub.attach(call as unknown as WatchCall);
  // 1. hello first; a watcher that never acked holds no lease, so invalidation does not wait for it.
  assert.deepEqual(call.written, [{ seq: 0, hello: true }]);
  await hub.invalidate([7]);
  // 2. Its ack brings the next message at once (the queued key), acks keep pings coming.
  call.ack(0);
  assert.deepEqual(call.last(), { seq: 1, invalidate: [7] });
  call.ack(1);
  tick(500);
  assert.deepEqual(call.last(), { seq: 2, invalidate: [] }, 'a ping');
  call.ack(2);
  // 3. An invalidation resolves only on its ack.
  let done = false;
  const pending = hub.invalidate([11, 12]).then(() => (done = true));
  assert.deepEqual(call.last(), { seq: 3, invalidate: [11, 12] });
  await Promise.resolve();
  assert.equal(done, false);
  call.ack(3);
  await pending;
  // 4. Touches are passed on.
  call.emit('data', { touch: { sesskeys: [11, 12] }, kind: 'touch' });
  assert.deepEqual(touched, [[11, 12]]);
  // 5. No ack: once the lease from its last ack has run out, it is cut off and the invalidation answers.
  done = false;
  const stuck = hub.invalidate([13]).then(() => (done = true));
  tick(1000);
  await Promise.resolve();
  assert.equal(done, false);
  assert.equal(call.error, undefined);
  tick(600);
  await stuck;
  assert.equal((call.error as { code: number } | undefined)?.code, 14, 'UNAVAILABLE');
  assert.equal(hub.size, 0);
});

test('Watch hub: a watcher that disconnects still counts until its lease has run out', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  let now = 0;
  const hub = new WatchHub({ log, onTouch: () => undefined, leaseMs: 1500, pingMs: 250, clock: () => now });
  t.after(() => hub.close());
  const call = new FakeCall();
  hub.attach(call as unknown as WatchCall);
  call.ack(0);
  call.ack(1);
  call.emit('cancelled');
  assert.equal(hub.size, 0);
  let done = false;
  const pending = hub.invalidate([1]).then(() => (done = true));
  now += 1000;
  t.mock.timers.tick(1000);
  await Promise.resolve();
  assert.equal(done, false);
  now += 600;
  t.mock.timers.tick(600);
  await pending;
});

test('Watch hub: a watcher that half-closes (cache dropped) is not waited for', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const hub = new WatchHub({ log, onTouch: () => undefined, leaseMs: 1500, pingMs: 250, clock: () => 0 });
  t.after(() => hub.close());
  const call = new FakeCall();
  hub.attach(call as unknown as WatchCall);
  call.ack(0);
  call.ack(1);
  let done = false;
  const pending = hub.invalidate([1]).then(() => (done = true));
  call.emit('end');
  await pending;
  assert.equal(done, true);
  assert.equal(call.ended, true, 'auth ends its side too');
});

test('a watcher that touches a key auth no longer holds (an invalidation it missed) is told to drop it', async (t) => {
  const { auth, sessions, logon } = setup(t);
  const { sesskey } = await logon('zed', 'pw');
  const call = new FakeCall();
  (auth.impl.grpcOnly as { Watch(call: WatchCall): void }).Watch(call as unknown as WatchCall);
  call.ack(0);
  assert.deepEqual(call.last(), { seq: 1, invalidate: [] }, 'the first ping, right after the hello');
  call.ack(1);
  // 1. The session goes without this watcher hearing of it.
  assert.equal(await sessions.delete(sesskey), true);
  // 2. Its cache answered for the key meanwhile, and says so.
  call.emit('data', { touch: { sesskeys: [sesskey] }, kind: 'touch' });
  for (let i = 0; i < 50 && call.written.length < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(call.last(), { seq: 2, invalidate: [sesskey] });
  call.ack(2);
});

test('Logoff succeeds once the session is deleted even when the invalidation cannot be published to the other instances', async (t) => {
  let published = 0;
  const broadcast = {
    publish: async () => {
      published++;
      throw new Error('broadcast backend unreachable');
    },
    subscribe: async () => undefined,
    close: async () => undefined,
  };
  const { logon, logoff, sessions } = setup(t, {}, { broadcast });
  const { sesskey } = await logon('ann', 's3cret');
  assert.deepEqual(await logoff(sesskey), { ok: true }, 'the session is gone: the logoff happened');
  assert.ok(published >= 1, 'the invalidation was tried');
  assert.equal(await sessions.get(sesskey), undefined);
  await assert.rejects(Promise.resolve(logoff(sesskey)), { code: 'AGORA_ERR_AUTH_BAD_SESSION' });
});
