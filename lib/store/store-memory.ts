/**
 * The in-memory storage adapters: the embedded default (docs/ARCHITECTURE.md "The parts").
 * State lives in this process only; every method is async so these stand in for the
 * PostgreSQL and Redis adapters behind the same contracts (lib/store/contracts.ts).
 */
import { canRead, copyPermissions, publicChannel, type Permissions } from '../permissions';
import { checkRetain, sharedNode, stamp, viewVersion } from './contracts';
import type {
  AppendExpect,
  Appended,
  AppendKey,
  ChannelCreate,
  ChannelList,
  ChannelRecord,
  ChannelStore,
  FailureRule,
  FailureStore,
  MessageStore,
  NodeRecord,
  NodeStore,
  NodeTombstone,
  OwnedNodes,
  SessionRecord,
  SessionStore,
  StoredMessage,
  UserRecord,
  UserStore,
  Versioned,
} from './contracts';

// ---------------------------------------------------------------------------------------
// Channels and messages (services/channels, services/messages).
// ---------------------------------------------------------------------------------------

/** Channel names, sorted by UTF-16 code unit (the same order as PostgreSQL's "C" collation). */
export class MemoryChannelStore implements ChannelStore {
  private readonly channels = new Map<
    string,
    { createdBy: string; createdAt: number; permissions: Permissions; lastModified: number }
  >();
  private version = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async list(principals?: readonly string[]): Promise<ChannelList> {
    const channels = [...this.channels]
      .filter(([, c]) => principals === undefined || canRead(c.permissions, principals))
      .map(([name, c]) => ({ name, lastModified: c.lastModified }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { names: channels.map((c) => c.name), channels, version: this.version };
  }

  /** Checked, inserted and stamped in one synchronous step: no other create can interleave. */
  async create(
    name: string,
    createdBy: string,
    expectedVersion?: number,
    permissions?: Permissions,
  ): Promise<ChannelCreate> {
    const existing = this.channels.get(name)?.lastModified;
    if (expectedVersion !== undefined && expectedVersion !== this.version)
      return { created: false, stale: true, version: this.version, lastModified: existing };
    if (existing !== undefined) return { created: false, stale: false, version: this.version, lastModified: existing };
    const granted = copyPermissions(permissions ?? publicChannel(createdBy));
    this.version = stamp(this.now(), this.version);
    this.channels.set(name, { createdBy, createdAt: Date.now(), permissions: granted, lastModified: this.version });
    return { created: true, stale: false, version: this.version, lastModified: this.version };
  }

  async exists(name: string): Promise<boolean> {
    return this.channels.has(name);
  }

  async get(name: string): Promise<ChannelRecord | undefined> {
    const channel = this.channels.get(name);
    if (channel === undefined) return undefined;
    const { createdBy, lastModified } = channel;
    return { name, createdBy, permissions: copyPermissions(channel.permissions), lastModified };
  }

  /** Replaced and stamped in one synchronous step. */
  async setPermissions(name: string, permissions: Permissions): Promise<number | undefined> {
    const channel = this.channels.get(name);
    if (channel === undefined) return undefined;
    channel.permissions = copyPermissions(permissions);
    this.version = stamp(this.now(), this.version);
    channel.lastModified = this.version;
    return this.version;
  }

  /** Compared, replaced and stamped in one synchronous step. */
  async setPermissionsIfVersion(name: string, permissions: Permissions, version: number): Promise<Versioned> {
    const found = this.channels.get(name)?.lastModified;
    if (found !== version) return { done: false, version: found };
    return { done: true, version: (await this.setPermissions(name, permissions)) as number };
  }
}

/**
 * One channel's messages: the last id given and the last stamp (lastModified), and a ring of
 * the newest `capacity` messages where the message with id `n` sits in slot `(n - 1) % capacity`.
 * Ids oldestId..lastId are retained (none when oldestId > lastId).
 */
interface ChannelLog {
  lastId: number;
  lastModified: number;
  oldestId: number;
  capacity: number;
  ring: Array<StoredMessage | undefined>;
}

/** An append key recorded: the id its post was given, and when it expires (ms since the epoch). */
interface KeyEntry {
  messageid: number;
  expiresAt: number;
}

/** Messages per channel, each channel a ring of its newest `retain` messages. */
export class MemoryMessageStore implements MessageStore {
  private readonly logs = new Map<string, ChannelLog>();
  /** The append keys recorded: by channel, then by `[username, key]` as JSON. */
  private readonly keys = new Map<string, Map<string, KeyEntry>>();

  /**
   * The id is taken and the message stored in one synchronous step, with no `await` in
   * between: in one Node process no other append can interleave, so ids are 1, 2, 3, …
   * with no gap and no duplicate however many posters call at once, and each stamp is
   * max(now, the previous one + 1).
   */
  async appendIf(
    channel: string,
    username: string,
    message: string,
    retain: number,
    expect: AppendExpect,
    key?: AppendKey,
  ): Promise<Appended | undefined> {
    // Checked and appended with no `await` in between: nothing can interleave.
    const known = this.keyed(channel, username, key);
    if (known !== undefined) return known;
    const log = this.logs.get(channel);
    const at =
      'lastId' in expect ? (log?.lastId ?? 0) === expect.lastId : (log?.lastModified ?? 0) === expect.lastModified;
    if (!at) return undefined;
    return this.append(channel, username, message, retain, key);
  }

  async append(channel: string, username: string, message: string, retain: number, key?: AppendKey): Promise<Appended> {
    checkRetain(retain);
    const known = this.keyed(channel, username, key);
    if (known !== undefined) return known;
    const log = this.logOf(channel, retain);
    const messageid = ++log.lastId;
    const lastModified = (log.lastModified = Math.max(Date.now(), log.lastModified + 1));
    // Frozen: range answers these objects themselves, which callers may keep things by (services/messages).
    log.ring[(messageid - 1) % log.capacity] = Object.freeze({ messageid, username, message, lastModified });
    log.oldestId = Math.max(log.oldestId, messageid - log.capacity + 1);
    if (key !== undefined) {
      let keys = this.keys.get(channel);
      if (keys === undefined) this.keys.set(channel, (keys = new Map<string, KeyEntry>()));
      keys.set(JSON.stringify([username, key.key]), { messageid, expiresAt: key.now + key.ttlMs });
    }
    return { messageid, lastModified };
  }

  /** The message recorded for `key` in the channel, if it is there and unexpired (its stamp 0 once not retained). */
  private keyed(channel: string, username: string, key: AppendKey | undefined): Appended | undefined {
    if (key === undefined) return undefined;
    const found = this.keys.get(channel)?.get(JSON.stringify([username, key.key]));
    if (found === undefined || found.expiresAt <= key.now) return undefined;
    const log = this.logs.get(channel);
    const retained = log !== undefined && found.messageid >= log.oldestId && found.messageid <= log.lastId;
    const lastModified = retained ? log.ring[(found.messageid - 1) % log.capacity]!.lastModified : 0;
    return { messageid: found.messageid, lastModified };
  }

  async pruneKeys(now: number): Promise<number> {
    let pruned = 0;
    for (const [channel, keys] of this.keys) {
      for (const [id, entry] of keys)
        if (entry.expiresAt <= now) {
          keys.delete(id);
          pruned++;
        }
      if (keys.size === 0) this.keys.delete(channel);
    }
    return pruned;
  }

  async last(channel: string): Promise<Appended> {
    const log = this.logs.get(channel);
    return { messageid: log?.lastId ?? 0, lastModified: log?.lastModified ?? 0 };
  }

  /** The retained messages themselves (frozen), not copies: the same object for a message at every call. */
  async range(channel: string, first: number, last: number): Promise<StoredMessage[]> {
    const log = this.logs.get(channel);
    if (log === undefined) return [];
    const lo = Math.max(first, log.oldestId);
    const hi = Math.min(last, log.lastId);
    const out: StoredMessage[] = [];
    for (let id = lo; id <= hi; id++) out.push(log.ring[(id - 1) % log.capacity]!);
    return out;
  }

  /** The channel's log, made on first use, its ring resized if `retain` changed. */
  private logOf(channel: string, retain: number): ChannelLog {
    let log = this.logs.get(channel);
    if (log === undefined) {
      log = {
        lastId: 0,
        lastModified: 0,
        oldestId: 1,
        capacity: retain,
        ring: new Array<StoredMessage | undefined>(retain),
      };
      this.logs.set(channel, log);
    } else if (log.capacity !== retain) {
      // Growing cannot bring back what already fell out; shrinking drops the oldest.
      const ring = new Array<StoredMessage | undefined>(retain);
      log.oldestId = Math.max(log.oldestId, log.lastId - retain + 1);
      for (let id = log.oldestId; id <= log.lastId; id++) ring[(id - 1) % retain] = log.ring[(id - 1) % log.capacity];
      log.capacity = retain;
      log.ring = ring;
    }
    return log;
  }
}

// ---------------------------------------------------------------------------------------
// Users and sessions (services/auth).
// ---------------------------------------------------------------------------------------

/** Users by name. Records are copied in and out, as a database adapter would. */
export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();

  async get(username: string): Promise<UserRecord | undefined> {
    const user = this.users.get(username);
    return user === undefined ? undefined : { ...user };
  }

  /** Check and insert in one synchronous step, so two first logons cannot both create. */
  async create(user: UserRecord): Promise<{ user: UserRecord; created: boolean }> {
    const existing = this.users.get(user.username);
    if (existing !== undefined) return { user: { ...existing }, created: false };
    this.users.set(user.username, { ...user });
    return { user: { ...user }, created: true };
  }
}

/**
 * Sessions by key. `expire` scans every session: O(n) per sweep, a few milliseconds per
 * million sessions, and right even if the clock steps back (an index ordered by lastUsed
 * would assume it never does).
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<number, SessionRecord>();
  private lastVersion = 0;

  async create(session: Omit<SessionRecord, 'version'>): Promise<number | undefined> {
    if (this.sessions.has(session.sesskey)) return undefined;
    const version = ++this.lastVersion;
    this.sessions.set(session.sesskey, { ...session, version });
    return version;
  }

  async get(sesskey: number): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sesskey);
    return session === undefined ? undefined : { ...session };
  }

  async touch(sesskeys: readonly number[], at: number, idleMs: number): Promise<SessionRecord[]> {
    const found: SessionRecord[] = [];
    for (const sesskey of sesskeys) {
      const session = this.sessions.get(sesskey);
      if (session === undefined) continue;
      found.push({ ...session });
      if (at > session.lastUsed && at - session.lastUsed < idleMs) session.lastUsed = at;
    }
    return found;
  }

  async delete(sesskey: number): Promise<boolean> {
    return this.sessions.delete(sesskey);
  }

  /** Compared and removed in one synchronous step. */
  async deleteIfVersion(sesskey: number, version: number): Promise<Versioned> {
    const found = this.sessions.get(sesskey)?.version;
    if (found !== version) return { done: false, version: found };
    this.sessions.delete(sesskey);
    return { done: true, version };
  }

