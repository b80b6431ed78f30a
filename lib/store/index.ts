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
import { MemoryRouteStore } from './routes-memory';
import type { PgDatabase } from './postgres-pool';
import type { RedisConnection } from './redis-connection';

/**
 * The PostgreSQL adapters, with pg, and the Redis ones, with ioredis, are loaded only by a process
 * whose configuration uses them: in memory neither library is loaded, which leaves some 10 MB of
 * resident memory unused (README.md "The parts").
 */
async function postgresAdapters() {
  const parts = await Promise.all([
    import('./postgres-pool'),
    import('./store-postgres'),
    import('./messages-postgres'),
    import('./routes-postgres'),
    import('./idempotency-postgres'),
    import('./postgres-broadcast'),
  ]);
  const [pool, stores, messages, routes, idempotency, broadcast] = parts;
  return { ...pool, ...stores, ...messages, ...routes, ...idempotency, ...broadcast };
}

async function redisAdapters() {
  const [stores, routes, idempotency] = await Promise.all([
    import('./store-redis'),
    import('./routes-redis'),
    import('./idempotency-redis'),
  ]);
  return { ...stores, ...routes, ...idempotency };
}

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

/** PostgreSQL's pool and Redis's connection, each with its adapters, where `used` names it. */
async function backends(
  used: ReadonlySet<Backend>,
  config: StoreConfig,
  opts: { timeoutMs: number; log: Logger },
): Promise<{
  pg?: Awaited<ReturnType<typeof postgresAdapters>> & { db: PgDatabase };
  redis?: Awaited<ReturnType<typeof redisAdapters>> & { db: RedisConnection };
}> {
  const [pg, redis] = await Promise.all([
    used.has('postgres') ? postgresAdapters() : undefined,
    used.has('redis') ? redisAdapters() : undefined,
  ]);
  return {
    pg: pg && {
      ...pg,
      db: new pg.PgDatabase({ url: config.databaseUrl, poolMax: config.databasePoolMax, ...opts }),
    },
    redis: redis && {
      ...redis,
      db: new redis.RedisConnection({ url: config.redisUrl, prefix: config.redisPrefix, ...opts }),
    },
  };
}

/** A health answer as a check: a failure throws its reason. */
function failed(h: BackendHealth): void {
  if (!h.ok) throw new Error(h.error);
}

export interface OpenOptions {
  /**
   * The messages process's: where the `messages` topic is PostgreSQL's (`broadcast('messages')` without
   * Redis), the PostgreSQL message store announces what it stores on it itself, in the same transaction
   * (./messages-postgres.ts), when a subscriber of the topic is listed (none: nothing to announce), and
   * answers those appends `announced`.
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
  const { pg, redis } = await backends(used, config, opts);
  const broadcasts: Broadcast[] = [];
  try {
    if (pg !== undefined) {
      const applied = await pg.db.migrate();
      if (applied.length > 0) opts.log.info({ applied }, 'database migrated');
    }
    const makers: { [P in StoreKind]: () => AllStores[P] } = {
      users: () => (pg ? new pg.PgUserStore(pg.db) : new MemoryUserStore()),
      sessions: () =>
        redis
          ? new redis.RedisSessionStore(redis.db, 2 * config.sessionIdleS * 1000)
          : pg
            ? new pg.PgSessionStore(pg.db)
            : new MemorySessionStore(),
      channels: () => (pg ? new pg.PgChannelStore(pg.db) : new MemoryChannelStore()),
      messages: () =>
        pg
          ? new pg.PgMessageStore(pg.db, options.announcePosts === true && !redis ? 'agora_messages' : undefined)
          : new MemoryMessageStore(),
      nodes: () => (pg ? new pg.PgNodeStore(pg.db) : new MemoryNodeStore()),
      routes: () => {
        if (redis !== undefined) {
          const topic = new redis.RedisBroadcast(redis.db, 'routes');
          broadcasts.push(topic);
          return new redis.RedisRouteStore(redis.db, topic);
        }
        if (pg !== undefined) {
          const topic = new pg.PgBroadcast(pg.db, 'agora_routes');
          broadcasts.push(topic);
          return new pg.PgRouteStore(pg.db, topic, 'agora_routes');
        }
        return new MemoryRouteStore();
      },
      idempotency: () =>
        redis
          ? new redis.RedisIdempotencyStore(redis.db)
          : pg
            ? new pg.PgIdempotencyStore(pg.db)
            : new MemoryIdempotencyStore(),
      failures: () => {
        const rule = { maxFailures: config.logonMaxFailures, windowMs: config.logonLockoutS * 1000 };
        return redis
          ? new redis.RedisFailureStore(redis.db, rule)
          : pg
            ? new pg.PgFailureStore(pg.db, rule)
            : new MemoryFailureStore(rule);
      },
    };
    const stores = Object.fromEntries(kinds.map((k) => [k, makers[k]()])) as Pick<AllStores, K>;
    return {
      ...stores,
      backends: [...used],
      broadcast: (topic) => {
        const b = redis
          ? new redis.RedisBroadcast(redis.db, topic)
          : pg
            ? // The appends announce on `messages` only while a subscriber is listed (./postgres-broadcast.ts).
              new pg.PgBroadcast(pg.db, `agora_${topic}`, topic === 'messages')
            : undefined;
        if (b !== undefined) broadcasts.push(b);
        return b;
      },
      health: () =>
        Promise.all(
          [...used].map((b) =>
            b === 'postgres'
              ? pg!.db.ping()
              : b === 'redis'
                ? redis!.db.ping()
                : Promise.resolve({ backend: 'memory', ok: true, ms: 0 }),
          ),
        ),
      checks: () => {
        const checks = new HealthChecks();
        // Memory is part of the process: it works whenever the process answers at all.
        if (pg !== undefined) checks.add('postgres', () => pg.db.ping().then(failed));
        if (redis !== undefined) checks.add('redis', () => redis.db.ping().then(failed));
        return checks;
      },
      close: async () => {
        await Promise.all(broadcasts.map((b) => b.close()));
        await Promise.all([pg?.db.close(), redis?.db.close()]);
      },
    };
  } catch (e) {
    await Promise.all([pg?.db.close().catch(() => undefined), redis?.db.close()]);
    throw e;
  }
}
