/**
 * The auth service (seed 002 `/logon`, `/logoff`; session checks for the other services):
 * handlers for proto service `Auth`, served on the bus and on gRPC by lib/rpc, plus the
 * gRPC-only `Watch` stream that keeps the other services' session caches coherent
 * (./watch.ts, lib/session-cache.ts). State is reached only through UserStore and
 * SessionStore. This file reads no environment and listens on nothing (STYLE §1).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { AgoraError } from '../../lib/errors';
import type { Config } from '../../lib/config';
import type { AuthDefinition } from '../../lib/gen/agora/Auth';
import type { LogonRequest__Output } from '../../lib/gen/agora/LogonRequest';
import type { Logger } from '../../lib/log';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import { isSessionKey } from '../../lib/session-watch';
import type { Broadcast, FailureStore, SessionStore, UserRecord, UserStore } from '../../lib/store/contracts';
import { staleError } from '../../lib/etag';
import { InvalidationFanout } from './fanout';
import { WatchHub, type WatchHubOptions } from './watch';

/** Longest username, in characters. */
export const USERNAME_MAX = 64;
/** Longest password, in characters (Unicode code points). */
export const PASSWORD_MAX = 256;
/**
 * A username is 1 to 64 characters from ASCII letters, digits and `_ . - @` (so an e-mail
 * address fits). Case matters (`Ann` and `ann` are two users); nothing is trimmed.
 */
export const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** scrypt output length, bytes; the cost is node's default (N=16384, r=8, p=1). */
const HASH_BYTES = 64;
const SALT_BYTES = 16;
/** Longest client address kept as a throttle key (an IPv6 address with zone fits). */
const CLIENT_ADDR_MAX = 128;
/** Draws of a fresh session key before giving up (a collision among 2^53 keys is already rare). */
const KEY_DRAWS = 16;

export type AuthConfig = Pick<Config, 'openRegistration' | 'sessionIdleS' | 'logonMaxFailures' | 'logonLockoutS'>;

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  config: AuthConfig;
  log: Logger;
  /** Wall clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /** Session key source (tests inject one to force collisions). */
  drawKey?: () => number;
  /** Watch stream tuning (tests). */
  watch?: Pick<WatchHubOptions, 'leaseMs' | 'pingMs' | 'clock'>;
  /** Shared with the other auth instances, when there can be several (./fanout.ts). */
  broadcast?: Broadcast;
  /** Failed logons, per user and per client address: shared with the other auth instances when there can be several. */
  failures: FailureStore;
}

/**
 * The unary handlers. proto-loader types every method's `requestStream` as plain `boolean`,
 * so lib/rpc's Implementation<D> cannot tell the streaming `Watch` apart by type and would
 * demand it; it is served from `grpcOnly` instead, and lib/rpc skips it at run time.
 */
type UnaryHandlers = Omit<Implementation<AuthDefinition>, 'Watch'>;

/** The built service: what lib/rpc serves, and its background work. */
export interface Auth {
  impl: ServiceImpl<AuthDefinition>;
  /** Expire idle sessions now and tell the watchers; answers how many expired. */
  sweep(): Promise<number>;
  /** Open Watch streams. */
  readonly watchers: number;
  /** Resolves once the service may answer (with a broadcast: once it hears itself on it). */
  start(timeoutMs: number): Promise<void>;
  /** Stop the sweep timer and end every Watch stream. */
  close(): void;
}

/** A uniformly random integer in [1, 2^53−1], from 53 random bits (crypto.randomInt stops at 2^48). */
export function drawSessionKey(): number {
  for (;;) {
    const bytes = randomBytes(8);
    const key = (bytes.readUInt32BE(0) & 0x1f_ffff) * 2 ** 32 + bytes.readUInt32BE(4);
    if (key !== 0) return key;
  }
}

/** Why `username` is not acceptable, or null. */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'username must not be empty';
  if (username.length > USERNAME_MAX)
    return `username has ${username.length} characters, at most ${USERNAME_MAX} allowed`;
  if (!USERNAME.test(username)) return 'username may only hold letters A-Z a-z, digits and "_", ".", "-", "@"';
  return null;
}

/** Why `password` is not acceptable, or null (the password itself is never echoed). */
export function passwordProblem(password: string): string | null {
  if (password.length === 0) return 'password must not be empty';
  const length = password.length > 2 * PASSWORD_MAX ? password.length : [...password].length;
  if (length > PASSWORD_MAX) return `password has more than ${PASSWORD_MAX} characters`;
  return null;
}

/** scrypt of `password` with `salt`. */
export function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