  async expire(before: number): Promise<number[]> {
    const gone: number[] = [];
    for (const [sesskey, session] of this.sessions) {
      if (session.lastUsed < before) gone.push(sesskey);
    }
    for (const sesskey of gone) this.sessions.delete(sesskey);
    return gone;
  }
}

// ---------------------------------------------------------------------------------------
// Compute nodes (services/compute).
// ---------------------------------------------------------------------------------------

/** Node records by id. Records are copied in and out, so callers never share one. */
export class MemoryNodeStore implements NodeStore {
  private readonly nodes = new Map<string, NodeRecord>();
  /** The version (last timestamp) of each owner's list. */
  private readonly lists = new Map<string, number>();
  /** Deleted nodes, by id, with their owner. */
  private readonly tombstones = new Map<string, NodeTombstone & { owner: string }>();
  /** The sharing stamp (`OwnedNodes.sharing`). */
  private sharing = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async get(id: string): Promise<NodeRecord | undefined> {
    const node = this.nodes.get(id);
    return node === undefined ? undefined : copy(node);
  }

  async list(owner?: string): Promise<NodeRecord[]> {
    return this.where((n) => owner === undefined || n.owner === owner);
  }

  async readable(principals: readonly string[]): Promise<NodeRecord[]> {
    return this.where((n) => canRead(n.permissions, principals));
  }

