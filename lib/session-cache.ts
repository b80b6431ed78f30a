/**
 * Resolves a session key to its user for services other than auth, without a gRPC call per
 * request (docs/ARCHITECTURE.md "Slow hops off the hot path"): answers from a cache that
 * auth's `Watch` stream keeps coherent (lib/session-watch.ts, whose steps the comments here
 * refer to), so that a key fails on the very next call after Logoff has answered.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { grpcChannelOptions, grpcTarget } from './config';
import { AgoraError } from './errors';
import type { AuthClient } from './gen/agora/Auth';
import type { Identity__Output } from './gen/agora/Identity';
import type { SessionRequest } from './gen/agora/SessionRequest';
import type { WatchDown__Output } from './gen/agora/WatchDown';
import type { WatchUp } from './gen/agora/WatchUp';
import type { Logger } from './log';
import { unary } from './rpc/grpc';
import { loadProto } from './rpc/proto';
import type { RpcContext } from './rpc/service';
import { isSessionKey, WATCH_LEASE_MS } from './session-watch';

export interface SessionResolver {
  /** The username holding `sesskey`, or AgoraError AGORA_ERR_AUTH_BAD_SESSION. */
  resolve(sesskey: number, ctx?: Pick<RpcContext, 'reqId' | 'deadline'>): Promise<string>;
  close(): void;
}

export interface SessionCacheOptions {
  /** auth's gRPC address, host:port. */
  authGrpcUrl: string;
  /** Deadline of a Resolve call (a caller's earlier deadline wins). */
  timeoutMs: number;
  log: Logger;
  /** Entries kept at most; the oldest goes first. */
  maxEntries?: number;
  /** Touch batches leave this often, or as soon as `touchBatch` keys wait. */
  touchEveryMs?: number;
  touchBatch?: number;
  /** Reconnect backoff of the Watch stream, doubling from min to max. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The channel's credentials (lib/rpc/grpc.ts grpcSecurity); plaintext by default. */
  credentials?: grpc.ChannelCredentials;
}

interface Entry {
  username: string;
  /** Last use here, ms since the epoch. */
  lastUsed: number;
  idleMs: number;
}

/** Resolve calls in flight for one key; `tainted` once an invalidation of it arrives meanwhile. */
interface Miss {
  count: number;
  tainted: boolean;
}

type WatchStream = grpc.ClientDuplexStream<WatchUp, WatchDown__Output>;

/** The shortest period of the cache's tick, whatever the sessions' idle time. */
const MIN_TICK_MS = 50;

/** Counters, for tests and metrics. */
export interface SessionCacheStats {
  hits: number;
  misses: number;
  /** Times the whole cache was dropped because the stream failed. */
  drops: number;
}

/** A SessionResolver backed by a Watch-coherent cache. */
export class SessionCache implements SessionResolver {
  readonly stats: SessionCacheStats = { hits: 0, misses: 0, drops: 0 };
  private readonly client: AuthClient;
  private readonly log: Logger;
  private readonly maxEntries: number;
  private readonly touchBatch: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly entries = new Map<number, Entry>();
  private readonly inFlight = new Map<number, Miss>();
  private touches = new Set<number>();
  private stream: WatchStream | null = null;
  /** Bumped at every stream open and failure: a Resolve answer from another generation is not cached. */
  private generation = 0;
  /** hello received on the current stream. */
  private healthy = false;
  /** performance.now() until which the cache may answer (lib/session-watch.ts, step 3). */
  private leaseEnd = 0;
  private lastAck = { seq: -1, at: -Infinity };
  private lastHeard = 0;
  private failures = 0;
  /** Whether a watch stream ever said hello (before that, auth being down is expected at start). */
  private watchedOnce = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The period of `flushTimer`. */
  private tickEveryMs = 0;
  private closed = false;

  private readonly touchEveryMs: number;
  /** Shortest idle timeout seen from auth. */
  private minIdleMs = Infinity;

