/**
 * Storage contracts: one interface per kind of state, all async, so that the in-memory
 * adapters (the embedded default) and the PostgreSQL/Redis ones are interchangeable.
 * Services reach state only through these.
 */
import { errorMessage } from '../errors';

export interface UserRecord {
  username: string;
  /** scrypt hash and its per-user salt, base64. */
  hash: string;
  salt: string;
  createdAt: number;
}

export interface UserStore {
  get(username: string): Promise<UserRecord | undefined>;
  /** Insert if absent; answers the record now stored (the existing one if it was there). */
  create(user: UserRecord): Promise<{ user: UserRecord; created: boolean }>;
}

export interface SessionRecord {
  sesskey: number;
  username: string;
  /** Last use, ms since the epoch. */
  lastUsed: number;
}

export interface SessionStore {
  /** Store a new session; false if the key is taken (the caller draws another). */
  create(session: SessionRecord): Promise<boolean>;
  get(sesskey: number): Promise<SessionRecord | undefined>;
  /** Set lastUsed to `at` if the session exists (never moves it backwards). */
  touch(sesskey: number, at: number): Promise<void>;
  /** Remove; true if it existed. */
  delete(sesskey: number): Promise<boolean>;
  /** Remove and answer every session last used before `before`. */
  expire(before: number): Promise<number[]>;
}

export interface ChannelStore {
  /** Every channel name, sorted. */
  list(): Promise<string[]>;
  /** Insert if absent; true if it was created now. */
  create(name: string, createdBy: string): Promise<boolean>;
  exists(name: string): Promise<boolean>;
}

export interface StoredMessage {
  messageid: number;
  username: string;
  message: string;
}

export interface MessageStore {
  /**
   * Append to `channel`: the id is the channel's last id + 1 (from 1, no gaps, also under
   * concurrent posters), then only the newest `retain` messages are kept.
   */
  append(channel: string, username: string, message: string, retain: number): Promise<number>;
  /**
   * `append`, only if the channel's last id is still `expectedLast` (0: no message yet), the
   * check and the append being one atomic step; undefined (and nothing stored) otherwise.
   */
  appendIfLast(channel: string, username: string, message: string, retain: number, expectedLast: number): Promise<number | undefined>;
  /** The last id given in `channel`, 0 if none. */
  last(channel: string): Promise<number>;
  /** The retained messages with first <= id <= last, in id order. */
  range(channel: string, first: number, last: number): Promise<StoredMessage[]>;
}

/** Where a node is in its life (docs/COMPUTE.md "Node states"). */
export type NodeStatus = 'BUILDING' | 'ACTIVE' | 'STOPPED' | 'DELETING' | 'ERROR';

/** A compute node as services/compute records it (the last state the driver reported). */
export interface NodeRecord {
  id: string;
  owner: string;
  name: string;
  image: string;
  size: string;
  command: string;
  status: NodeStatus;
  /** What is under way: 'stopping' or ''. */
  task: string;
  /** Why the node is in ERROR, else ''. */
  reason: string;
  host: string;
  port: number;
  pid: number;
  exitCode: number;
  signal: string;
  /** ms since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface NodeStore {
  get(id: string): Promise<NodeRecord | undefined>;
  /** The nodes of `owner` (every node when undefined), oldest first (createdAt, then id). */
  list(owner?: string): Promise<NodeRecord[]>;
  /**
   * Insert a new node unless its owner already holds `limit` nodes or the id is taken;
   * the check and the insert are one step, so concurrent creates cannot pass the limit.
   */
  create(node: NodeRecord, limit: number): Promise<'created' | 'limit' | 'exists'>;
  /** Insert or replace. */
  put(node: NodeRecord): Promise<void>;
  /** Remove; true if it existed. */
  delete(id: string): Promise<boolean>;
}

/** What a backend answers to a health check. */
export interface BackendHealth {
  /** 'memory', 'postgres' or 'redis'. */
  backend: string;
  ok: boolean;
  /** Round trip of the check, ms. */
  ms: number;
  error?: string;
}

/**
 * One topic that every process of a kind subscribes to (auth instances fanning out session
 * invalidations). Every subscriber, the publisher included, receives the messages in one
 * order, the backend's (Redis PUBLISH, PostgreSQL NOTIFY at commit). A subscription that
 * breaks may lose messages: `onGap` says so before delivery resumes.
 */
export interface Broadcast {
  /** Resolves once the backend has accepted the message (and ordered it). */
  publish(message: string): Promise<void>;
  subscribe(handlers: { onMessage(message: string): void; onGap(reason: string): void }): Promise<void>;
  close(): Promise<void>;
}

/** A health answer from running `check` against the clock (never throws). */
export async function timed(backend: string, check: () => Promise<unknown>): Promise<BackendHealth> {
  const t0 = performance.now();
  try {
    await check();
    return { backend, ok: true, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    return { backend, ok: false, ms: Math.round(performance.now() - t0), error: errorMessage(e) };
  }
}

/**
 * Failed logons per key (a username, or a client address), shared by every auth instance so
 * that n instances do not allow n times the failures. A key's window opens at its first
 * failure and lasts `windowMs`; the `maxFailures`-th failure inside it locks the key for
 * `windowMs` from then; a failure after the window or the lock is over opens a new window.
 */
export interface FailureStore {
  /** Milliseconds until `key` may try again; 0 if it may now. */
  retryAfterMs(key: string, now: number): Promise<number>;
  /** Count one failure of `key` at `now`. */
  fail(key: string, now: number): Promise<void>;
  /** Forget `key` (a user who just logged on). */
  reset(key: string): Promise<void>;
  /** Drop the keys whose window and lock are both over (where nothing expires them by itself). */
  prune(now: number): Promise<void>;
}

export interface FailureRule {
  maxFailures: number;
  windowMs: number;
}