  /** Copies of the nodes that pass `keep`, oldest first (createdAt, then id). */
  private where(keep: (node: NodeRecord) => boolean): NodeRecord[] {
    const out = [...this.nodes.values()].filter(keep).map(copy);
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async owned(owner: string): Promise<OwnedNodes> {
    const deleted = [...this.tombstones.values()]
      .filter((t) => t.owner === owner)
      .map((t) => ({ id: t.id, lastModified: t.lastModified }))
      .sort((a, b) => a.lastModified - b.lastModified);
    return { nodes: await this.list(owner), deleted, version: this.lists.get(owner) ?? 0, sharing: this.sharing };
  }

  /** Compared, counted and inserted in one synchronous step: no other write can interleave. */
  async create(
    node: NodeRecord,
    limit: number,
    expectedListVersion?: number,
  ): Promise<'created' | 'limit' | 'exists' | 'stale' | 'name'> {
    const view = viewVersion({ version: this.lists.get(node.owner) ?? 0, sharing: this.sharing });
    if (expectedListVersion !== undefined && expectedListVersion !== view) return 'stale';
    if (this.nodes.has(node.id)) return 'exists';
    const held = [...this.nodes.values()].filter((n) => n.owner === node.owner);
    if (held.some((n) => n.name === node.name)) return 'name';
    if (held.length >= limit) return 'limit';
    this.tombstones.delete(node.id);
    this.nodes.set(node.id, { ...copy(node), version: this.bump(node.owner, sharedNode(node)) });
    return 'created';
  }

  async put(node: NodeRecord): Promise<number> {
    const before = this.nodes.get(node.id);
    const version = this.bump(node.owner, sharedNode(node) || (before !== undefined && sharedNode(before)));
    this.tombstones.delete(node.id);
    this.nodes.set(node.id, { ...copy(node), version });
    return version;
  }

  /** Compared and written in one synchronous step. */
  async putIfVersion(node: NodeRecord, version: number): Promise<Versioned> {
    const found = this.nodes.get(node.id)?.version;
    if (found !== version) return { done: false, version: found };
    return { done: true, version: await this.put(node) };
  }

  async delete(id: string): Promise<boolean> {
    const node = this.nodes.get(id);
    if (node === undefined) return false;
    this.nodes.delete(id);
    this.tombstones.set(id, { id, owner: node.owner, lastModified: this.bump(node.owner, sharedNode(node)) });
    return true;
  }

  async pruneTombstones(before: number): Promise<number> {
    let n = 0;
    for (const [id, t] of this.tombstones) if (t.lastModified < before && this.tombstones.delete(id)) n++;
    return n;
  }

  /**
   * Stamp a write of one of `owner`'s nodes, after the last sharing change too: the list's new
   * timestamp, answered; also the sharing stamp's when the node is `shared` before or after it,
   * then after every list's last timestamp.
   */
  private bump(owner: string, shared: boolean): number {
    // A sharing change comes after every list's last write, so every reader's view moves.
    let last = Math.max(this.lists.get(owner) ?? 0, this.sharing);
    if (shared) for (const listed of this.lists.values()) last = Math.max(last, listed);
    const version = stamp(this.now(), last);
    this.lists.set(owner, version);
    if (shared) this.sharing = version;
    return version;
  }
}

/** A record with lists of its own. */
function copy(node: NodeRecord): NodeRecord {
  return { ...node, permissions: copyPermissions(node.permissions) };
}

interface FailureEntry {
  failures: number;
  windowStart: number;
  /** 0 while not locked. */
  lockedUntil: number;
}

/** Whether a new window starts at `now`: no window, or the window (unlocked) or the lock is over. */
function windowOver(e: FailureEntry | undefined, now: number, windowMs: number): boolean {
  if (e === undefined) return true;
  return e.lockedUntil === 0 ? now - e.windowStart >= windowMs : e.lockedUntil <= now;
}

/**
 * Failed logons in this process (one auth instance). The table is bounded: past
 * `maxEntries` the least recently failed key is forgotten first.
 */
export class MemoryFailureStore implements FailureStore {
  private readonly entries = new Map<string, FailureEntry>();

  constructor(
    private readonly rule: FailureRule,
    private readonly maxEntries = 100_000,
  ) {}

  /** Keys remembered. */
  get size(): number {
    return this.entries.size;
  }

  async retryAfterMs(key: string, now: number): Promise<number> {
    const e = this.entries.get(key);
    return e !== undefined && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  async fail(key: string, now: number): Promise<void> {
    let e = this.entries.get(key);
    if (windowOver(e, now, this.rule.windowMs)) e = { failures: 0, windowStart: now, lockedUntil: 0 };
    const entry = e as FailureEntry;
    entry.failures++;
    if (entry.failures >= this.rule.maxFailures && entry.lockedUntil === 0)
      entry.lockedUntil = now + this.rule.windowMs;
    // Re-inserted, so that the Map's order is the order of last failure (oldest first).
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  async reset(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async prune(now: number): Promise<void> {
    for (const [key, e] of this.entries) if (windowOver(e, now, this.rule.windowMs)) this.entries.delete(key);
  }
}
