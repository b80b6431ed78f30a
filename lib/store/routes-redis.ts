/**
 * Routes in Redis (AGORA_REDIS_URL), shared by every Routes instance. Every key starts with
 * AGORA_REDIS_PREFIX (`<p>` below):
 * - a route is the hash `<p>route:<source>` {o: owner, v: version, c: created_at, r: the rest
 *   as JSON}, a member of `<p>route-sources` (every source) and `<p>routes-of:<owner>`;
 * - each owner's list version is a field of the hash `<p>route-lists`;
 * - a deleted route's tombstone is a member (its source) of the sorted set
 *   `<p>route-tombstones:<owner>`, scored by the delete's timestamp, and (`<source> <owner>`: a
 *   source holds no space) of `<p>route-tombstones`, by which the old ones are pruned;
 * - a node target is the hash `<p>node-target:<id>` {v: version, e: epoch, r: the target as
 *   JSON, g: drop time when it is a tombstone}, a member of `<p>node-targets` while live, of
 *   the sorted set `<p>node-tombstones` (by drop time) once dropped.
 * Every write is one Lua script that also PUBLISHes its change on `<p>routes`, so subscribers
 * get the changes in the order Redis ran the scripts (lib/store/contracts.ts `RouteStore`);
 * `topic` is the SUBSCRIBE side, made by lib/store/index.ts on that channel.
 */
import {
  byRouteAge,
  byTargetId,
  encodeRouteChange,
  NODE_TOMBSTONE_MS,
  nodeTarget,
  routeBody,
  type Broadcast,
  type NodeSync,
  type NodeTargetRecord,
  type OwnedRoutes,
  type RouteRecord,
  type RouteStore,
  type RouteTombstone,
  type RouteWrite,
} from './contracts';
import type { RedisConnection } from './redis-connection';

/**
 * `stamp(lists, owner, now)`: the timestamp of a write to `owner`'s list in the hash `lists`, set
 * there: max(now, last + 1) (lib/store/contracts.ts "stamp"), as a decimal string (a Lua number
 * would print in exponent form).
 */
const STAMP = `
local function stamp(lists, owner, now)
  local ts = math.max(tonumber(now), tonumber(redis.call('HGET', lists, owner) or '0') + 1)
  ts = string.format('%.0f', ts)
  redis.call('HSET', lists, owner, ts)
  return ts
end`;

/**
 * KEYS route, owner's set, every source, lists, owner's tombstones, every tombstone; ARGV source, owner,
 * created_at, body, expected ('' none), channel, now.
 */
const CREATE = `${STAMP}
local list = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= list then return {0, 'stale', list} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 'exists', 0} end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1] .. ' ' .. ARGV[2])
local v = stamp(KEYS[4], ARGV[2], ARGV[7])
redis.call('HSET', KEYS[1], 'o', ARGV[2], 'v', v, 'c', ARGV[3], 'r', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[6], 'r ' .. v .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
return {1, ARGV[3], v}`;

/** KEYS route, lists; ARGV owner, body, expected ('' none), channel, now. */
const REPLACE = `${STAMP}
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return {0, 'absent', 0} end
local v = tonumber(redis.call('HGET', KEYS[1], 'v'))
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= v then return {0, 'stale', v} end
local ts = stamp(KEYS[2], ARGV[1], ARGV[5])
redis.call('HSET', KEYS[1], 'v', ts, 'r', ARGV[2])
local c = redis.call('HGET', KEYS[1], 'c')
redis.call('PUBLISH', ARGV[4], 'r ' .. ts .. ' ' .. c .. ' ' .. ARGV[2])
return {1, c, ts}`;

/**
 * KEYS route, owner's set, every source, lists, owner's tombstones, every tombstone; ARGV source, owner,
 * expected ('' none), channel, now.
 */
const DELETE = `${STAMP}
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[2] then return {0, 'absent', 0} end
local h = redis.call('HMGET', KEYS[1], 'v', 'c', 'r')
local v = tonumber(h[1])
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= v then return {0, 'stale', v} end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
local ts = stamp(KEYS[4], ARGV[2], ARGV[5])
redis.call('ZADD', KEYS[5], ts, ARGV[1])
redis.call('ZADD', KEYS[6], ts, ARGV[1] .. ' ' .. ARGV[2])
redis.call('PUBLISH', ARGV[4], 'R ' .. ARGV[1])
return {1, h[2], h[1], h[3]}`;

