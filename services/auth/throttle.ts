/**
 * Logon throttling: failed logons are counted per user and per client address in a
 * FailureStore (shared by every auth instance when there can be several), and a logon is
 * refused while either is locked. Logons of one user take turns, so that concurrent guesses
 * are each counted before the next one is checked.
 */
import { AgoraError } from '../../lib/errors';
import type { FailureStore } from '../../lib/store/contracts';

/** Longest client address kept as a throttle key (an IPv6 address with zone fits). */
const CLIENT_ADDR_MAX = 128;

const userKey = (username: string): string => `user:${username}`;
const addrKey = (addr: string): string => `addr:${addr}`;

/** The client address as a throttle key holds it (a logon must name one; '' is never counted). */
export function clientAddr(raw: string): string {
  return raw.slice(0, CLIENT_ADDR_MAX);
}

export class LogonThrottle {
  private readonly inTurn = keyedQueue();

  constructor(
    private readonly failures: FailureStore,
    /** Wall clock, ms since the epoch. */
    private readonly now: () => number,
  ) {}

  /** Run `fn` after every earlier call for the same user has finished (one logon per user at a time). */
  oneAtATime<T>(username: string, fn: () => Promise<T>): Promise<T> {
    return this.inTurn(username, fn);
  }

  /** Refuse with AGORA_ERR_AUTH_THROTTLED while the user or the address is locked. */
  async check(username: string, addr: string): Promise<void> {
    const at = this.now();
    const [byUser, byAddr] = await Promise.all([
      this.failures.retryAfterMs(userKey(username), at),
      addr === '' ? 0 : this.failures.retryAfterMs(addrKey(addr), at),
    ]);
    const waitMs = Math.max(byUser, byAddr);
    if (waitMs > 0)
      throw new AgoraError('AGORA_ERR_AUTH_THROTTLED', [Math.ceil(waitMs / 1000)], {
        data: { retryAfterS: Math.ceil(waitMs / 1000) },
      });
  }

  /** Count a failed logon against the user (if known) and the address (if any). */
  async failed(username: string | undefined, addr: string): Promise<void> {
    const at = this.now();
    await Promise.all([
      username === undefined ? undefined : this.failures.fail(userKey(username), at),
      addr === '' ? undefined : this.failures.fail(addrKey(addr), at),
    ]);
  }

  /** The user logged on: their count starts over (the address's does not). */
  succeeded(username: string): Promise<void> {
    return this.failures.reset(userKey(username));
  }

  /** Forget the counts whose window and lock are both over. */
  prune(at: number): Promise<void> {
    return this.failures.prune(at);
  }
}

/** Run `fn` after every earlier call for the same key has finished. */
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
