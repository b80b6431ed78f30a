/**
 * Idempotency keys in Redis, shared by every gateway on it: one string key per entry,
 * `<prefix>idempotency:<scope>:<key>` (the scope URI-encoded, so it holds no `:`), which Redis
 * expires by itself. A claim is `SET … NX PX <lease>`, so of concurrent claims exactly one sets
 * it; the value is `R:<token>:<fingerprint>` while the request runs, then
 * `D:<fingerprint>:<answer as JSON>` for the time to live. Completing and releasing compare the
 * token in a Lua script, atomic in Redis.
 */
import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, IdempotentResponse } from './contracts';
import { guard, type RedisConnection } from './redis-connection';

/** Claims tried when the entry that refused one is gone (expired or released) before it is read. */
const ATTEMPTS = 5;

/**
 * If KEYS[1] still holds the claim ARGV[1] (the head of its value, `R:<token>:`), replace it by
 * `D:<its fingerprint>:<ARGV[2]>` for ARGV[3] ms.
 */
const COMPLETE = `
local v = redis.call('GET', KEYS[1])
if v == false or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'D:' .. string.sub(v, #ARGV[1] + 1) .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1`;

/** Delete KEYS[1] if it still holds the claim ARGV[1]. */
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if v == false or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(private readonly conn: RedisConnection) {}

  private id(scope: string, key: string): string {
    return `${this.conn.options.prefix}idempotency:${encodeURIComponent(scope)}:${key}`;
  }

  async claim(
    scope: string,
    key: string,
    fingerprint: string,
    _now: number,
    leaseMs: number,
  ): Promise<IdempotencyClaim> {
    const id = this.id(scope, key);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const token = randomUUID();
      const set = await guard(() => this.conn.redis.set(id, `R:${token}:${fingerprint}`, 'PX', leaseMs, 'NX'));
      if (set === 'OK') return { state: 'claimed', token };
      const [[, value], [, ttl]] = (await guard(() => this.conn.redis.multi().get(id).pttl(id).exec())) as [
        [unknown, string | null],
        [unknown, number],
      ];
      if (value === null) continue;
      if (value.startsWith('D:')) {
        const colon = value.indexOf(':', 2);
        const response = JSON.parse(value.slice(colon + 1)) as IdempotentResponse;
        return { state: 'done', fingerprint: value.slice(2, colon), response };
      }
      const fingerprintOf = value.slice(value.indexOf(':', 2) + 1);
      return { state: 'running', fingerprint: fingerprintOf, retryAfterMs: Math.max(ttl, 0) };
    }
    throw new Error(`idempotency key claimed and freed ${ATTEMPTS} times in a row: ${JSON.stringify([scope, key])}`);
  }

  async complete(
    scope: string,
    key: string,
    token: string,
    response: IdempotentResponse,
    _now: number,
    ttlMs: number,
  ): Promise<boolean> {
    const answer = JSON.stringify(response);
    return (await this.conn.script<number>(COMPLETE, [this.id(scope, key)], [`R:${token}:`, answer, ttlMs])) === 1;
  }

  async release(scope: string, key: string, token: string): Promise<void> {
    await this.conn.script<number>(RELEASE, [this.id(scope, key)], [`R:${token}:`]);
  }

  /** Nothing to do: Redis expires each entry by itself. */
  async prune(): Promise<number> {
    return 0;
  }
}
