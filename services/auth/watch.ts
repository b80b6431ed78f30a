/**
 * auth's end of the `Watch` stream (protocol and lease: lib/session-watch.ts). The
 * hub sends invalidations to every watcher, one message in flight per watcher, and answers
 * `invalidate()` only once each watcher has acked them or can no longer serve from its
 * cache (its lease has run out); a watcher that stops acking is cut off with an error.
 */
import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { GRPC } from '../../lib/errors';
import type { WatchDown } from '../../lib/gen/agora/WatchDown';
import type { WatchUp__Output } from '../../lib/gen/agora/WatchUp';
import type { Logger } from '../../lib/log';
import { WATCH_LEASE_MS, WATCH_PING_MS } from '../../lib/session-watch';

export type WatchCall = grpc.ServerDuplexStream<WatchUp__Output, WatchDown>;

/** Slack for the two ends' clocks running at slightly different rates. */
const LEASE_MARGIN_MS = 50;
/** Keys per invalidation message (~10 bytes each on the wire); more wait for the next one. */
const MAX_KEYS_PER_MESSAGE = 10_000;
/** Keys read from one touch message; a watcher sends at most a few hundred. */
const MAX_TOUCH_KEYS = 10_000;

export interface WatchHubOptions {
  /** Keys a watcher answered from its cache: refresh their sessions. */
  onTouch(sesskeys: number[]): void;
  log: Logger;
  leaseMs?: number;
  pingMs?: number;
  /** Monotonic milliseconds (tests inject one). */
  clock?: () => number;
}

type Waiter = () => void;

/** One open Watch stream. */
class Watcher {
  seq = 0;
  /** When its last awaited ack arrived (undefined: none yet, so it holds no lease). */
  lastAckAt: number | undefined;
  lastSentAt = 0;
  outstanding: { seq: number; waiters: Waiter[] } | undefined;
  queued = new Set<number>();
  queuedWaiters: Waiter[] = [];
  timer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    readonly call: WatchCall,
    readonly peer: string,
  ) {}
}

