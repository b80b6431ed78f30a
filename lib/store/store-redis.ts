/**
 * The Redis adapters (AGORA_REDIS_URL): sessions, and the Broadcast that auth instances fan
 * session invalidations out on. Every key starts with AGORA_REDIS_PREFIX.
 *
 * A session is a hash `<prefix>session:<key>` {u: username, t: last use, v: version} whose
 * TTL is refreshed on every use (the version from the counter `<prefix>session-version`,
 * shared by every session), plus a member of the sorted set `<prefix>sessions` scored by last
 * use. The TTL is the safety net (nothing outlives it even if no auth runs); the sweep of
 * auth reads the sorted set's low end (O(log n + expired)), so that it learns which keys
 * ended and can tell the session caches. Each multi-key change is one Lua script, atomic
 * in Redis (the keys share no hash tag: a single Redis or a primary, not a cluster).
 */
import Redis from 'ioredis';
import type { Logger } from '../log';
import {
  timed,
  type BackendHealth,
  type Broadcast,
  type FailureRule,
  type FailureStore,
  type SessionRecord,
  type SessionStore,
  type Versioned,
} from './contracts';
import { unavailable } from './outage';

export interface RedisOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
  log: Logger;
}

/** Keys handled by one expire script run; more are taken by the next run. */
const EXPIRE_BATCH = 1000;

/** Answers the new session's version (from the shared counter KEYS[3]), or 0 when the key is taken. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local v = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'u', ARGV[1], 't', ARGV[2], 'v', v)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return v`;

/**
 * Sessions KEYS[2..] (their ids ARGV[4..]): answers {id, u, t, v} of each one found, as
 * found, and uses it at ARGV[1] unless idle ARGV[3] ms or more by then.
 */
const TOUCH = `
local at, ttl, idle = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 2, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'u', 't', 'v')
  if h[1] and h[2] then
    local t = tonumber(h[2])
    if t < at and at - t < idle then
      redis.call('HSET', KEYS[i], 't', ARGV[1])
      redis.call('PEXPIRE', KEYS[i], ttl)
      redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i + 2])
    end
    table.insert(out, {ARGV[i + 2], h[1], h[2], h[3] or '0'})
  end
end
return out`;

const DELETE = `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n`;

/** {1, version} when deleted; {0, version found} when not at ARGV[2]; {0, -1} when there is no such session. */
const DELETE_IF_VERSION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, -1} end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[2]) then return {0, v} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, v}`;

/** Members below the cut whose hash says otherwise (touched meanwhile) are rescored, not removed. */
const EXPIRE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[2] .. id
  local t = redis.call('HGET', k, 't')
  if t and tonumber(t) >= tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], t, id)
  else
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], id)
    table.insert(out, id)
  end
end
return {out, #ids}`;

/** The connection of a process, shared by its Redis stores. */
export class RedisConnection {
  readonly redis: Redis;

  constructor(readonly options: RedisOptions) {
    this.redis = connect(options);
  }

  /** Run a Lua script; an outage becomes AGORA_ERR_STORE_UNAVAILABLE. */
  async script<T>(lua: string, keys: string[], args: Array<string | number>): Promise<T> {
    return guard(() => this.redis.eval(lua, keys.length, ...keys, ...args) as Promise<T>);
  }

