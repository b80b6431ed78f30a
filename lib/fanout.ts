/**
 * Invalidations of caches across the instances that share a Broadcast topic (Redis pub/sub or
 * PostgreSQL NOTIFY), which delivers every message to every subscriber in one order, the
 * publisher included: auth's session keys (each auth instance keeps its own watchers,
 * services/auth/watch.ts, and a Logoff served by one must empty the caches fed by all of them
 * before it answers), and the permissions of channels that Messages keeps (a change of a
 * channel's permissions served by one channels instance must empty every messages instance's
 * entry of that channel before it answers). A key is a number or a string.
 *
 * 1. Every instance publishes a heartbeat `{t:'hb', from, at}` every HEARTBEAT_MS. Hearing
 *    its own heartbeat back proves its subscription is live up to that heartbeat. An
 *    instance is *fresh* until its last heard-back heartbeat's send time + FENCE_MS.
 * 2. Only a fresh instance serves watchers. When it stops being fresh, or its subscription
 *    breaks (`onGap`: messages may have been lost), it cuts every watcher off and refuses
 *    new ones (`LocalWatchers.fence`): their caches drop, and lookups go to the source.
 * 3. `invalidate(keys)`: invalidate the local watchers; publish `{t:'inv', from, n, keys}`;
 *    each other instance, on receiving it, invalidates its watchers and publishes
 *    `{t:'ack', to, n, from}`. The publisher waits for the acks of every peer it had heard
 *    within PEER_FORGET_MS when its own message came back to it (any peer whose heartbeat
 *    the topic ordered before the message is then known), or for the bound below.
 * 4. The bound. A peer that never receives message n has heard back no heartbeat the topic
 *    ordered after n, so it stops being fresh by (n accepted) + FENCE_MS, cuts its watchers
 *    then (a timer set for the moment its freshness ends; FENCE_CHECK_MS allows for the timer
 *    running late), and their leases end at most WATCH_LEASE_MS later. So once
 *    BOUND_MS has passed since the publish was accepted, no cache anywhere can still answer
 *    for the keys: the wait never exceeds it, even with a peer dead or partitioned.
 * 5. A publish that fails (the topic's backend unreachable from here). The keys are already
 *    gone from the store, so the logoff (or expiry) has happened and `invalidate` succeeds
 *    once the local watchers have dropped them. A cache fed by another instance may still
 *    hold a key; the first time it answers for it, its touch reaches that instance, which
 *    finds the session gone and invalidates the key again, everywhere
 *    (services/auth/sessions.ts touch()). `invalidate` answers false then: Channels waits out the
 *    longest a permissions cache keeps an entry before it answers the change
 *    (lib/permissions.ts `SHARED_CHANNEL_ACCESS_CACHE_MS`).
 *    If the backend is down for every instance, none hears its heartbeats back, and all of
 *    them cut their watchers off within the bound of step 4.
 */
import { randomBytes } from 'node:crypto';
import { within } from './deadline';
import { AgoraError, errorMessage } from './errors';
import type { Logger } from './log';
import { WATCH_LEASE_MS } from './session-watch';
import type { Broadcast } from './store/contracts';

export const HEARTBEAT_MS = 200;
export const FENCE_MS = 1000;
/** How late the fence may come after freshness ends (a timer firing late on a busy event loop). */
export const FENCE_CHECK_MS = 50;
const PEER_FORGET_MS = FENCE_MS + 2 * HEARTBEAT_MS;
const MARGIN_MS = 100;
/** Longest wait of an invalidation (header, step 4). */
export const BOUND_MS = FENCE_MS + FENCE_CHECK_MS + WATCH_LEASE_MS + MARGIN_MS;
/** Keys per message: PostgreSQL's NOTIFY payload holds under 8000 bytes. */
const KEYS_PER_MESSAGE = 400;

/** A key of a cache: a session key, a channel name. */
export type CacheKey = number | string;

type Message =
  | { t: 'hb'; from: string; at: number }
  | { t: 'inv'; from: string; n: number; keys: CacheKey[] }
  | { t: 'ack'; from: string; to: string; n: number };

interface Pending {
  expect?: string[];
  acked: Set<string>;
  done(): void;
}

/** What the fan-out needs of the local caches (auth's WatchHub, Messages' permissions). */
export interface LocalWatchers<K extends CacheKey = number> {
  invalidate(keys: readonly K[]): Promise<void>;
  fence(on: boolean, reason: string): void;
}

export interface FanoutOptions<K extends CacheKey = number> {
  broadcast: Broadcast;
  hub: LocalWatchers<K>;
  log: Logger;
  /** Which keys of a message to heed (default: safe integers, session keys). */
  isKey?: (key: unknown) => key is K;
  /** Monotonic ms (tests inject one). */
  clock?: () => number;
}

const isSafeInteger = (key: unknown): key is number => Number.isSafeInteger(key);

export class InvalidationFanout<K extends CacheKey = number> {
  readonly id = randomBytes(6).toString('hex');
  private readonly peers = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly clock: () => number;
  private lastEcho = -Infinity;
  private n = 0;
  private heartbeats: NodeJS.Timeout | undefined;
  /** Fires when freshness would end unless a heartbeat comes back first (`armFence`). */
  private fenceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private firstEcho: (() => void) | undefined;