/** Every open Watch stream of this auth process. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly leaseMs: number;
  private readonly pingMs: number;
  private readonly clock: () => number;
  private readonly pinger: NodeJS.Timeout;
  /** Until when a watcher that went away may still answer from its cache. */
  private departedLeaseEnd = -Infinity;
  /** Why watchers are refused now (lib/fanout.ts, step 2); undefined when they are served. */
  private fenced: string | undefined;

  constructor(private readonly options: WatchHubOptions) {
    this.leaseMs = options.leaseMs ?? WATCH_LEASE_MS;
    this.pingMs = options.pingMs ?? WATCH_PING_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.pinger = setInterval(() => this.pingAll(), this.pingMs);
    this.pinger.unref();
  }

  /** Open watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Serve one Watch stream (the grpc-js handler of `Watch`). */
  attach(call: WatchCall): void {
    if (this.fenced !== undefined) {
      call.emit('error', { code: GRPC.UNAVAILABLE, details: `session watch refused: ${this.fenced}` });
      return;
    }
    const w = new Watcher(call, call.getPeer());
    this.watchers.add(w);
    call.on('data', (message: WatchUp__Output) => this.onUp(w, message));
    // A watcher half-closes only once it has dropped its cache (lib/session-cache.ts close()),
    // so its lease ends there; a cancelled or broken stream keeps it until it runs out.
    call.on('end', () => {
      this.depart(w, 'closed by the watcher', true);
      call.end();
    });
    call.on('cancelled', () => this.depart(w, 'cancelled'));
    call.on('error', () => this.depart(w, 'stream error'));
    call.on('close', () => this.depart(w, 'closed'));
    this.options.log.info({ peer: w.peer, watchers: this.watchers.size }, 'watcher connected');
    this.transmit(w, { seq: 0, hello: true }, []);
  }

  /**
   * Tell every watcher to drop `keys`. Resolves once none of them can answer for these
   * keys from its cache any more: each has acked, or its lease has run out.
   */
  async invalidate(keys: readonly number[]): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const w of this.watchers) waits.push(new Promise((resolve) => this.enqueue(w, keys, resolve)));
    const left = this.departedLeaseEnd - this.clock();
    if (left > 0) waits.push(delay(left));
    await Promise.all(waits);
  }

  /**
   * While `on`, cut every watcher off and refuse new ones: this instance can no longer
   * vouch that it hears every invalidation (lib/fanout.ts, step 2).
   */
  fence(on: boolean, reason: string): void {
    if (!on) {
      if (this.fenced !== undefined) this.options.log.info('session watch served again');
      this.fenced = undefined;
      return;
    }
    if (this.fenced === undefined)
      this.options.log.warn({ reason, watchers: this.watchers.size }, 'session watch fenced');
    this.fenced = reason;
    for (const w of [...this.watchers]) this.cut(w, reason);
  }

  /** End every stream (shutdown): watchers drop their caches and reconnect elsewhere or later. */
  close(): void {
    clearInterval(this.pinger);
    for (const w of [...this.watchers]) {
      this.depart(w, 'auth shutting down');
      w.call.end();
    }
  }

  private enqueue(w: Watcher, keys: readonly number[], done: Waiter): void {
    for (const key of keys) w.queued.add(key);
    // Without any ack it never held a lease, so it cannot answer from its cache: no wait.
    if (w.lastAckAt === undefined) done();
    else w.queuedWaiters.push(done);
    this.pump(w, false);
  }

  /** Send the next message if none is in flight: queued keys, or a ping when `ping`. */
  private pump(w: Watcher, ping: boolean): void {
    if (w.closed || w.outstanding !== undefined) return;
    if (w.queued.size === 0 && !ping) return;
    const keys: number[] = [];
    for (const key of w.queued) {
      if (keys.length === MAX_KEYS_PER_MESSAGE) break;
      keys.push(key);
    }
    for (const key of keys) w.queued.delete(key);
    let waiters: Waiter[] = [];
    if (w.queued.size === 0) [waiters, w.queuedWaiters] = [w.queuedWaiters, []];
    this.transmit(w, { seq: w.seq + 1, invalidate: keys }, waiters);
  }

  /**
   * Write one message and arm its deadline: if no ack comes before the watcher's lease
   * (from its last ack) has surely run out, it is unresponsive and gets cut off.
   */
  private transmit(w: Watcher, message: WatchDown, waiters: Waiter[]): void {
    const now = this.clock();
    w.seq = Number(message.seq);
    w.outstanding = { seq: w.seq, waiters };
    w.lastSentAt = now;
    const cutAt = (w.lastAckAt ?? now) + this.leaseMs + LEASE_MARGIN_MS;
    w.timer = setTimeout(
      () => this.cut(w, `no ack of message ${w.seq} within ${this.leaseMs} ms`),
      Math.max(0, cutAt - now),
    );
    w.timer.unref();
    w.call.write(message);
  }

  private onUp(w: Watcher, message: WatchUp__Output): void {
    if (w.closed) return;
    if (message.ack !== null && message.ack !== undefined) this.onAck(w, message.ack.seq);
    if (message.touch !== null && message.touch !== undefined && message.touch.sesskeys.length > 0) {
      this.options.onTouch(message.touch.sesskeys.slice(0, MAX_TOUCH_KEYS));
    }
  }

  private onAck(w: Watcher, seq: number): void {
    const outstanding = w.outstanding;
    if (outstanding === undefined || outstanding.seq !== seq) {
      this.options.log.debug({ peer: w.peer, seq, expected: outstanding?.seq }, 'unexpected ack ignored');
      return;
    }
    w.lastAckAt = this.clock();
    clearTimeout(w.timer);
    w.outstanding = undefined;
    for (const waiter of outstanding.waiters) waiter();
    // After the hello, ping at once so that the watcher's first lease comes without delay.
    this.pump(w, seq === 0);
  }

  private pingAll(): void {
    const now = this.clock();
    for (const w of this.watchers) {
      if (w.outstanding === undefined && now - w.lastSentAt >= this.pingMs) this.pump(w, true);
    }
  }

  /** End an unresponsive watcher's stream with an error (it then drops its whole cache). */
  private cut(w: Watcher, reason: string): void {
    if (w.closed) return;
    this.options.log.warn({ peer: w.peer, reason }, 'watcher cut off');
    this.depart(w, reason);
    w.call.emit('error', { code: GRPC.UNAVAILABLE, details: `session watch cut off: ${reason}` });
  }

  /**
   * Forget a watcher. What waited on it is released once its lease has run out (at once
   * if it never acked, or said it `dropped` its cache), and later invalidations wait for
   * that too, in case it is still alive behind a broken connection.
   */
  private depart(w: Watcher, reason: string, dropped = false): void {
    if (w.closed) return;
    w.closed = true;
    clearTimeout(w.timer);
    this.watchers.delete(w);
    const leaseEnd = dropped || w.lastAckAt === undefined ? -Infinity : w.lastAckAt + this.leaseMs + LEASE_MARGIN_MS;
    this.departedLeaseEnd = Math.max(this.departedLeaseEnd, leaseEnd);
    const waiters = [...(w.outstanding?.waiters ?? []), ...w.queuedWaiters];
    w.outstanding = undefined;
    w.queuedWaiters = [];
    w.queued.clear();
    const left = leaseEnd - this.clock();
    if (left > 0) void delay(left).then(() => waiters.forEach((waiter) => waiter()));
    else waiters.forEach((waiter) => waiter());
    this.options.log.info({ peer: w.peer, reason, watchers: this.watchers.size }, 'watcher gone');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