/** Whether `password` is the user's, compared in constant time. */
export async function verifyPassword(password: string, user: UserRecord): Promise<boolean> {
  const expected = Buffer.from(user.hash, 'base64');
  const actual = await hashPassword(password, Buffer.from(user.salt, 'base64'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A fresh user record: random salt, scrypt hash, both base64. */
export async function newUser(username: string, password: string, now: number): Promise<UserRecord> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await hashPassword(password, salt);
  return { username, hash: hash.toString('base64'), salt: salt.toString('base64'), createdAt: now };
}

/** Run `fn` after every earlier call for the same key has finished (one logon per user at a time). */
function keyedQueue(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (key, fn) => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

/**
 * Build auth from its stores and config. Starts the expiry sweep (an unref'd timer,
 * every min(idle/4, 5 s)); `close()` stops it.
 */
export function buildAuth(deps: AuthDeps): Auth {
  const { users, sessions, config, log } = deps;
  const now = deps.now ?? Date.now;
  const drawKey = deps.drawKey ?? drawSessionKey;
  const idleMs = config.sessionIdleS * 1000;
  const { failures } = deps;
  const userKey = (username: string): string => `user:${username}`;
  const addrKey = (addr: string): string => `addr:${addr}`;
  const perUser = keyedQueue();
  const hub = new WatchHub({
    ...deps.watch,
    log: log.child({ mod: 'watch' }),
    onTouch: (keys) => void touchKeys(keys),
  });
  const fanout =
    deps.broadcast === undefined
      ? undefined
      : new InvalidationFanout({ broadcast: deps.broadcast, hub, log: log.child({ mod: 'fanout' }) });
  /** Empty every cache of `keys`: this instance's watchers, and every other instance's. */
  const invalidate = (keys: number[]): Promise<void> =>
    fanout === undefined ? hub.invalidate(keys) : fanout.invalidate(keys);
  const badSession = (): AgoraError => new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
  const expiredAt = (lastUsed: number, at: number): boolean => at - lastUsed >= idleMs;

  /** Delete sessions found expired outside a sweep, and tell the watchers. */
  async function expireKeys(keys: number[]): Promise<void> {
    const gone: number[] = [];
    for (const key of keys) if (await sessions.delete(key)) gone.push(key);
    if (gone.length > 0) await invalidate(gone);
  }

  /**
   * Keys a watcher answered from its cache: alive ones are refreshed, expired ones end, and
   * gone ones are invalidated again. A cache can only hold a gone key if an invalidation
   * never reached it (with several instances: a publish lost between two of them), so this
   * heals it within one touch period of its next use.
   */
  async function touchKeys(keys: number[]): Promise<void> {
    try {
      const at = now();
      const expired: number[] = [];
      const gone: number[] = [];
      const asked = keys.filter(isSessionKey);
      const found = new Map((await sessions.touch(asked, at, idleMs)).map((s) => [s.sesskey, s]));
      for (const key of asked) {
        const session = found.get(key);
        if (session === undefined) gone.push(key);
        else if (expiredAt(session.lastUsed, at)) expired.push(key);
      }
      if (expired.length > 0) await expireKeys(expired);
      if (gone.length > 0) await invalidate(gone);
    } catch (err) {
      log.error({ err }, 'touch failed');
    }
  }

  /** Refuse with AGORA_ERR_AUTH_THROTTLED while the user or the address is locked. */
  async function checkThrottle(username: string, addr: string, at: number): Promise<void> {
    const [byUser, byAddr] = await Promise.all([
      failures.retryAfterMs(userKey(username), at),
      addr === '' ? 0 : failures.retryAfterMs(addrKey(addr), at),
    ]);
    const waitMs = Math.max(byUser, byAddr);
    if (waitMs > 0)
      throw new AgoraError('AGORA_ERR_AUTH_THROTTLED', [Math.ceil(waitMs / 1000)], {
        data: { retryAfterS: Math.ceil(waitMs / 1000) },
      });
  }

  async function failed(username: string | undefined, addr: string): Promise<void> {
    const at = now();
    await Promise.all([
      username === undefined ? undefined : failures.fail(userKey(username), at),
      addr === '' ? undefined : failures.fail(addrKey(addr), at),
    ]);
  }

  /** A new session for `username` under a fresh random key, redrawn on collision. */
  async function openSession(username: string): Promise<{ sesskey: number; version: number }> {
    for (let i = 0; i < KEY_DRAWS; i++) {
      const sesskey = drawKey();
      const version = await sessions.create({ sesskey, username, lastUsed: now() });
      if (version !== undefined) return { sesskey, version };
    }
    throw new AgoraError('AGORA_ERR_INTERNAL', [], { message: `no free session key after ${KEY_DRAWS} draws` });
  }

  /** The user, created now (with this password) if unknown and registration is open. */
  async function findOrCreate(
    request: LogonRequest__Output,
    addr: string,
  ): Promise<{ user: UserRecord; created: boolean }> {
    const existing = await users.get(request.username);
    if (existing !== undefined) return { user: existing, created: false };
    if (!config.openRegistration) {
      await failed(undefined, addr);
      throw new AgoraError('AGORA_ERR_AUTH_UNKNOWN_USER', [request.username]);
    }
    return users.create(await newUser(request.username, request.password, now()));
  }

  async function logon(
    request: LogonRequest__Output,
    ctx: RpcContext,
  ): Promise<{ sesskey: number; username: string; created: boolean; version: number }> {
    const problem = usernameProblem(request.username) ?? passwordProblem(request.password);
    if (problem !== null) throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [problem]);
    const addr = request.client_addr.slice(0, CLIENT_ADDR_MAX);
    return perUser(request.username, async () => {
      await checkThrottle(request.username, addr, now());
      const { user, created } = await findOrCreate(request, addr);
      // `created` false with a fresh record means another instance created it first: verify anyway.
      if (!created && !(await verifyPassword(request.password, user))) {
        await failed(user.username, addr);
        ctx.log.info({ username: user.username, clientAddr: addr }, 'logon refused: wrong password');
        throw new AgoraError('AGORA_ERR_AUTH_BAD_CREDENTIALS');
      }
      await failures.reset(userKey(user.username));
      const { sesskey, version } = await openSession(user.username);
      ctx.log.info({ username: user.username, created, clientAddr: addr }, 'logon');
      return { sesskey, username: user.username, created, version };
    });
  }

  const handlers: UnaryHandlers = {
    Logon: (request, ctx) => logon(request, ctx),
    /**
     * Answers once no watcher of this instance can answer for the key any more, and no
     * watcher of another instance either unless the invalidation could not be published
     * (./fanout.ts: the logoff still succeeds, the session being gone; those caches heal).
     * With `check_version`, the session ends only if still at `expected_version`, checked
     * and deleted in one atomic step of the store (AGORA_ERR_SESSION_STALE otherwise); of
     * several such logoffs one ends it and the others find the key dead.
     */
    Logoff: async (request) => {
      const sesskey = request.sesskey;
      const session = isSessionKey(sesskey) ? await sessions.get(sesskey) : undefined;
      if (session === undefined) throw badSession();
      if (expiredAt(session.lastUsed, now())) {
        await expireKeys([sesskey]);
        throw badSession();
      }
      if (request.check_version) {
        const ended = await sessions.deleteIfVersion(sesskey, request.expected_version);
        if (!ended.done && ended.version === undefined) throw badSession();
        if (!ended.done) throw staleError('AGORA_ERR_SESSION_STALE', [request.expected_version], ended.version);
      } else if (!(await sessions.delete(sesskey))) throw badSession();
      await invalidate([sesskey]);
      return { ok: true };
    },
    /** Refreshes the session; an expired one fails at once, even before the sweep removes it. */
    Resolve: async (request) => {
      const sesskey = request.sesskey;
      const at = now();
      const [session] = isSessionKey(sesskey) ? await sessions.touch([sesskey], at, idleMs) : [];
      if (session === undefined) throw badSession();
      if (expiredAt(session.lastUsed, at)) {
        void expireKeys([sesskey]).catch((err: unknown) => log.error({ err }, 'expiry failed'));
        throw badSession();
      }
      return { sesskey, username: session.username, idle_s: config.sessionIdleS, version: session.version };
    },
  };

  let sweeping = false;
  async function sweep(): Promise<number> {
    if (sweeping) return 0;
    sweeping = true;
    try {
      const at = now();
      await failures.prune(at).catch((err: unknown) => log.warn({ err }, 'pruning failed logons failed'));
      // expire() removes lastUsed < before; a session is expired once at − lastUsed >= idleMs.
      const gone = await sessions.expire(at - idleMs + 1);
      if (gone.length > 0) {
        log.info({ expired: gone.length }, 'sessions expired');
        await invalidate(gone);
      }
      return gone.length;
    } finally {
      sweeping = false;
    }
  }
  const timer = setInterval(
    () => void sweep().catch((err: unknown) => log.error({ err }, 'sweep failed')),
    Math.min(idleMs / 4, 5000),
  );
  timer.unref();

  return {
    impl: {
      name: 'Auth',
      definition: loadProto('auth.proto').agora.Auth.service,
      handlers: handlers as Implementation<AuthDefinition>,
      grpcOnly: { Watch: (call: Parameters<WatchHub['attach']>[0]) => hub.attach(call) },
    },
    sweep,
    get watchers() {
      return hub.size;
    },
    start: async (timeoutMs) => {
      await fanout?.start(timeoutMs);
    },
    close: () => {
      clearInterval(timer);
      fanout?.close();
      hub.close();
    },
  };
}
