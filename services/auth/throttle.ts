/**
 * Counting failed logons per key (a username, or a client address) in fixed windows: the
 * window opens at a key's first failure and lasts `windowMs`; the `maxFailures`-th failure
 * inside it locks the key for `windowMs` from then. The table is bounded: past
 * `maxEntries` the least recently failed key is forgotten first.
 */

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxEntries?: number;
}

interface Entry {
  failures: number;
  windowStart: number;
  /** 0 while not locked. */
  lockedUntil: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(private readonly options: ThrottleOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Keys remembered. */
  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds until `key` may try again; 0 if it may now. */
  retryAfterMs(key: string, now: number): number {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.lockedUntil === 0) return 0;
    if (entry.lockedUntil > now) return entry.lockedUntil - now;
    this.entries.delete(key);
    return 0;
  }

  /** Count one failure of `key`. */
  fail(key: string, now: number): void {
    let entry = this.entries.get(key);
    if (entry === undefined || (entry.lockedUntil === 0 && now - entry.windowStart >= this.options.windowMs)) {
      entry = { failures: 0, windowStart: now, lockedUntil: 0 };
    }
    entry.failures++;
    if (entry.failures >= this.options.maxFailures && entry.lockedUntil === 0) entry.lockedUntil = now + this.options.windowMs;
    // Re-insert so that the Map's order is the order of last failure (oldest first).
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forget `key` (a user who just logged on). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drop every entry whose window and lock are both over. */
  prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.lockedUntil <= now && now - entry.windowStart >= this.options.windowMs) this.entries.delete(key);
    }
  }
}
