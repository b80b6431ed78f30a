/**
 * The Redis connection of a process, shared by its Redis adapters (./store-redis.ts,
 * ./routes-redis.ts): one ioredis client with the store deadline (AGORA_STORE_TIMEOUT_MS), Lua
 * scripts, and the rule that turns an outage into AGORA_ERR_STORE_UNAVAILABLE (the client
 * reconnects by itself). Every key starts with AGORA_REDIS_PREFIX.
 */
import Redis from 'ioredis';
import type { Logger } from '../log';
import { timed, type BackendHealth } from './contracts';
import { unavailable } from './outage';

export interface RedisOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
  log: Logger;
}

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

/** A new ioredis client with the store's deadline, reconnecting by itself, logging an outage once. */
export function connect(options: RedisOptions): Redis {
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

/** Run a command; an outage becomes AGORA_ERR_STORE_UNAVAILABLE, a refused command stays what it is (a bug). */
export async function guard<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    // A ReplyError is Redis refusing a command we sent: a bug, not an outage.
    if ((e as Error).name === 'ReplyError') throw e;
    throw unavailable('Redis', e);
  }
}
