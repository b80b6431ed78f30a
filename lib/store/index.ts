/**
 * Picks and opens the storage adapters from the configuration (no adapter is imported
 * outside a main.ts or this index: CONTRIBUTING.md "Dependency direction").
 * AGORA_DATABASE_URL puts users, channels, messages and compute nodes in PostgreSQL;
 * AGORA_REDIS_URL puts sessions, failed logons, routes and idempotency keys in Redis, else they
 * follow the database; with neither, everything stays in this process's memory.
 */
import type { Config } from '../config';
import type { Logger } from '../log';
import { HealthChecks } from '../health';
import type {
  BackendHealth,
  Broadcast,
  ChannelStore,
  FailureStore,
  IdempotencyStore,
  MessageStore,
  NodeStore,
  RouteStore,
  SessionStore,
  UserStore,
} from './contracts';
import {
  MemoryChannelStore,
  MemoryFailureStore,
  MemoryMessageStore,
  MemoryNodeStore,
  MemorySessionStore,
  MemoryUserStore,
} from './store-memory';
import { MemoryIdempotencyStore } from './idempotency-memory';
import { PgIdempotencyStore } from './idempotency-postgres';
import { RedisIdempotencyStore } from './idempotency-redis';
import { PgBroadcast } from './postgres-broadcast';
import { PgDatabase } from './postgres-pool';
import { PgChannelStore, PgFailureStore, PgNodeStore, PgSessionStore, PgUserStore } from './store-postgres';
import { PgMessageStore } from './messages-postgres';
import { MemoryRouteStore } from './routes-memory';
import { PgRouteStore } from './routes-postgres';
import { RedisRouteStore } from './routes-redis';
import { RedisBroadcast, RedisConnection, RedisFailureStore, RedisSessionStore } from './store-redis';

export type Backend = 'memory' | 'postgres' | 'redis';

export interface AllStores {
  users: UserStore;
  sessions: SessionStore;
  channels: ChannelStore;
  messages: MessageStore;
  nodes: NodeStore;
  /** Failed logons (auth's throttle): with the sessions, so that every auth instance counts them together. */
  failures: FailureStore;
  /** Custom routes and node targets (services/routes), with their topic of changes. */
  routes: RouteStore;
  /** Idempotency keys and the answers they stand for (the gateway's, gateway/hooks/idempotency.ts). */
  idempotency: IdempotencyStore;
}

export type StoreKind = keyof AllStores;

type StoreConfig = Pick<
  Config,
  | 'databaseUrl'
  | 'databasePoolMax'
  | 'redisUrl'
  | 'redisPrefix'
  | 'storeTimeoutMs'
  | 'sessionIdleS'
  | 'logonMaxFailures'
  | 'logonLockoutS'
>;

/** The kinds that Redis keeps when it is configured. */
const REDIS_KINDS: ReadonlySet<StoreKind> = new Set<StoreKind>(['sessions', 'failures', 'routes', 'idempotency']);

/** The backend that keeps `kind` under `config`. */
export function resolve(kind: StoreKind, config: StoreConfig): Backend {
  if (REDIS_KINDS.has(kind) && config.redisUrl !== '') return 'redis';
  return config.databaseUrl !== '' ? 'postgres' : 'memory';
}

/** What a process holds open: its stores, a health check per backend, one close. */
export interface OpenStores {
  /** The backends in use, each once. */
  readonly backends: readonly Backend[];
  /**
   * A topic shared with the other processes (Redis if configured, else PostgreSQL);
   * undefined in memory, where there are no others.
   */
  broadcast(topic: string): Broadcast | undefined;
  /** One answer per backend in use; never throws. */
  health(): Promise<BackendHealth[]>;
  /**
   * The same for the shared backends (not memory), as checks named after each (what a
   * service reports on HEALTH_METHOD).
   */
  checks(): HealthChecks;
  close(): Promise<void>;
}

/** A health answer as a check: a failure throws its reason. */
function failed(h: BackendHealth): void {
  if (!h.ok) throw new Error(h.error);
}

export interface OpenOptions {
  /**
   * The messages process's: where the `messages` topic is PostgreSQL's (`broadcast('messages')` without
   * Redis), the PostgreSQL message store announces what it stores on it itself, in the same transaction
   * (./messages-postgres.ts), and answers those appends `announced`.
   */
  announcePosts?: boolean;
}

