/**
 * Storage contracts: one interface per kind of state, all async, so that the in-memory
 * adapters (the embedded default) and the PostgreSQL/Redis ones are interchangeable.
 * Services reach state only through these.
 */
import { errorMessage } from '../errors';
import { ownerOnly, targetWriters, type Permissions } from '../permissions';

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
  /**
   * The session's version (its ETag at the edge): drawn at creation from a counter shared by
   * every session of the store, so no two sessions ever hold the same one. Use (touch) does
   * not change it: it names what a client sees of the session, not when it was last used.
   */
  version: number;
}

/** What a compare-and-write answers: done, or refused with the version found (none: the record is gone). */
export type Versioned = { done: true; version: number } | { done: false; version: number | undefined };

export interface SessionStore {
  /** Store a new session; answers its version, or undefined if the key is taken (the caller draws another). */
  create(session: Omit<SessionRecord, 'version'>): Promise<number | undefined>;
  get(sesskey: number): Promise<SessionRecord | undefined>;
  /**
   * Use the sessions of `sesskeys` at `at`, in one round trip: answers those that exist, as
   * found before this use (in no particular order), and moves each one's lastUsed to `at`
   * (never backwards) unless it had been idle `idleMs` or longer by then, in which case it
   * is left for the caller to end.
   */
  touch(sesskeys: readonly number[], at: number, idleMs: number): Promise<SessionRecord[]>;
  /** Remove; true if it existed. */
  delete(sesskey: number): Promise<boolean>;
  /**
   * Remove only if the session is still at `version`, the check and the removal one atomic
   * step; refused, nothing removed, with the version found (undefined: no such session).
   */
  deleteIfVersion(sesskey: number, version: number): Promise<Versioned>;
  /** Remove and answer every session last used before `before`. */
  expire(before: number): Promise<number[]>;
}

/**
 * The timestamp of a write to a collection whose last one was `last`: the clock, or one more
 * than `last` when the clock has not passed it (two writes in one millisecond, or a clock that
 * stepped back), so that a collection's timestamps only ever grow. Each store takes it in the
 * same atomic step as the write, against the collection's last timestamp.
 */
export function stamp(now: number, last: number): number {
  return Math.max(Math.floor(now), last + 1);
}

/** A channel and its last_modified (ms since the epoch: the timestamp of its last write). */
export interface ChannelEntry {
  name: string;
  lastModified: number;
}

/** The channel list at one moment: its names and its version. */
export interface ChannelList {
  /** Every channel name, sorted. */
  names: string[];
  /** Every channel with its timestamp, in the order of `names`. */
  channels: ChannelEntry[];
  /**
   * The list's timestamp: that of its last write (0 before the first), strictly increasing
   * (`stamp`): a create or a change of a channel's permissions (which may change who sees it
   * listed), stamped in the same atomic step; what a compare-and-create compares.
   */
  version: number;
}

export interface ChannelCreate {
  /** The channel was created now (false: it existed, or the create was refused). */
  created: boolean;
  /** Refused: the list was not at the expected version; nothing was created. */
  stale: boolean;
  /** The list's version after the create (when refused: the version found). */
  version: number;
  /** The channel's timestamp, when it exists (created now or before). */
  lastModified?: number;
}

/** One channel as stored. */
export interface ChannelRecord extends ChannelEntry {
  createdBy: string;
  /** Who may read it and who may post to it (lib/permissions.ts). */
  permissions: Permissions;
}