  async ping(): Promise<BackendHealth> {
    return timed('redis', () => guard(() => this.redis.ping()));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function connect(options: RedisOptions): Redis {
  const redis = new Redis(options.url, {
    connectTimeout: options.timeoutMs,
    commandTimeout: options.timeoutMs,
    // Fail a command after one reconnect attempt rather than queueing it for long.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Without a listener an outage would be an unhandled 'error' event; the commands fail on their own.
  let warned = false;
  redis.on('error', (err) => {
    if (!warned) options.log.warn({ err }, 'redis connection error');
    warned = true;
  });
  redis.on('ready', () => {
    warned = false;
  });
  return redis;
}

async function guard<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    // A ReplyError is Redis refusing a command we sent: a bug, not an outage.
    if ((e as Error).name === 'ReplyError') throw e;
    throw unavailable('Redis', e);
  }
}

export class RedisSessionStore implements SessionStore {
  private readonly index: string;
  private readonly counter: string;

  constructor(
    private readonly conn: RedisConnection,
    /**
     * TTL of a session key, refreshed on every use: longer than the idle limit, so that the
     * sweep normally ends sessions first.
     */
    private readonly ttlMs: number,
  ) {
    this.index = `${conn.options.prefix}sessions`;
    this.counter = `${conn.options.prefix}session-version`;
  }

  private key(sesskey: number): string {
    return `${this.conn.options.prefix}session:${sesskey}`;
  }

  async create(session: Omit<SessionRecord, 'version'>): Promise<number | undefined> {
    const v = await this.conn.script<number>(
      CREATE,
      [this.key(session.sesskey), this.index, this.counter],
      [session.username, session.lastUsed, this.ttlMs, session.sesskey],
    );
    return v === 0 ? undefined : v;
  }

  /** A session stored before versions existed has none: it reads as version 0. */
  async get(sesskey: number): Promise<SessionRecord | undefined> {
    const [u, t, v] = await guard(() => this.conn.redis.hmget(this.key(sesskey), 'u', 't', 'v'));
    return u === null || t === null
      ? undefined
      : { sesskey, username: u, lastUsed: Number(t), version: Number(v ?? 0) };
  }

  async touch(sesskeys: readonly number[], at: number, idleMs: number): Promise<SessionRecord[]> {
    if (sesskeys.length === 0) return [];
    const found = await this.conn.script<Array<[string, string, string, string]>>(
      TOUCH,
      [this.index, ...sesskeys.map((k) => this.key(k))],
      [at, this.ttlMs, idleMs, ...sesskeys],
    );
    return found.map(([sesskey, u, t, v]) => ({
      sesskey: Number(sesskey),
      username: u,
      lastUsed: Number(t),
      version: Number(v),
    }));
  }

  async deleteIfVersion(sesskey: number, version: number): Promise<Versioned> {
    const [done, found] = await this.conn.script<[number, number]>(
      DELETE_IF_VERSION,
      [this.key(sesskey), this.index],
      [sesskey, version],
    );
    return done === 1 ? { done: true, version: found } : { done: false, version: found < 0 ? undefined : found };
  }

  async delete(sesskey: number): Promise<boolean> {
    return (await this.conn.script<number>(DELETE, [this.key(sesskey), this.index], [sesskey])) === 1;
  }

  async expire(before: number): Promise<number[]> {
    const gone: number[] = [];
    for (;;) {
      const [out, seen] = await this.conn.script<[string[], number]>(
        EXPIRE,
        [this.index],
        [before, `${this.conn.options.prefix}session:`, EXPIRE_BATCH],
      );
      gone.push(...out.map(Number));
      if (seen < EXPIRE_BATCH) return gone;
    }
  }
}

/**
 * A Broadcast on Redis PUBLISH/SUBSCRIBE: one order for all subscribers. The subscribing
 * connection is its own; when it closes, `onGap` fires (what was published meanwhile is
 * lost) and ioredis reconnects and subscribes again.
 */
export class RedisBroadcast implements Broadcast {
  private subscriber: Redis | undefined;
  private readonly channel: string;

  constructor(
    private readonly conn: RedisConnection,
    topic: string,
  ) {
    this.channel = `${conn.options.prefix}${topic}`;
  }

  async publish(message: string): Promise<void> {
    await guard(() => this.conn.redis.publish(this.channel, message));
  }

  async subscribe(handlers: { onMessage(message: string): void; onGap(reason: string): void }): Promise<void> {
    const sub = connect(this.conn.options);
    this.subscriber = sub;
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) handlers.onMessage(message);
    });
    sub.on('close', () => handlers.onGap('subscription connection closed'));
    await guard(() => sub.subscribe(this.channel));
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

/**
 * One failure of KEYS[1] at ARGV[1] (window ARGV[2] ms, lock at ARGV[3] failures), the rule
 * of FailureStore in one atomic step; the hash expires once its window and lock are over.
 */
const FAIL = `
  local now, win, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
  local h = redis.call('HMGET', KEYS[1], 'n', 's', 'l')
  local n, s, l = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
  if n == nil or (l == 0 and now - s >= win) or (l ~= 0 and l <= now) then n, s, l = 0, now, 0 end
  n = n + 1
  if n >= max and l == 0 then l = now + win end
  redis.call('HSET', KEYS[1], 'n', n, 's', s, 'l', l)
  redis.call('PEXPIRE', KEYS[1], math.max(s + win, l) - now + 1000)
  return n`;

/** Failed logons in Redis, shared by every auth instance; keys expire by themselves. */
export class RedisFailureStore implements FailureStore {
  constructor(
    private readonly conn: RedisConnection,
    private readonly rule: FailureRule,
  ) {}

  private key(key: string): string {
    return `${this.conn.options.prefix}logon-failures:${key}`;
  }

  async retryAfterMs(key: string, now: number): Promise<number> {
    const locked = Number((await guard(() => this.conn.redis.hget(this.key(key), 'l'))) ?? 0);
    return locked > now ? locked - now : 0;
  }

  async fail(key: string, now: number): Promise<void> {
    await this.conn.script(FAIL, [this.key(key)], [now, this.rule.windowMs, this.rule.maxFailures]);
  }

  async reset(key: string): Promise<void> {
    await guard(() => this.conn.redis.del(this.key(key)));
  }

  /** Nothing to do: each key expires once its window and lock are over. */
  async prune(): Promise<void> {}
}