  constructor(private readonly options: SessionCacheOptions) {
    this.log = options.log;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.touchBatch = options.touchBatch ?? 500;
    this.backoffMinMs = options.backoffMinMs ?? 100;
    this.backoffMaxMs = options.backoffMaxMs ?? 2000;
    this.backoffMs = this.backoffMinMs;
    const Auth = loadProto('auth.proto').agora.Auth;
    // grpc-js's own reconnect backoff grows to 120 s by default; auth coming back must be seen soon.
    this.client = new Auth(grpcTarget(options.authGrpcUrl), options.credentials ?? grpc.credentials.createInsecure(), {
      ...grpcChannelOptions(options.authGrpcUrl),
      'grpc.initial_reconnect_backoff_ms': this.backoffMinMs,
      'grpc.max_reconnect_backoff_ms': this.backoffMaxMs,
    });
    this.touchEveryMs = options.touchEveryMs ?? 1000;
    this.armTick();
    this.connect();
  }

  /** Entries held (whether or not they may be served right now). */
  get size(): number {
    return this.entries.size;
  }

  /** Whether answers may come from the cache now: stream up, lease valid. */
  get watching(): boolean {
    return this.healthy && performance.now() < this.leaseEnd;
  }

  resolve(sesskey: number, ctx?: Pick<RpcContext, 'reqId' | 'deadline'>): Promise<string> {
    if (this.closed) return Promise.reject(new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', ['Auth']));
    if (!isSessionKey(sesskey)) return Promise.reject(new AgoraError('AGORA_ERR_AUTH_BAD_SESSION'));
    const username = this.lookup(sesskey);
    if (username !== undefined) {
      this.stats.hits++;
      return Promise.resolve(username);
    }
    this.stats.misses++;
    return this.fetch(sesskey, ctx);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    const stream = this.stream;
    this.stream = null;
    this.dropAll();
    // A half-close tells auth the cache is gone (so its Logoffs need not wait out our lease);
    // a cancel would not. The channel closes once the stream has finished.
    stream?.end();
    this.client.close();
  }

  /** A cached answer, only while the lease holds and the session has not gone idle here. */
  private lookup(sesskey: number): string | undefined {
    if (!this.watching) return undefined;
    const entry = this.entries.get(sesskey);
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (now - entry.lastUsed >= entry.idleMs) {
      this.entries.delete(sesskey);
      return undefined;
    }
    entry.lastUsed = now;
    this.touches.add(sesskey);
    if (this.touches.size >= this.touchBatch) this.flushTouches();
    return entry.username;
  }

  /**
   * Ask auth. The answer is cached only if the stream was healthy when the call left and is
   * the same stream now, and no invalidation of the key arrived meanwhile: otherwise a
   * Logoff racing this call could leave its key cached after the invalidation was applied.
   */
  private async fetch(sesskey: number, ctx?: Pick<RpcContext, 'reqId' | 'deadline'>): Promise<string> {
    const generation = this.healthy ? this.generation : -1;
    const miss = this.inFlight.get(sesskey) ?? { count: 0, tainted: false };
    miss.count++;
    this.inFlight.set(sesskey, miss);
    try {
      const identity = await unary<SessionRequest, Identity__Output>(
        this.client,
        'Resolve',
        { sesskey },
        {
          deadline: ctx?.deadline,
          reqId: ctx?.reqId,
          timeoutMs: this.options.timeoutMs,
        },
      );
      if (!miss.tainted && generation === this.generation && this.healthy) this.store(sesskey, identity);
      return identity.username;
    } finally {
      if (--miss.count === 0) this.inFlight.delete(sesskey);
    }
  }

  private store(sesskey: number, identity: Identity__Output): void {
    if (identity.idle_s <= 0) return;
    if (!this.entries.has(sesskey) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    if (identity.idle_s * 1000 < this.minIdleMs) {
      this.minIdleMs = identity.idle_s * 1000;
      this.armTick();
    }
    this.entries.set(sesskey, { username: identity.username, lastUsed: Date.now(), idleMs: identity.idle_s * 1000 });
  }

  private connect(): void {
    if (this.closed) return;
    this.generation++;
    this.healthy = false;
    this.leaseEnd = 0;
    this.lastAck = { seq: -1, at: -Infinity };
    this.lastHeard = performance.now();
    const stream = this.client.Watch();
    this.stream = stream;
    stream.on('data', (message: WatchDown__Output) => this.onMessage(stream, message));
    stream.on('error', (err: Error) => this.onDown(stream, err));
    stream.on('end', () => this.onDown(stream, undefined));
  }

  private onMessage(stream: WatchStream, message: WatchDown__Output): void {
    if (stream !== this.stream) return;
    this.lastHeard = performance.now();
    if (message.hello) {
      this.healthy = true;
      this.failures = 0;
      this.backoffMs = this.backoffMinMs;
      this.watchedOnce = true;
      this.log.info({ auth: this.options.authGrpcUrl }, 'session cache watching');
    }
    for (const key of message.invalidate) {
      this.entries.delete(key);
      const miss = this.inFlight.get(key);
      if (miss !== undefined) miss.tainted = true;
    }
    // Step 3: auth sent this message only after receiving our previous ack.
    if (!message.hello && this.lastAck.seq === message.seq - 1) this.leaseEnd = this.lastAck.at + WATCH_LEASE_MS;
    this.lastAck = { seq: message.seq, at: performance.now() };
    stream.write({ ack: { seq: message.seq } });
  }

  private onDown(stream: WatchStream, err: Error | undefined): void {
    if (stream !== this.stream) return;
    this.stream = null;
    stream.cancel();
    if (this.healthy || this.entries.size > 0) this.stats.drops++;
    const dropped = this.entries.size;
    this.dropAll();
    if (this.closed) return;
    const first = this.failures++ === 0;
    if (first && !this.watchedOnce && (err as { code?: unknown } | undefined)?.code === grpc.status.UNAVAILABLE) {
      // Auth is not up yet (it starts after this process): one line now, one when connected.
      this.log.info({ auth: this.options.authGrpcUrl }, 'session cache waiting for auth');
    } else {
      this.log[first ? 'warn' : 'debug'](
        { err, dropped, retryInMs: this.backoffMs },
        'session watch stream down; cache dropped',
      );
    }
    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }

  private dropAll(): void {
    this.generation++;
    this.healthy = false;
    this.leaseEnd = 0;
    this.entries.clear();
    this.touches.clear();
    for (const miss of this.inFlight.values()) miss.tainted = true;
  }

  /**
   * Tick every touchEveryMs, or every idle/4 when sessions are shorter: the touches leave at each tick, so a
   * session used only through this cache never reaches auth's idle limit. No more often: each tick wakes the
   * process, which every watching service is, at rest too.
   */
  private armTick(): void {
    const every = Math.max(MIN_TICK_MS, Math.min(this.touchEveryMs, this.minIdleMs / 4));
    if (every === this.tickEveryMs || this.closed) return;
    this.tickEveryMs = every;
    clearInterval(this.flushTimer);
    this.flushTimer = setInterval(() => this.tick(), every);
    this.flushTimer.unref();
  }

  /** Periodic work: send pending touches; give up on a stream that has gone silent. */
  private tick(): void {
    this.flushTouches();
    const stream = this.stream;
    if (stream !== null && performance.now() - this.lastHeard > 4 * WATCH_LEASE_MS) {
      this.onDown(stream, new Error(`no message from auth in ${4 * WATCH_LEASE_MS} ms`));
    }
  }

  private flushTouches(): void {
    if (this.touches.size === 0) return;
    const sesskeys = [...this.touches];
    this.touches = new Set();
    if (this.stream !== null && this.healthy) this.stream.write({ touch: { sesskeys } });
  }
}

/** The session resolver of a service process: a SessionCache dialing auth. */
export function createSessionCache(options: SessionCacheOptions): SessionCache {
  return new SessionCache(options);
}
