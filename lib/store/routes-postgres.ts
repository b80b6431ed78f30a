/**
 * Routes in PostgreSQL (AGORA_DATABASE_URL without AGORA_REDIS_URL): the tables of migration 6,
 * shared by every Routes instance. Each write NOTIFYs its change in its own transaction, so
 * listeners get the changes at commit, in commit order (lib/store/contracts.ts `RouteStore`);
 * `topic` is the LISTEN side, made by lib/store/index.ts on the same channel.
 */
import {
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
import type { PgDatabase } from './postgres-pool';

type Query = Parameters<Parameters<PgDatabase['transaction']>[0]>[0];

interface RouteRow {
  record: Omit<RouteRecord, 'version' | 'createdAt'>;
  version: string;
  created_at: string;
}

function routeOf(row: RouteRow): RouteRecord {
  return { ...row.record, createdAt: Number(row.created_at), version: Number(row.version) };
}

interface TargetRow {
  record: Omit<NodeTargetRecord, 'version' | 'epoch'>;
  version: string;
  epoch: string;
}

function targetOf(row: TargetRow): NodeTargetRecord {
  return nodeTarget({ ...row.record, version: Number(row.version), epoch: row.epoch });
}

/** The part of a node target kept as JSON (version and epoch are columns). */
function targetBody(t: NodeTargetRecord): Omit<NodeTargetRecord, 'version' | 'epoch'> {
  return { id: t.id, name: t.name, owner: t.owner, status: t.status, host: t.host, port: t.port, write: t.write };
}

/**
 * A node target: inserted, or replacing what is held when that is of another epoch, or older
 * (a tombstone: strictly older), or as old but different. `old` is the row as it was, `note` the
 * announcement, sent only when the row was written.
 */
const SYNC_NODE_SQL = `
  WITH old AS (SELECT version, epoch, gone_at FROM agora_node_targets WHERE id = $1),
  up AS (
    INSERT INTO agora_node_targets AS t (id, version, epoch, gone_at, record) VALUES ($1, $2, $3, NULL, $4)
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, epoch = EXCLUDED.epoch, gone_at = NULL, record = EXCLUDED.record
      WHERE t.epoch <> EXCLUDED.epoch
         OR (t.gone_at IS NOT NULL AND t.version < EXCLUDED.version)
         OR (t.gone_at IS NULL AND (t.version < EXCLUDED.version OR (t.version = EXCLUDED.version AND t.record <> EXCLUDED.record)))
    RETURNING id),
  note AS (SELECT pg_notify($5, $6) FROM up)
  SELECT (SELECT count(*) FROM up)::int AS stored, (SELECT count(*) FROM note)::int AS noted,
         old.version, old.epoch, old.gone_at
  FROM (SELECT 1) one LEFT JOIN old ON true`;

/**
 * A drop: the row becomes a tombstone (version: the higher of the two in one epoch); the
 * drop is announced only when a live target was held.
 */
const DROP_NODE_SQL = `
  WITH old AS (SELECT id FROM agora_node_targets WHERE id = $1 AND gone_at IS NULL),
  up AS (
    INSERT INTO agora_node_targets AS t (id, version, epoch, gone_at, record) VALUES ($1, $2, $3, $4, '{}'::jsonb)
    ON CONFLICT (id) DO UPDATE SET
      version = CASE WHEN t.epoch = EXCLUDED.epoch THEN GREATEST(t.version, EXCLUDED.version) ELSE EXCLUDED.version END,
      epoch = EXCLUDED.epoch, gone_at = EXCLUDED.gone_at, record = EXCLUDED.record
    RETURNING id),
  note AS (SELECT pg_notify($5, $6) FROM old JOIN up USING (id))
  SELECT (SELECT count(*) FROM old)::int AS held, (SELECT count(*) FROM note)::int AS noted`;

export class PgRouteStore implements RouteStore {
  constructor(
    private readonly db: PgDatabase,
    /** The LISTEN side of `channel`. */
    readonly topic: Broadcast,
    /** The NOTIFY channel, a PostgreSQL identifier (agora_routes). */
    private readonly channel: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(source: string): Promise<RouteRecord | undefined> {
    const rows = await this.db.query<RouteRow>(
      'SELECT record, version, created_at FROM agora_routes WHERE source = $1',
      [source],
    );
    return rows.length === 0 ? undefined : routeOf(rows[0]);
  }

  /**
   * One statement, so the routes, the tombstones and the version come from one snapshot (a null
   * record: no route; `gone` set: a tombstone).
   */
  async owned(owner: string): Promise<OwnedRoutes> {
    type Row = { list: string | null; gone: string | null; gone_at: string | null } & {
      [K in keyof RouteRow]: RouteRow[K] | null;
    };
    const rows = await this.db.query<Row>(
      `SELECT l.version AS list, r.record, r.version, r.created_at, r.source AS src, NULL::text AS gone,
              NULL::bigint AS gone_at
       FROM (SELECT $1::text AS owner) o
       LEFT JOIN agora_route_lists l ON l.owner = o.owner LEFT JOIN agora_routes r ON r.owner = o.owner
       UNION ALL
       SELECT NULL, NULL, NULL, NULL, NULL, t.source, t.last_modified FROM agora_route_tombstones t WHERE t.owner = $1
       ORDER BY created_at, src, gone_at, gone`,
      [owner],
    );
    const routes = rows.flatMap((r) => (r.record === null ? [] : [routeOf(r as RouteRow)]));
    const deleted: RouteTombstone[] = rows.flatMap((r) =>
      r.gone === null ? [] : [{ source: r.gone, lastModified: Number(r.gone_at) }],
    );
    return { routes, deleted, version: Number(rows.find((r) => r.gone === null)?.list ?? 0) };
  }

  async routes(): Promise<RouteRecord[]> {
    const rows = await this.db.query<RouteRow>(
      'SELECT record, version, created_at FROM agora_routes ORDER BY created_at, source',
    );
    return rows.map(routeOf);
  }

  /**
   * Under the owner's list row lock: compare, insert unless the source is taken (a concurrent
   * insert of the same source by another owner waits on the unique index, then finds it), bump,
   * announce; one transaction.
   */
  async create(route: RouteRecord, expectedListVersion?: number): Promise<RouteWrite> {
    return this.db.transaction(async (query) => {
      const { version: list, next } = await lockList(query, route.owner);
      if (expectedListVersion !== undefined && expectedListVersion !== list)
        return { done: false, reason: 'stale', version: list };
      const inserted = await query(
        `INSERT INTO agora_routes (source, owner, created_at, version, record) VALUES ($1, $2, $3, $5, $4)
         ON CONFLICT (source) DO NOTHING RETURNING source`,
        [route.source, route.owner, route.createdAt, routeBody(route), next],
      );
      if (inserted.length === 0) return { done: false, reason: 'exists' };
      await query('DELETE FROM agora_route_tombstones WHERE owner = $1 AND source = $2', [route.owner, route.source]);
      const stored = { ...route, version: next };
      await this.bumpAndAnnounce(query, route.owner, next, encodeRouteChange({ kind: 'route', route: stored }));
      return { done: true, route: stored };
    });
  }

  /** Under the owner's list row lock: one compared UPDATE (it re-checks on a row a concurrent writer committed). */
  async replace(route: RouteRecord, expectedVersion?: number): Promise<RouteWrite> {
    return this.db.transaction(async (query) => {
      const { next } = await lockList(query, route.owner);
      const rows = await query<{ version: string; created_at: string }>(
        `UPDATE agora_routes SET record = $3, version = $5
         WHERE source = $1 AND owner = $2 AND ($4::bigint IS NULL OR version = $4) RETURNING version, created_at`,
        [route.source, route.owner, routeBody(route), expectedVersion ?? null, next],
      );
      if (rows.length === 0) return refusal(query, route.source, route.owner);
      const stored = { ...route, createdAt: Number(rows[0].created_at), version: Number(rows[0].version) };
      await this.bumpAndAnnounce(query, route.owner, next, encodeRouteChange({ kind: 'route', route: stored }));
      return { done: true, route: stored };
    });
  }

  async delete(source: string, owner: string, expectedVersion?: number): Promise<RouteWrite> {
    return this.db.transaction(async (query) => {
      const { next } = await lockList(query, owner);
      const rows = await query<RouteRow>(
        `DELETE FROM agora_routes WHERE source = $1 AND owner = $2 AND ($3::bigint IS NULL OR version = $3)
         RETURNING record, version, created_at`,
        [source, owner, expectedVersion ?? null],
      );
      if (rows.length === 0) return refusal(query, source, owner);
      await query(
        `INSERT INTO agora_route_tombstones (owner, source, last_modified) VALUES ($1, $2, $3)
         ON CONFLICT (owner, source) DO UPDATE SET last_modified = EXCLUDED.last_modified`,
        [owner, source, next],
      );
      await this.bumpAndAnnounce(query, owner, next, encodeRouteChange({ kind: 'route_deleted', source }));
      return { done: true, route: routeOf(rows[0]) };
    });
  }

  async pruneTombstones(before: number): Promise<number> {
    const sql = 'DELETE FROM agora_route_tombstones WHERE last_modified < $1 RETURNING source';
    return (await this.db.query(sql, [before])).length;
  }

  async node(id: string): Promise<NodeTargetRecord | undefined> {
    const rows = await this.db.query<TargetRow>(
      'SELECT record, version, epoch FROM agora_node_targets WHERE id = $1 AND gone_at IS NULL',
      [id],
    );
    return rows.length === 0 ? undefined : targetOf(rows[0]);
  }

  async nodes(): Promise<NodeTargetRecord[]> {
    const rows = await this.db.query<TargetRow>(
      'SELECT record, version, epoch FROM agora_node_targets WHERE gone_at IS NULL ORDER BY id',
    );
    return rows.map(targetOf);
  }

  /** One statement: compared, written and announced (or not) together. */
  async syncNode(next: NodeTargetRecord): Promise<NodeSync> {
    const stored = nodeTarget(next);
    const [row] = await this.db.query<{
      stored: number;
      version: string | null;
      epoch: string | null;
      gone_at: string | null;
    }>(SYNC_NODE_SQL, [
      stored.id,
      stored.version,
      stored.epoch,
      targetBody(stored),
      this.channel,
      encodeRouteChange({ kind: 'node', node: stored }),
    ]);
    if (row.stored === 1) return 'stored';
    const same = row.gone_at === null && row.epoch === stored.epoch && Number(row.version) === stored.version;
    return same ? 'unchanged' : 'stale';
  }

  async dropNode(id: string, version: number, epoch: string): Promise<boolean> {
    const now = this.now();
    await this.db.query('DELETE FROM agora_node_targets WHERE gone_at < $1', [now - NODE_TOMBSTONE_MS]);
    const [row] = await this.db.query<{ held: number }>(DROP_NODE_SQL, [
      id,
      version,
      epoch,
      now,
      this.channel,
      encodeRouteChange({ kind: 'node_deleted', id }),
    ]);
    return row.held === 1;
  }

  /** Move `owner`'s list to the timestamp `next` (its row locked by lockList) and announce the change. */
  private async bumpAndAnnounce(query: Query, owner: string, next: number, message: string): Promise<void> {
    await query('UPDATE agora_route_lists SET version = $2 WHERE owner = $1', [owner, next]);
    await query('SELECT pg_notify($1, $2)', [this.channel, message]);
  }
}

/**
 * Lock `owner`'s list row (made at 0 if new) and answer its version and the timestamp a write
 * under this lock takes: GREATEST(now, version + 1) (lib/store/contracts.ts "stamp").
 */
async function lockList(query: Query, owner: string): Promise<{ version: number; next: number }> {
  const [row] = await query<{ version: string; next: string }>(
    `INSERT INTO agora_route_lists AS l (owner, version) VALUES ($1, 0)
     ON CONFLICT (owner) DO UPDATE SET version = l.version RETURNING version, GREATEST(agora_now_ms(), version + 1) AS next`,
    [owner],
  );
  return { version: Number(row.version), next: Number(row.next) };
}

/** Why a compared write of `owner`'s route of `source` matched no row: absent (or another's), or stale. */
async function refusal(query: Query, source: string, owner: string): Promise<RouteWrite> {
  const [row] = await query<{ version: string; owner: string }>(
    'SELECT version, owner FROM agora_routes WHERE source = $1',
    [source],
  );
  if (row === undefined || row.owner !== owner) return { done: false, reason: 'absent' };
  return { done: false, reason: 'stale', version: Number(row.version) };
}
