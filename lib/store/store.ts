/**
 * Storage contracts: one interface per kind of state, all async, so that the in-memory
 * adapters (the embedded default) and the PostgreSQL/Redis ones are interchangeable.
 * Services reach state only through these.
 */

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
  /** The last id given in `channel`, 0 if none. */
  last(channel: string): Promise<number>;
  /** The retained messages with first <= id <= last, in id order. */
  range(channel: string, first: number, last: number): Promise<StoredMessage[]>;
}