export interface ChannelStore {
  /**
   * The names and the version, read together (one snapshot); with `principals`, only the
   * channels one of them may read (lib/permissions.ts `canRead`), the version still the whole list's.
   */
  list(principals?: readonly string[]): Promise<ChannelList>;
  /**
   * Insert if absent, with `permissions` (without: public, lib/permissions.ts `publicChannel`).
   * With `expectedVersion`, only if the list is still at that version,
   * the check and the insert being one atomic step (concurrent creates naming one version:
   * at most one passes, whatever the backend and the number of processes).
   */
  create(name: string, createdBy: string, expectedVersion?: number, permissions?: Permissions): Promise<ChannelCreate>;
  exists(name: string): Promise<boolean>;
  /** The channel, or undefined when there is none. */
  get(name: string): Promise<ChannelRecord | undefined>;
  /**
   * Replace the channel's permissions, a write: stamped (`stamp`) as the channel's last_modified
   * and the list's version in the same atomic step. Answers the new timestamp; undefined (nothing
   * stamped) when there is no such channel.
   */
  setPermissions(name: string, permissions: Permissions): Promise<number | undefined>;
  /**
   * `setPermissions`, only if the channel's last_modified is still `version`, the check and the
   * write one atomic step (of concurrent writers naming one version, exactly one writes); refused,
   * nothing written, with the last_modified found (undefined: no such channel).
   */
  setPermissionsIfVersion(name: string, permissions: Permissions, version: number): Promise<Versioned>;
}

export interface StoredMessage {
  messageid: number;
  username: string;
  message: string;
  /**
   * When it was stored, ms since the epoch: max(now, the channel's previous message's + 1), decided in
   * the atomic step that gives its id, so strictly increasing in id order within a channel (the /v1
   * protocol's `last_modified`, docs/API-V1.md).
   */
  lastModified: number;
}

/**
 * What an append answers: the message's id and its stamp (`StoredMessage.lastModified`). A replay
 * of an idempotency key answers the stamp its message was stored with while it is retained, 0 after.
 * `announced`: the store has announced the message on the messages topic itself, in the step that
 * stored it (`announceHead`), so the caller does not.
 */
export type Appended = Pick<StoredMessage, 'messageid' | 'lastModified'> & { announced?: boolean };

/**
 * What a conditional append expects the channel to be at: its last id (`lastId`), or the stamp of
 * its last message (`lastModified`, the /v1 protocol's version of the message list); 0 for a channel
 * with no message yet.
 */
export type AppendExpect = { lastId: number } | { lastModified: number };

/** What a MessageStore's append takes as `retain`: a positive integer (a RangeError otherwise, a caller's bug). */
export function checkRetain(retain: number): void {
  if (!Number.isSafeInteger(retain) || retain < 1)
    throw new RangeError(`retain must be a positive integer, got ${retain}`);
}

/**
 * The idempotency key of an append: recorded for (channel, username, `key`) with the id the
 * message gets, in the same atomic step as the message, and kept until `now + ttlMs` whatever
 * the channel's retention; an append whose key is recorded and unexpired stores nothing and
 * answers the id recorded.
 */
export interface AppendKey {
  key: string;
  /** ms since the epoch. */
  now: number;
  ttlMs: number;
}

export interface MessageStore {
  /**
   * Append to `channel`: the id is the channel's last id + 1 (from 1, no gaps, also under
   * concurrent posters), then only the newest `retain` messages are kept. With `key`, see AppendKey.
   */
  append(channel: string, username: string, message: string, retain: number, key?: AppendKey): Promise<Appended>;
  /**
   * `append`, only if the channel is still at `expect` (its last id, or its last stamp), the check
   * and the append being one atomic step; undefined (and nothing stored) otherwise. A key already
   * recorded answers its message, wherever the channel is (the key is looked at first).
   */
  appendIf(
    channel: string,
    username: string,
    message: string,
    retain: number,
    expect: AppendExpect,
    key?: AppendKey,
  ): Promise<Appended | undefined>;
  /** Forget the append keys expired by `now` (where nothing expires them by itself); answers how many. */
  pruneKeys(now: number): Promise<number>;
  /** The last id given in `channel` and its stamp, both 0 if none. */
  last(channel: string): Promise<Appended>;
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
  /**
   * The record's last_modified: the timestamp (`stamp`, ms) of its last write, strictly
   * increasing across the writes of its owner's nodes; what the store sets, whatever a caller
   * passes, and what a compare-and-write compares.
   */
  version: number;
  /** Who may see it (read) and control it (write): lib/permissions.ts. */
  permissions: Permissions;
}