/** KEYS a set of sources, lists; ARGV owner ('' none), route key prefix: {list version, {v, c, r}...}. */
const READ = `
local out = {redis.call('HGET', KEYS[2], ARGV[1]) or '0'}
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HMGET', ARGV[2] .. s, 'v', 'c', 'r')
  if h[1] then table.insert(out, {h[1], h[2], h[3]}) end
end
return out`;

/**
 * KEYS owner's set, lists, owner's tombstones; ARGV owner, route key prefix:
 * {list version, {source, stamp, ...}, {v, c, r}...}.
 */
const READ_OWNED = `
local out = {redis.call('HGET', KEYS[2], ARGV[1]) or '0', redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')}
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HMGET', ARGV[2] .. s, 'v', 'c', 'r')
  if h[1] then table.insert(out, {h[1], h[2], h[3]}) end
end
return out`;

/** KEYS every tombstone; ARGV before, owner's tombstones key prefix: how many were stamped before. */
const PRUNE = `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, m in ipairs(old) do
  local at = string.find(m, ' ', 1, true)
  redis.call('ZREM', ARGV[2] .. string.sub(m, at + 1), string.sub(m, 1, at - 1))
  redis.call('ZREM', KEYS[1], m)
end
return #old`;

/** KEYS target, live set, tombstones; ARGV id, version, epoch, target JSON, channel, message. */
const SYNC_NODE = `
local h = redis.call('HMGET', KEYS[1], 'v', 'e', 'g', 'r')
if h[1] and h[2] == ARGV[3] then
  local held, new = tonumber(h[1]), tonumber(ARGV[2])
  if h[3] then
    if new <= held then return 'stale' end
  else
    if new < held then return 'stale' end
    if new == held and h[4] == ARGV[4] then return 'unchanged' end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'e', ARGV[3], 'r', ARGV[4])
redis.call('HDEL', KEYS[1], 'g')
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'stored'`;

/**
 * KEYS target, live set, tombstones; ARGV id, version, epoch, now, channel, message, tombstones
 * before this are pruned, target key prefix. Answers 1 when a live target was held.
 */
const DROP_NODE = `
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[7], 'LIMIT', 0, 100)) do
  redis.call('DEL', ARGV[8] .. id)
  redis.call('ZREM', KEYS[3], id)
end
local h = redis.call('HMGET', KEYS[1], 'v', 'e', 'g')
local v = tonumber(ARGV[2])
if h[1] and h[2] == ARGV[3] and tonumber(h[1]) > v then v = tonumber(h[1]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', v, 'e', ARGV[3], 'g', ARGV[4])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
if h[1] and not h[3] then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 1
end
return 0`;

/** KEYS live set; ARGV target key prefix: the JSON of every live target. */
const NODES = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local r = redis.call('HGET', ARGV[1] .. id, 'r')
  if r then table.insert(out, r) end
