/**
 * The session lifecycle: a session opens under a fresh random key, is refreshed by each use
 * (a Resolve, or a touch from a session cache), and ends by Logoff or by going idle for
 * `idleMs`. Every end empties the caches that may hold the key (`invalidate`: this
 * instance's watchers, ./watch.ts, and with several instances every other one's, lib/fanout.ts).
 */
import { randomBytes } from 'node:crypto';
import { staleError } from '../../lib/etag';
import { AgoraError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { isSessionKey } from '../../lib/session-watch';
import type { SessionRecord, SessionStore } from '../../lib/store/contracts';

/** Draws of a fresh session key before giving up (a collision among 2^53 keys is already rare). */
const KEY_DRAWS = 16;

/** A uniformly random integer in [1, 2^53−1], from 53 random bits (crypto.randomInt stops at 2^48). */
export function drawSessionKey(): number {
  for (;;) {
    const bytes = randomBytes(8);
    const key = (bytes.readUInt32BE(0) & 0x1f_ffff) * 2 ** 32 + bytes.readUInt32BE(4);
    if (key !== 0) return key;
  }
}

export interface SessionsOptions {
  store: SessionStore;
  /** Idle time after which a session has expired. */
  idleMs: number;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  /** Session key source. */
  drawKey: () => number;
  /** Empty every cache of `keys`; resolves once none can answer for them any more. */
  invalidate: (keys: number[]) => Promise<void>;
  log: Logger;
}

const badSession = (): AgoraError => new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');

/** The sessions of auth, from logon to logoff or expiry. */
export class Sessions {
  private readonly store: SessionStore;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SessionsOptions) {
    this.store = options.store;
    this.idleMs = options.idleMs;
    this.now = options.now;
  }

  /** A new session for `username` under a fresh random key, redrawn on collision. */
  async open(username: string): Promise<{ sesskey: number; version: number }> {
    for (let i = 0; i < KEY_DRAWS; i++) {
      const sesskey = this.options.drawKey();
      const version = await this.store.create({ sesskey, username, lastUsed: this.now() });
      if (version !== undefined) return { sesskey, version };
    }
    throw new AgoraError('AGORA_ERR_INTERNAL', [], { message: `no free session key after ${KEY_DRAWS} draws` });
  }

  /** The session, refreshed; an expired one fails at once, even before the sweep removes it. */
  async resolve(sesskey: number): Promise<SessionRecord> {
    const at = this.now();
    const [session] = isSessionKey(sesskey) ? await this.store.touch([sesskey], at, this.idleMs) : [];
    if (session === undefined) throw badSession();
    if (this.expiredAt(session.lastUsed, at)) {
      void this.expireKeys([sesskey]).catch((err: unknown) => this.options.log.error({ err }, 'expiry failed'));
      throw badSession();
    }
    return session;
  }

  /**
   * End the session (Logoff); answers once it is invalidated. With `expectedVersion`, only
   * if still at that version, checked and deleted in one atomic step of the store
   * (AGORA_ERR_SESSION_STALE otherwise); of several such ends one ends it and the others
   * find the key dead.
   */
  async end(sesskey: number, expectedVersion: number | undefined): Promise<void> {
    const session = isSessionKey(sesskey) ? await this.store.get(sesskey) : undefined;
    if (session === undefined) throw badSession();
    if (this.expiredAt(session.lastUsed, this.now())) {
      await this.expireKeys([sesskey]);
      throw badSession();
    }
    if (expectedVersion !== undefined) {
      const ended = await this.store.deleteIfVersion(sesskey, expectedVersion);
      if (!ended.done && ended.version === undefined) throw badSession();
      if (!ended.done) throw staleError('AGORA_ERR_SESSION_STALE', [expectedVersion], ended.version);
    } else if (!(await this.store.delete(sesskey))) throw badSession();
    await this.options.invalidate([sesskey]);
  }

  /**
   * Keys a watcher answered from its cache: alive ones are refreshed, expired ones end, and
   * gone ones are invalidated again. A cache can only hold a gone key if an invalidation
   * never reached it (with several instances: a publish lost between two of them), so this
   * heals it within one touch period of its next use.
   */
  async touch(keys: number[]): Promise<void> {
    try {
      const at = this.now();
      const expired: number[] = [];
      const gone: number[] = [];
      const asked = keys.filter(isSessionKey);
      const found = new Map((await this.store.touch(asked, at, this.idleMs)).map((s) => [s.sesskey, s]));
      for (const key of asked) {
        const session = found.get(key);
        if (session === undefined) gone.push(key);
        else if (this.expiredAt(session.lastUsed, at)) expired.push(key);
      }
      if (expired.length > 0) await this.expireKeys(expired);
      if (gone.length > 0) await this.options.invalidate(gone);
    } catch (err) {
      this.options.log.error({ err }, 'touch failed');
    }
  }

  /** Delete the sessions idle at `at`, and tell the watchers; answers how many expired. */
  async expireIdle(at: number): Promise<number> {
    // expire() removes lastUsed < before; a session is expired once at − lastUsed >= idleMs.
    const gone = await this.store.expire(at - this.idleMs + 1);
    if (gone.length > 0) {
      this.options.log.info({ expired: gone.length }, 'sessions expired');
      await this.options.invalidate(gone);
    }
    return gone.length;
  }

  private expiredAt(lastUsed: number, at: number): boolean {
    return at - lastUsed >= this.idleMs;
  }

  /** Delete sessions found expired outside a sweep, and tell the watchers. */
  private async expireKeys(keys: number[]): Promise<void> {
    const gone: number[] = [];
    for (const key of keys) if (await this.store.delete(key)) gone.push(key);
    if (gone.length > 0) await this.options.invalidate(gone);
  }
}