/** What is left of a deleted node for a while: its id and the timestamp of its deletion. */
export interface NodeTombstone {
  id: string;
  lastModified: number;
}

/** What a caller chooses of a new node; the rest starts as `newNode` sets it. */
export type NewNodeFields = Pick<NodeRecord, 'id' | 'owner' | 'name' | 'image' | 'size' | 'command'> &
  Partial<Pick<NodeRecord, 'permissions'>>;

/**
 * A node record as it is first written: BUILDING, not yet placed, made and updated `at` (ms); the
 * store stamps its version. Its owner's alone unless `fields` gives permissions.
 */
export function newNode(fields: NewNodeFields, at: number): NodeRecord {
  return {
    ...fields,
    permissions: fields.permissions ?? ownerOnly(fields.owner),
    status: 'BUILDING',
    task: '',
    reason: '',
    host: '',
    port: 0,
    pid: 0,
    exitCode: -1,
    signal: '',
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** One owner's nodes at one moment, and the version of that list. */
export interface OwnedNodes {
  /** Oldest first (createdAt, then id). */
  nodes: NodeRecord[];
  /** The owner's deleted nodes not yet pruned (`pruneTombstones`), by timestamp. */
  deleted: NodeTombstone[];
  /**
   * The timestamp of the last write of any of the owner's nodes (create, put, delete): each
   * write takes `stamp(now, version)` as its own and the list's, in the same atomic step; 0
   * before the first.
   */
  version: number;
  /**
   * The store-wide sharing stamp, read in the same snapshot. Every write of a node takes
   * `stamp(now, max(its owner's list, sharing))` as its own timestamp and its owner's list's, so it
   * comes after every sharing change before it; a write of a node that is shared before or after
   * it (`sharedNode`: its permissions changed, its delete, its create, any change of it) is stamped
   * after every owner's list too, and is the sharing stamp, in the same atomic step. 0 before the
   * first.
   */
  sharing: number;
}

/**
 * Whether another user than its owner may see node `node`: its permissions name a principal
 * other than its owner's account (another account, `system.Authenticated`, `system.Everyone`).
 */
export function sharedNode(node: Pick<NodeRecord, 'owner' | 'permissions'>): boolean {
  const own = `account:${node.owner}`;
  return [...node.permissions.read, ...node.permissions.write].some((p) => p !== own);
}

/**
 * The timestamp of the node list a user sees (docs/API-V1.md "Permissions"): the last of its own
 * list's and the sharing stamp, so that it moves on every change of what the user may see, a
 * node shared with it unshared or deleted too (which leaves no tombstone in its list).
 */
export function viewVersion(owned: Pick<OwnedNodes, 'version' | 'sharing'>): number {
  return Math.max(owned.version, owned.sharing);
}

export interface NodeStore {
  get(id: string): Promise<NodeRecord | undefined>;
  /** The nodes of `owner` (every node when undefined), oldest first (createdAt, then id). */
  list(owner?: string): Promise<NodeRecord[]>;
  /** The nodes one of `principals` may read (lib/permissions.ts `canRead`), whoever owns them, oldest first. */
  readable(principals: readonly string[]): Promise<NodeRecord[]>;
  /** The nodes of `owner` and their list's version, read together (one snapshot). */
  owned(owner: string): Promise<OwnedNodes>;
  /**
   * Insert a new node unless the id is taken ('exists'), its owner already holds a node of that
   * name ('name': a name is the node's host, docs/ROUTING.md "Static URLs") or `limit` nodes
   * ('limit'), and, with `expectedListVersion`, only if the owner's view of the list is still at
   * that version (`viewVersion`: its own list's and the sharing stamp; 'stale', checked first); the
   * checks and the insert are one step, so concurrent creates can pass neither the limit, the name
   * nor the version.
   */
  create(
    node: NodeRecord,
    limit: number,
    expectedListVersion?: number,
  ): Promise<'created' | 'limit' | 'exists' | 'stale' | 'name'>;
  /** Insert or replace; answers the version stored (the write's timestamp, `stamp`). */
  put(node: NodeRecord): Promise<number>;
  /**
   * Replace only if the record is still at `version`, the check and the write one atomic
   * step; refused, nothing written, with the version found (undefined: no such node).
   */
  putIfVersion(node: NodeRecord, version: number): Promise<Versioned>;
  /** Remove, leaving a tombstone stamped as any write; true if it existed. */
  delete(id: string): Promise<boolean>;
  /** Forget the tombstones stamped before `before`; answers how many. */
  pruneTombstones(before: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------
// Routes (services/routes, docs/ROUTING.md): custom routes, and where each node is.
// ---------------------------------------------------------------------------------------

/** How a route sends what it matches: forwarded (`proxy`) or answered 307 to the target (`redirect`). */
export type RouteMode = 'proxy' | 'redirect';

/** A custom route: a source host to one of its owner's nodes or (administrators) a URL. */
export interface RouteRecord {
  /** The host matched: lower case, no port; unique across every route. */
  source: string;
  owner: string;
  /** A node id, or '' when the target is a URL. */
  targetNode: string;
  /** An http:// or https:// URL, or '' when the target is a node. */
  targetUrl: string;
  mode: RouteMode;
  /** A request that came over plain HTTP is redirected to https:// first. */
  enforceHttps: boolean;
  /** 0: the proxy's own. */
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** ms since the epoch; a replace keeps createdAt. */
  createdAt: number;
  updatedAt: number;
  /**
   * The route's last_modified: the timestamp (`stamp`, ms) of its last write, strictly
   * increasing across the writes of its owner's routes; what the store sets, whatever a caller
   * passes.
   */
  version: number;
}

/** What is left of a deleted route for a while: its source and the timestamp of its deletion. */
export interface RouteTombstone {
  source: string;
  lastModified: number;
}

/** One owner's routes at one moment, and the version of that list. */
export interface OwnedRoutes {
  /** Oldest first (createdAt, then source). */
  routes: RouteRecord[];
  /**
   * The owner's deleted routes not yet pruned (`pruneTombstones`), by timestamp: a delete leaves
   * one, stamped as the write it is; the owner's create of that source again removes it.
   */
  deleted: RouteTombstone[];
  /** The timestamp of the last write of any of the owner's routes (as `OwnedNodes`); 0 before the first. */
  version: number;
}

/** Where a node is, as compute last told Routes (proto/routes.proto `NodeTarget`). */
export interface NodeTargetRecord {
  id: string;
  name: string;
  owner: string;
  status: string;
  host: string;
  port: number;
  /** The node record's version in compute's store, in `epoch`'s sequence. */
  version: number;
  epoch: string;
  /** Who may control the node, so route to it (its permissions' `write`). */
  write: string[];
}

/**
 * What a route write answers: the route as written (or as it was, for a delete), or why nothing
 * was written: `exists`, the source is routed; `absent`, no such route of this owner; `stale`,
 * not at the version named (`version`: the one found).
 */
export type RouteWrite =
  { done: true; route: RouteRecord } | { done: false; reason: 'exists' | 'absent' | 'stale'; version?: number };

/** What a node sync did: stored (and announced), unchanged (held as it is), stale (older than held, or dropped). */
export type NodeSync = 'stored' | 'unchanged' | 'stale';

/** How long a dropped node's tombstone keeps older syncs of it out. */
export const NODE_TOMBSTONE_MS = 3_600_000;

/** A change of a RouteStore, as its topic announces it. */
export type RouteChange =
  | { kind: 'route'; route: RouteRecord }
  | { kind: 'route_deleted'; source: string }
  | { kind: 'node'; node: NodeTargetRecord }
  | { kind: 'node_deleted'; id: string };

/**
 * Custom routes and node targets (services/routes). Every write that changes something
 * announces its change on `topic` in the same atomic step (memory: the same synchronous step;
 * PostgreSQL: NOTIFY in its transaction, delivered at commit; Redis: PUBLISH in its script), so
 * every subscriber of every process sees the changes in the order they were made.
 */
export interface RouteStore {
  get(source: string): Promise<RouteRecord | undefined>;
  /** The routes of `owner` and their list's version, read together (one snapshot). */
  owned(owner: string): Promise<OwnedRoutes>;
  /** Every route, oldest first. */
  routes(): Promise<RouteRecord[]>;
  /**
   * Insert `route`, stamped, unless its source is routed ('exists'), and, with
   * `expectedListVersion`, only if its owner's list is still at it ('stale', checked first).
   */
  create(route: RouteRecord, expectedListVersion?: number): Promise<RouteWrite>;
  /**
   * Replace the route of `route.source` if it exists and is `route.owner`'s ('absent'
   * otherwise), with `expectedVersion` only if it is still at it ('stale'); createdAt is kept.
   */
  replace(route: RouteRecord, expectedVersion?: number): Promise<RouteWrite>;
  /**
   * Remove `owner`'s route of `source` ('absent', 'stale' as replace), leaving a tombstone stamped
   * as the write; answers the route as it was.
   */
  delete(source: string, owner: string, expectedVersion?: number): Promise<RouteWrite>;
  /** Forget the route tombstones stamped before `before`; answers how many. */
  pruneTombstones(before: number): Promise<number>;
  node(id: string): Promise<NodeTargetRecord | undefined>;
  /** Every node target held (tombstones left out), by id. */
  nodes(): Promise<NodeTargetRecord[]>;
  /**
   * Hold `target` unless one of the same epoch is held at a newer version, or was dropped at
   * that version or a newer one ('stale'); one equal to what is held is 'unchanged'.
   */
  syncNode(target: NodeTargetRecord): Promise<NodeSync>;
  /**
   * Forget the node, leaving a tombstone of (`version`, `epoch`) for NODE_TOMBSTONE_MS; true if
   * it was held (and the drop announced).
   */
  dropNode(id: string, version: number, epoch: string): Promise<boolean>;
  /** The topic the writes announce their changes on (encodeRouteChange), shared by every process of the store. */
  readonly topic: Broadcast;
}

/** The order a RouteStore answers routes in: oldest first (createdAt, then source). */
export function byRouteAge(a: RouteRecord, b: RouteRecord): number {
  return a.createdAt - b.createdAt || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0);
}

/** The order a RouteStore answers node targets in: by id. */
export function byTargetId(a: NodeTargetRecord, b: NodeTargetRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A node target in its one key order (what the stores compare and announce), nothing else. */
export function nodeTarget(t: NodeTargetRecord): NodeTargetRecord {
  return {
    id: t.id,
    name: t.name,
    owner: t.owner,
    status: t.status,
    host: t.host,
    port: t.port,
    version: t.version,
    epoch: t.epoch,
    // None at all: a target from before permissions existed (held, or pushed by an older compute).
    write: targetWriters(t.write, t.owner),
  };
}

/** A route without what the store sets (version, createdAt): what route messages and records carry as JSON. */
export function routeBody(route: RouteRecord): Omit<RouteRecord, 'version' | 'createdAt'> {
  const { version: _version, createdAt: _createdAt, ...body } = route;
  return body;
}

/**
 * A change as one topic message: `r <version> <createdAt> <route body JSON>`, `R <source>`,
 * `n <node target JSON>`, `N <id>`. The Redis scripts write the first kind themselves, from
 * the version they give; other messages on the topic (a service's own) start otherwise.
 */
export function encodeRouteChange(change: RouteChange): string {
  switch (change.kind) {
    case 'route':
      return `r ${change.route.version} ${change.route.createdAt} ${JSON.stringify(routeBody(change.route))}`;
    case 'route_deleted':
      return `R ${change.source}`;
    case 'node':
      return `n ${JSON.stringify(change.node)}`;
    case 'node_deleted':
      return `N ${change.id}`;
  }
}

/** The change a topic message announces, or undefined when it announces none (or is malformed). */
export function decodeRouteChange(message: string): RouteChange | undefined {
  try {
    switch (message.slice(0, 2)) {
      case 'r ': {
        const m = /^r (\d+) (\d+) (.*)$/s.exec(message);
        if (m === null) return undefined;
        const body = JSON.parse(m[3]) as Omit<RouteRecord, 'version' | 'createdAt'>;
        return { kind: 'route', route: { ...body, version: Number(m[1]), createdAt: Number(m[2]) } };
      }
      case 'R ':
        return { kind: 'route_deleted', source: message.slice(2) };
      case 'n ':
        return { kind: 'node', node: JSON.parse(message.slice(2)) as NodeTargetRecord };
      case 'N ':
        return { kind: 'node_deleted', id: message.slice(2) };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
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
 * invalidations; Routes instances hearing the changes of their store, `RouteStore.topic`).
 * Every subscriber, the publisher included, receives the messages in one order, the backend's
 * (Redis PUBLISH, PostgreSQL NOTIFY at commit). A subscription that breaks may lose messages:
 * `onGap` says so before delivery resumes.
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

// ---------------------------------------------------------------------------------------
// Idempotency keys (gateway/hooks/idempotency.ts, docs/API-V1.md "Idempotency-Key").
// ---------------------------------------------------------------------------------------

/** The final answer of a request, as replayed: its status, the headers that matter, its body as sent. */
export interface IdempotentResponse {
  status: number;
  /** Lower-case names: `content-type`, `location`, `etag` (those the answer had). */
  headers: Record<string, string>;
  body: string;
}

/**
 * What claiming a key answers: `claimed`, the caller runs the request and then completes or
 * releases the claim with `token`; `running`, another request holds it (for `retryAfterMs` at
 * most); `done`, its final answer is stored. `fingerprint` is the one the first request gave.
 */
export type IdempotencyClaim =
  | { state: 'claimed'; token: string }
  | { state: 'running'; fingerprint: string; retryAfterMs: number }
  | { state: 'done'; fingerprint: string; response: IdempotentResponse };

/**
 * Idempotency keys and the answers they stand for, shared by every gateway instance. An entry is
 * `(scope, key)`: claimed by one request at a time for a lease, then completed with its answer
 * (kept `ttlMs`) or released (gone at once). An entry past its expiry is as if absent, whether or
 * not `prune` has removed it yet.
 */
export interface IdempotencyStore {
  /**
   * Claim `(scope, key)` for `leaseMs` from `now`, unless an unexpired entry holds it; the check
   * and the claim are one atomic step, so of concurrent claims exactly one is `claimed`.
   */
  claim(scope: string, key: string, fingerprint: string, now: number, leaseMs: number): Promise<IdempotencyClaim>;
  /**
   * Store the answer of the claim `token`, kept until `now + ttlMs`; false (nothing stored) when
   * the claim is no longer held (its lease ran out and another request claimed the key).
   */
  complete(
    scope: string,
    key: string,
    token: string,
    response: IdempotentResponse,
    now: number,
    ttlMs: number,
  ): Promise<boolean>;
  /** Give the claim `token` up: the key is free at once (a no-op when it is no longer held). */
  release(scope: string, key: string, token: string): Promise<void>;
  /** Remove the entries expired by `now` (where nothing expires them by itself); answers how many. */
  prune(now: number): Promise<number>;
}

/*
 * The announce of a posted message on the messages topic (`Broadcast`): what
 * services/messages/stream.ts publishes once a post is stored and what every instance's streams
 * hear, and what the PostgreSQL message store sends itself, in the transaction that stores the
 * message (./messages-postgres.ts), when the topic is PostgreSQL's. One JSON object: `c` the
 * channel, `i` the id, `u` and `m` the username and the text, `t` the stamp; a message too long
 * for the topic carries only `c`, `i` (and `t`).
 */

/**
 * Longest topic message carrying the text; a longer one (PostgreSQL's NOTIFY payload stops at
 * 8000 bytes) announces only the channel and the id, and the streams send `posted`.
 */
export const MAX_TOPIC_BYTES = 7000;

/** The most bytes `completeAnnounce` adds to a head: two safe integers and their keys. */
const TAIL_MAX_BYTES = 40;

/** PostgreSQL refuses a NOTIFY payload of this many bytes or more. */
const NOTIFY_MAX_BYTES = 8000;

/** A posted message as the topic carries it (`t`: its last_modified; absent from an older instance's). */
export interface Announce {
  c: string;
  i: number;
  u?: string;
  m?: string;
  t?: number;
}

/** The topic message announcing `message` posted to `channel`. */
export function encodeAnnounce(channel: string, message: StoredMessage): string {
  const { messageid: i, username: u, message: m, lastModified: t } = message;
  const full = JSON.stringify({ c: channel, i, u, m, t });
  if (Buffer.byteLength(full, 'utf8') <= MAX_TOPIC_BYTES) return full;
  return JSON.stringify({ c: channel, i: message.messageid });
}

/**
 * The announce of a message before its id and stamp are known: `completeAnnounce` (or the SQL that
 * does the same) appends them. The text is left out where the whole would pass MAX_TOPIC_BYTES;
 * undefined where even that would not fit a NOTIFY payload (a channel name of thousands of bytes).
 */
export function announceHead(channel: string, username: string, message: string): string | undefined {
  const c = JSON.stringify(channel);
  // 3 bytes per UTF-16 unit at most: only a long text needs counting.
  const full = `{"c":${c},"u":${JSON.stringify(username)},"m":${JSON.stringify(message)},"i":`;
  if (full.length * 3 + TAIL_MAX_BYTES <= MAX_TOPIC_BYTES) return full;
  if (Buffer.byteLength(full, 'utf8') + TAIL_MAX_BYTES <= MAX_TOPIC_BYTES) return full;
  const short = `{"c":${c},"i":`;
  return Buffer.byteLength(short, 'utf8') + TAIL_MAX_BYTES < NOTIFY_MAX_BYTES ? short : undefined;
}

/** The topic message of a head (`announceHead`) once the message has its id and stamp. */
export function completeAnnounce(head: string, messageid: number, lastModified: number): string {
  return `${head}${messageid},"t":${lastModified}}`;
}

/** The announce of a topic message, or undefined when it is none (or is a list: `decodeAnnounces`). */
export function decodeAnnounce(text: string): Announce | undefined {
  try {
    return announceOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function announceOf(value: unknown): Announce | undefined {
  const a = value as Partial<Announce> | null;
  if (typeof a !== 'object' || a === null || typeof a.c !== 'string' || typeof a.i !== 'number') return undefined;
  return a as Announce;
}

/**
 * The announces of a topic message, in order: one announce, or the JSON list of several that the
 * PostgreSQL store sends for the appends of one call (`announceGroups`); none when it carries none.
 */
export function decodeAnnounces(text: string): Announce[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) {
    const a = announceOf(value);
    return a === undefined ? [] : [a];
  }
  const list: Announce[] = [];
  for (const item of value) {
    const a = announceOf(item);
    if (a !== undefined) list.push(a);
  }
  return list;
}

/**
 * The NOTIFY of each head of one call (`announceHead`; null: none), numbered from 0: consecutive heads
 * share one while the JSON list of their completed announces stays under PostgreSQL's payload limit.
 * A NOTIFY of one head sends its announce alone (what instances of an older version read), of several
 * the list (`decodeAnnounces`).
 */
export function announceGroups(heads: ReadonlyArray<string | null>): number[] {
  const groups: number[] = [];
  let group = 0;
  let bytes = 1; // '[' and, per announce, its bytes and a ',' (the last one's being the ']')
  let count = 0;
  for (const head of heads) {
    if (head !== null) {
      const size = Buffer.byteLength(head, 'utf8') + TAIL_MAX_BYTES + 1;
      if (count > 0 && bytes + size >= NOTIFY_MAX_BYTES) {
        group++;
        bytes = 1;
        count = 0;
      }
      bytes += size;
      count++;
    }
    groups.push(group);
  }
  return groups;
}