/**
 * Open the stores of `kinds`, connecting to what they need; PostgreSQL's migrations run
 * first (several processes starting at once take turns on an advisory lock).
 */
export async function openStores<K extends StoreKind>(
  config: StoreConfig,
  log: Logger,
  kinds: readonly K[],
  options: OpenOptions = {},
): Promise<OpenStores & Pick<AllStores, K>> {
  const used = new Set(kinds.map((k) => resolve(k, config)));
  const opts = { timeoutMs: config.storeTimeoutMs, log: log.child({ mod: 'store' }) };
  const pg = used.has('postgres')
    ? new PgDatabase({ url: config.databaseUrl, poolMax: config.databasePoolMax, ...opts })
    : undefined;
  const redis = used.has('redis')
    ? new RedisConnection({ url: config.redisUrl, prefix: config.redisPrefix, ...opts })
    : undefined;
  const broadcasts: Broadcast[] = [];
  try {
    if (pg !== undefined) {
      const applied = await pg.migrate();
      if (applied.length > 0) opts.log.info({ applied }, 'database migrated');
    }
    const makers: { [P in StoreKind]: () => AllStores[P] } = {
      users: () => (pg ? new PgUserStore(pg) : new MemoryUserStore()),
      sessions: () =>
        redis
          ? new RedisSessionStore(redis, 2 * config.sessionIdleS * 1000)
          : pg
            ? new PgSessionStore(pg)
            : new MemorySessionStore(),
      channels: () => (pg ? new PgChannelStore(pg) : new MemoryChannelStore()),
      messages: () =>
        pg
          ? new PgMessageStore(pg, options.announcePosts === true && !redis ? 'agora_messages' : undefined)
          : new MemoryMessageStore(),
      nodes: () => (pg ? new PgNodeStore(pg) : new MemoryNodeStore()),
      routes: () => {
        if (redis !== undefined) {
          const topic = new RedisBroadcast(redis, 'routes');
          broadcasts.push(topic);
          return new RedisRouteStore(redis, topic);
        }
        if (pg !== undefined) {
          const topic = new PgBroadcast(pg, 'agora_routes');
          broadcasts.push(topic);
          return new PgRouteStore(pg, topic, 'agora_routes');
        }
        return new MemoryRouteStore();
      },
      idempotency: () =>
        redis ? new RedisIdempotencyStore(redis) : pg ? new PgIdempotencyStore(pg) : new MemoryIdempotencyStore(),
      failures: () => {
        const rule = { maxFailures: config.logonMaxFailures, windowMs: config.logonLockoutS * 1000 };
        return redis
          ? new RedisFailureStore(redis, rule)
          : pg
            ? new PgFailureStore(pg, rule)
            : new MemoryFailureStore(rule);
      },
    };
    const stores = Object.fromEntries(kinds.map((k) => [k, makers[k]()])) as Pick<AllStores, K>;
    return {
      ...stores,
      backends: [...used],
      broadcast: (topic) => {
        const b = redis ? new RedisBroadcast(redis, topic) : pg ? new PgBroadcast(pg, `agora_${topic}`) : undefined;
        if (b !== undefined) broadcasts.push(b);
        return b;
      },
      health: () =>
        Promise.all(
          [...used].map((b) =>
            b === 'postgres'
              ? pg!.ping()
              : b === 'redis'
                ? redis!.ping()
                : Promise.resolve({ backend: 'memory', ok: true, ms: 0 }),
          ),
        ),
      checks: () => {
        const checks = new HealthChecks();
        // Memory is part of the process: it works whenever the process answers at all.
        if (pg !== undefined) checks.add('postgres', () => pg.ping().then(failed));
        if (redis !== undefined) checks.add('redis', () => redis.ping().then(failed));
        return checks;
      },
      close: async () => {
        await Promise.all(broadcasts.map((b) => b.close()));
        await Promise.all([pg?.close(), redis?.close()]);
      },
    };
  } catch (e) {
    await Promise.all([pg?.close().catch(() => undefined), redis?.close()]);
    throw e;
  }
}