end
return out`;

type Row = [string, string, string];

function routeOf([v, c, r]: Row): RouteRecord {
  return { ...(JSON.parse(r) as Omit<RouteRecord, 'version' | 'createdAt'>), createdAt: Number(c), version: Number(v) };
}

export class RedisRouteStore implements RouteStore {
  private readonly p: string;
  private readonly channel: string;

  constructor(
    private readonly conn: RedisConnection,
    /** The SUBSCRIBE side of `<prefix>routes`. */
    readonly topic: Broadcast,
    private readonly now: () => number = Date.now,
  ) {
    this.p = conn.options.prefix;
    this.channel = `${this.p}routes`;
  }

  async get(source: string): Promise<RouteRecord | undefined> {
    const [v, c, r] = await this.conn.script<Array<string | null>>(
      "return redis.call('HMGET', KEYS[1], 'v', 'c', 'r')",
      [`${this.p}route:${source}`],
      [],
    );
    return v === null || c === null || r === null ? undefined : routeOf([v, c, r]);
  }

  /** One script, so the routes, the tombstones and the version come from one moment. */
  async owned(owner: string): Promise<OwnedRoutes> {
    const [list, gone, ...rows] = await this.conn.script<[string, string[], ...Row[]]>(
      READ_OWNED,
      [`${this.p}routes-of:${owner}`, `${this.p}route-lists`, `${this.p}route-tombstones:${owner}`],
      [owner, `${this.p}route:`],
    );
    const deleted: RouteTombstone[] = [];
    for (let i = 0; i + 1 < gone.length; i += 2) deleted.push({ source: gone[i], lastModified: Number(gone[i + 1]) });
    return { routes: rows.map(routeOf).sort(byRouteAge), deleted, version: Number(list) };
  }

  async pruneTombstones(before: number): Promise<number> {
    return this.conn.script<number>(PRUNE, [`${this.p}route-tombstones`], [before, `${this.p}route-tombstones:`]);
  }

  async routes(): Promise<RouteRecord[]> {
    const [, ...rows] = await this.conn.script<[string, ...Row[]]>(
      READ,
      [`${this.p}route-sources`, `${this.p}route-lists`],
      ['', `${this.p}route:`],
    );
    return rows.map(routeOf).sort(byRouteAge);
  }

  async create(route: RouteRecord, expectedListVersion?: number): Promise<RouteWrite> {
    const [done, why, version] = await this.conn.script<[number, string, number | string]>(
      CREATE,
      [
        `${this.p}route:${route.source}`,
        `${this.p}routes-of:${route.owner}`,
        `${this.p}route-sources`,
        `${this.p}route-lists`,
        ...this.tombstoneKeys(route.owner),
      ],
      [
        route.source,
        route.owner,
        route.createdAt,
        JSON.stringify(routeBody(route)),
        expectedListVersion ?? '',
        this.channel,
        this.now(),
      ],
    );
    if (done === 1) return { done: true, route: { ...route, version: Number(version) } };
    return why === 'stale'
      ? { done: false, reason: 'stale', version: Number(version) }
      : { done: false, reason: 'exists' };
  }

  async replace(route: RouteRecord, expectedVersion?: number): Promise<RouteWrite> {
    const [done, created, version] = await this.conn.script<[number, string, number | string]>(
      REPLACE,
      [`${this.p}route:${route.source}`, `${this.p}route-lists`],
      [route.owner, JSON.stringify(routeBody(route)), expectedVersion ?? '', this.channel, this.now()],
    );
    if (done === 1) return { done: true, route: { ...route, createdAt: Number(created), version: Number(version) } };
    return created === 'stale'
      ? { done: false, reason: 'stale', version: Number(version) }
      : { done: false, reason: 'absent' };
  }

  async delete(source: string, owner: string, expectedVersion?: number): Promise<RouteWrite> {
    const [done, created, version, body] = await this.conn.script<[number, string, number | string, string]>(
      DELETE,
      [
        `${this.p}route:${source}`,
        `${this.p}routes-of:${owner}`,
        `${this.p}route-sources`,
        `${this.p}route-lists`,
        ...this.tombstoneKeys(owner),
      ],
      [source, owner, expectedVersion ?? '', this.channel, this.now()],
    );
    if (done === 1) return { done: true, route: routeOf([String(version), created, body]) };
    return created === 'stale'
      ? { done: false, reason: 'stale', version: Number(version) }
      : { done: false, reason: 'absent' };
  }

  async node(id: string): Promise<NodeTargetRecord | undefined> {
    const [r, g] = await this.conn.script<Array<string | null>>(
      "return redis.call('HMGET', KEYS[1], 'r', 'g')",
      [`${this.p}node-target:${id}`],
      [],
    );
    return r === null || g !== null ? undefined : nodeTarget(JSON.parse(r) as NodeTargetRecord);
  }

  async nodes(): Promise<NodeTargetRecord[]> {
    const rows = await this.conn.script<string[]>(NODES, [`${this.p}node-targets`], [`${this.p}node-target:`]);
    return rows.map((r) => nodeTarget(JSON.parse(r) as NodeTargetRecord)).sort(byTargetId);
  }

  async syncNode(next: NodeTargetRecord): Promise<NodeSync> {
    const stored = nodeTarget(next);
    return this.conn.script<NodeSync>(SYNC_NODE, this.targetKeys(stored.id), [
      stored.id,
      stored.version,
      stored.epoch,
      JSON.stringify(stored),
      this.channel,
      encodeRouteChange({ kind: 'node', node: stored }),
    ]);
  }

  async dropNode(id: string, version: number, epoch: string): Promise<boolean> {
    const now = this.now();
    const held = await this.conn.script<number>(DROP_NODE, this.targetKeys(id), [
      id,
      version,
      epoch,
      now,
      this.channel,
      encodeRouteChange({ kind: 'node_deleted', id }),
      now - NODE_TOMBSTONE_MS,
      `${this.p}node-target:`,
    ]);
    return held === 1;
  }

  /** The sorted sets of `owner`'s route tombstones and of every one. */
  private tombstoneKeys(owner: string): string[] {
    return [`${this.p}route-tombstones:${owner}`, `${this.p}route-tombstones`];
  }

  private targetKeys(id: string): string[] {
    return [`${this.p}node-target:${id}`, `${this.p}node-targets`, `${this.p}node-tombstones`];
  }
}