  constructor(private readonly options: FanoutOptions<K>) {
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Subscribe and resolve once this instance hears itself (it is fresh), within `timeoutMs`. */
  async start(timeoutMs: number): Promise<void> {
    this.options.hub.fence(true, 'not yet subscribed');
    const heard = new Promise<void>((resolve) => (this.firstEcho = resolve));
    await this.options.broadcast.subscribe({
      onMessage: (m) => this.onMessage(m),
      onGap: (reason) => this.onGap(reason),
    });
    this.heartbeats = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.heartbeats.unref();
    this.heartbeat();
    await within(
      heard,
      timeoutMs,
      () =>
        new AgoraError('AGORA_ERR_STORE_UNAVAILABLE', ['broadcast', `own heartbeat not heard back in ${timeoutMs} ms`]),
    );
    this.checkFence();
  }

  /** Whether this instance may serve watchers now (header, step 1). */
  get fresh(): boolean {
    return this.clock() < this.lastEcho + FENCE_MS;
  }

  /** Other instances heard from lately. */
  get livePeers(): string[] {
    const now = this.clock();
    return [...this.peers].filter(([, at]) => now - at < PEER_FORGET_MS).map(([id]) => id);
  }

  /**
   * Empty every cache, of every instance, of `keys` (header, step 3); true once every other
   * instance has (or the bound has passed). The keys are already deleted from the store when this
   * is called, so a publish that fails does not fail it: the local caches are emptied all the same,
   * the failure is logged, and it answers false: the other instances' caches heal on their own
   * (step 5).
   */
  async invalidate(keys: readonly K[]): Promise<boolean> {
    const remote: Array<Promise<void>> = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_MESSAGE)
      remote.push(this.remote(keys.slice(i, i + KEYS_PER_MESSAGE)));
    const published = Promise.all(remote).then(
      () => true,
      (err: unknown) => {
        this.options.log.warn(
          { err: errorMessage(err), keys: keys.length },
          'invalidation not published; other instances heal on their next touch',
        );
        return false;
      },
    );
    const [, told] = await Promise.all([this.options.hub.invalidate(keys), published]);
    return told;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeats);
    clearTimeout(this.fenceTimer);
    for (const p of this.pending.values()) p.done();
  }

  private async remote(keys: K[]): Promise<void> {
    const n = ++this.n;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let bound: NodeJS.Timeout | undefined;
    this.pending.set(n, { acked: new Set(), done: finish });
    try {
      await this.publish({ t: 'inv', from: this.id, n, keys });
      bound = setTimeout(finish, BOUND_MS);
      await finished;
    } finally {
      clearTimeout(bound);
      this.pending.delete(n);
    }
  }

  private publish(message: Message): Promise<void> {
    return this.options.broadcast.publish(JSON.stringify(message));
  }

  private heartbeat(): void {
    this.publish({ t: 'hb', from: this.id, at: this.clock() }).catch((err: unknown) =>
      this.options.log.debug({ err: errorMessage(err) }, 'heartbeat not published'),
    );
  }

  private checkFence(): void {
    if (this.fresh) this.options.hub.fence(false, '');
    else this.options.hub.fence(true, `no heartbeat heard back in ${FENCE_MS} ms`);
  }

  /**
   * A timer for the moment freshness ends, unless one is set: when it fires, the fence is checked and, if a
   * heartbeat came back meanwhile, the timer set again for the new moment. So an instance that hears itself
   * wakes for this about once every FENCE_MS, not every few milliseconds.
   */
  private armFence(): void {
    if (this.fenceTimer !== undefined || this.closed || !this.fresh) return;
    const ms = Math.max(1, Math.ceil(this.lastEcho + FENCE_MS - this.clock()));
    this.fenceTimer = setTimeout(() => {
      this.fenceTimer = undefined;
      this.checkFence();
      this.armFence();
    }, ms);
    this.fenceTimer.unref();
  }

  private onGap(reason: string): void {
    this.lastEcho = -Infinity;
    this.options.hub.fence(true, reason);
  }

  private onMessage(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      this.options.log.warn({ length: text.length }, 'unreadable broadcast message ignored');
      return;
    }
    if (m.t === 'hb') this.onHeartbeat(m);
    else if (m.t === 'inv') this.onInvalidate(m);
    else if (m.t === 'ack' && m.to === this.id) this.onAck(m.from, m.n);
  }

  private onHeartbeat(m: Extract<Message, { t: 'hb' }>): void {
    if (m.from !== this.id) {
      this.peers.set(m.from, this.clock());
      return;
    }
    this.lastEcho = Math.max(this.lastEcho, m.at);
    this.firstEcho?.();
    this.firstEcho = undefined;
    // Fresh again after a gap or a lapse: the fence lifts now.
    if (!this.closed) this.checkFence();
    this.armFence();
  }

  private onInvalidate(m: Extract<Message, { t: 'inv' }>): void {
    if (m.from === this.id) {
      const p = this.pending.get(m.n);
      if (p === undefined) return;
      p.expect = this.livePeers;
      this.check(p);
      return;
    }
    this.peers.set(m.from, this.clock());
    const isKey = this.options.isKey ?? (isSafeInteger as (key: unknown) => key is K);
    const keys = Array.isArray(m.keys) ? m.keys.filter(isKey) : [];
    this.options.hub
      .invalidate(keys)
      .then(() => this.publish({ t: 'ack', from: this.id, to: m.from, n: m.n }))
      .catch((err: unknown) => this.options.log.warn({ err: errorMessage(err) }, 'invalidation ack not published'));
  }

  private onAck(from: string, n: number): void {
    const p = this.pending.get(n);
    if (p === undefined) return;
    p.acked.add(from);
    this.check(p);
  }

  private check(p: Pending): void {
    if (p.expect !== undefined && p.expect.every((peer) => p.acked.has(peer))) p.done();
  }
}
