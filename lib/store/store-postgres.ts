/**
 * The PostgreSQL adapters (AGORA_DATABASE_URL): users, sessions, channels, compute
 * nodes and failed logons in tables made by ./migrations.ts, shared by every instance of
 * every service, reached through the pool of ./postgres-pool.ts (which gives every query
 * its deadline and turns an outage into AGORA_ERR_STORE_UNAVAILABLE).
 */
import { ownerOnly, publicChannel, type Permissions } from '../permissions';
import {
  type ChannelCreate,
  type ChannelList,
  type ChannelRecord,
  type ChannelStore,
  type FailureRule,
  type FailureStore,
  type NodeRecord,
  type NodeStore,
  type NodeTombstone,
  type OwnedNodes,
  type SessionRecord,
  type SessionStore,
  type UserRecord,
  type UserStore,
  type Versioned,
  viewVersion,
} from './contracts';
import type { PgDatabase } from './postgres-pool';

export class PgUserStore implements UserStore {
  constructor(private readonly db: PgDatabase) {}

  async get(username: string): Promise<UserRecord | undefined> {
    const rows = await this.db.query<UserRow>(
      'SELECT username, hash, salt, created_at FROM agora_users WHERE username = $1',
      [username],
    );
    return rows.length === 0 ? undefined : userOf(rows[0]);
  }

  /** One statement: the insert, or the row another instance inserted first. */
  async create(user: UserRecord): Promise<{ user: UserRecord; created: boolean }> {
    const rows = await this.db.query<UserRow & { created: boolean }>(
      `WITH ins AS (
         INSERT INTO agora_users (username, hash, salt, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO NOTHING RETURNING username, hash, salt, created_at)
       SELECT *, true AS created FROM ins
       UNION ALL SELECT username, hash, salt, created_at, false FROM agora_users WHERE username = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
      [user.username, user.hash, user.salt, user.createdAt],
    );
    // Between a conflict and the read, nothing can delete a user, so one row is there.
    if (rows.length === 0) return this.create(user);
    return { user: userOf(rows[0]), created: rows[0].created };
  }
}

interface UserRow {
  username: string;
  hash: string;
  salt: string;
  created_at: string;
}

function userOf(row: UserRow): UserRecord {
  return { username: row.username, hash: row.hash, salt: row.salt, createdAt: Number(row.created_at) };
}

export class PgSessionStore implements SessionStore {
  constructor(private readonly db: PgDatabase) {}

  async create(session: Omit<SessionRecord, 'version'>): Promise<number | undefined> {
    const rows = await this.db.query<{ version: string }>(
      'INSERT INTO agora_sessions (sesskey, username, last_used) VALUES ($1, $2, $3) ON CONFLICT (sesskey) DO NOTHING RETURNING version',
      [session.sesskey, session.username, session.lastUsed],
    );
    return rows.length === 1 ? Number(rows[0].version) : undefined;
  }

  async get(sesskey: number): Promise<SessionRecord | undefined> {
    const rows = await this.db.query<SessionRow>(
      'SELECT sesskey, username, last_used, version FROM agora_sessions WHERE sesskey = $1',
      [sesskey],
    );
    return rows.length === 0 ? undefined : sessionOf(rows[0]);
  }

  /**
   * One statement: the rows as the statement's snapshot saw them, and the update (which
   * re-checks each committed row).
   */
  async touch(sesskeys: readonly number[], at: number, idleMs: number): Promise<SessionRecord[]> {
    if (sesskeys.length === 0) return [];
    const rows = await this.db.query<SessionRow>(
      `WITH found AS (SELECT sesskey, username, last_used, version FROM agora_sessions WHERE sesskey = ANY($1::bigint[])),
       used AS (UPDATE agora_sessions SET last_used = $2 WHERE sesskey = ANY($1::bigint[]) AND last_used < $2 AND $2::bigint - last_used < $3::bigint)
       SELECT * FROM found`,
      [sesskeys, at, idleMs],
    );
    return rows.map(sessionOf);
  }

  async delete(sesskey: number): Promise<boolean> {
    return (
      (await this.db.query('DELETE FROM agora_sessions WHERE sesskey = $1 RETURNING sesskey', [sesskey])).length === 1
    );
  }

  /**
   * One statement: the DELETE waits for the row lock of a concurrent writer and re-checks the
   * version on the row as committed, so of several callers naming one version one deletes.
   */
  async deleteIfVersion(sesskey: number, version: number): Promise<Versioned> {
    const rows = await this.db.query(
      'DELETE FROM agora_sessions WHERE sesskey = $1 AND version = $2 RETURNING version',
      [sesskey, version],
    );
    return rows.length === 1
      ? { done: true, version }
      : refused(this.db, 'SELECT version FROM agora_sessions WHERE sesskey = $1', sesskey);
  }

  /** An index range on last_used; two instances sweeping at once each get the keys they deleted. */
  async expire(before: number): Promise<number[]> {
    const rows = await this.db.query<{ sesskey: string }>(
      'DELETE FROM agora_sessions WHERE last_used < $1 RETURNING sesskey',
      [before],
    );
    return rows.map((r) => Number(r.sesskey));
  }
}

interface SessionRow {
  sesskey: string;
  username: string;
  last_used: string;
  version: string;
}

function sessionOf(row: SessionRow): SessionRecord {
  return {
    sesskey: Number(row.sesskey),
    username: row.username,
    lastUsed: Number(row.last_used),
    version: Number(row.version),
  };
}

export class PgChannelStore implements ChannelStore {
  constructor(private readonly db: PgDatabase) {}

  /**
   * One statement, so the names and the version come from one snapshot (a null name: no channel
   * yet, or none readable); with principals, a channel is listed when its readers or writers hold one.
   */
  async list(principals?: readonly string[]): Promise<ChannelList> {
    const rows = await this.db.query<{ version: string; name: string | null; last_modified: string | null }>(
      `SELECT v.version, c.name, c.last_modified FROM agora_channel_list v LEFT JOIN agora_channels c
         ON $1::text[] IS NULL OR c.read_principals && $1::text[] OR c.write_principals && $1::text[]
       ORDER BY c.name`,
      [principals ?? null],
    );
    const channels = rows.flatMap((r) =>
      r.name === null ? [] : [{ name: r.name, lastModified: Number(r.last_modified) }],
    );
    return { names: channels.map((c) => c.name), channels, version: Number(rows[0]?.version ?? 0) };
  }

  /**
   * Under the lock of the version row (creates from every process take turns; they are
   * rare): compare, insert if absent stamped GREATEST(now, version + 1), and move the version
   * to that stamp only when a row went in, all in one transaction, so a snapshot sees a create
   * and its version together or neither.
   */
  async create(
    name: string,
    createdBy: string,
    expectedVersion?: number,
    permissions?: Permissions,
  ): Promise<ChannelCreate> {
    const granted = permissions ?? publicChannel(createdBy);
    return this.db.transaction(async (query) => {
      const [row] = await query<{ version: string; next: string }>(
        'SELECT version, GREATEST(agora_now_ms(), version + 1) AS next FROM agora_channel_list WHERE id = 1 FOR UPDATE',
      );
      const version = Number(row.version);
      const existing = async (): Promise<number | undefined> => {
        const found = await query<{ last_modified: string }>(
          'SELECT last_modified FROM agora_channels WHERE name = $1',
          [name],
        );
        return found.length === 0 ? undefined : Number(found[0].last_modified);
      };
      if (expectedVersion !== undefined && expectedVersion !== version)
        return { created: false, stale: true, version, lastModified: await existing() };
      const inserted = await query(
        `INSERT INTO agora_channels (name, created_by, created_at, last_modified, read_principals, write_principals)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING name`,
        [name, createdBy, Date.now(), row.next, granted.read, granted.write],
      );
      if (inserted.length === 0) return { created: false, stale: false, version, lastModified: await existing() };
      await query('UPDATE agora_channel_list SET version = $1 WHERE id = 1', [row.next]);
      return { created: true, stale: false, version: Number(row.next), lastModified: Number(row.next) };
    });
  }

  async exists(name: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM agora_channels WHERE name = $1', [name])).length === 1;
  }

  async get(name: string): Promise<ChannelRecord | undefined> {
    const rows = await this.db.query<{
      created_by: string;
      read_principals: string[];
      write_principals: string[];
      last_modified: string;
    }>('SELECT created_by, read_principals, write_principals, last_modified FROM agora_channels WHERE name = $1', [
      name,
    ]);
    if (rows.length === 0) return undefined;
    const [row] = rows;
    const permissions = { read: row.read_principals, write: row.write_principals };
    return { name, createdBy: row.created_by, permissions, lastModified: Number(row.last_modified) };
  }

  /**
   * Under the lock of the version row, as a create: the channel's row stamped
   * GREATEST(now, version + 1) and the version moved to that stamp, in one transaction (neither
   * when there is no such channel).
   */
  async setPermissions(name: string, permissions: Permissions): Promise<number | undefined> {
    const written = await this.writePermissions(name, permissions, undefined);
    return written.done ? written.version : undefined;
  }

  /** As setPermissions, the UPDATE matching only the row still at `version` (under the same lock). */
  async setPermissionsIfVersion(name: string, permissions: Permissions, version: number): Promise<Versioned> {
    return this.writePermissions(name, permissions, version);
  }

  /**
   * Under the list row's lock (every channel write takes it, so nothing moves the row meanwhile):
   * the UPDATE, compared when `expected` is given, then the list's version; refused: the row's
   * last_modified as found.
   */
  private async writePermissions(
    name: string,
    permissions: Permissions,
    expected: number | undefined,
  ): Promise<Versioned> {
    return this.db.transaction(async (query) => {
      const [row] = await query<{ next: string }>(
        'SELECT GREATEST(agora_now_ms(), version + 1) AS next FROM agora_channel_list WHERE id = 1 FOR UPDATE',
      );
      const updated = await query(
        `UPDATE agora_channels SET read_principals = $2, write_principals = $3, last_modified = $4
         WHERE name = $1 AND ($5::bigint IS NULL OR last_modified = $5) RETURNING name`,
        [name, permissions.read, permissions.write, row.next, expected ?? null],
      );
      if (updated.length === 0) {
        const found = await query<{ last_modified: string }>(
          'SELECT last_modified FROM agora_channels WHERE name = $1',
          [name],
        );
        return { done: false, version: found.length === 0 ? undefined : Number(found[0].last_modified) };
      }
      await query('UPDATE agora_channel_list SET version = $1 WHERE id = 1', [row.next]);
      return { done: true, version: Number(row.next) };
    });
  }
}

/** Compute nodes (services/compute), shared by every compute instance. */
export class PgNodeStore implements NodeStore {
  constructor(private readonly db: PgDatabase) {}

  async get(id: string): Promise<NodeRecord | undefined> {
    const rows = await this.db.query<NodeRow>('SELECT record, version FROM agora_nodes WHERE id = $1', [id]);
    return rows.length === 0 ? undefined : nodeOf(rows[0]);
  }

  async list(owner?: string): Promise<NodeRecord[]> {
    const rows =
      owner === undefined
        ? await this.db.query<NodeRow>('SELECT record, version FROM agora_nodes ORDER BY created_at, id')
        : await this.db.query<NodeRow>(
            'SELECT record, version FROM agora_nodes WHERE owner = $1 ORDER BY created_at, id',
            [owner],
          );
    return rows.map(nodeOf);
  }

  /** Through the jsonb of the record: `?|` holds when the list has one of the principals. */
  async readable(principals: readonly string[]): Promise<NodeRecord[]> {
    const rows = await this.db.query<NodeRow>(
      `SELECT record, version FROM agora_nodes
       WHERE record->'permissions'->'read' ?| $1::text[] OR record->'permissions'->'write' ?| $1::text[]
       ORDER BY created_at, id`,
      [principals],
    );
    return rows.map(nodeOf);
  }

  /**
   * One statement, so the nodes, the tombstones and the version come from one snapshot (a null
   * record: no node; a null tombstone: none).
   */
  async owned(owner: string): Promise<OwnedNodes> {
    const rows = await this.db.query<{
      list: string | null;
      record: NodeRecord | null;
      version: string | null;
      gone: string | null;
      gone_at: string | null;
      sharing: string | null;
    }>(
      `SELECT l.version AS list, n.record, n.version, NULL AS gone, NULL AS gone_at,
              (SELECT last FROM agora_node_sharing) AS sharing
       FROM (SELECT $1::text AS owner) o
       LEFT JOIN agora_node_lists l ON l.owner = o.owner LEFT JOIN agora_nodes n ON n.owner = o.owner
       UNION ALL
       SELECT NULL, NULL, NULL, t.id, t.last_modified, NULL FROM agora_node_tombstones t WHERE t.owner = $1
       ORDER BY 4 NULLS FIRST, 5`,
      [owner],
    );
    const live = rows.filter((r) => r.gone === null);
    const nodes = live
      .flatMap((r) => (r.record === null ? [] : [nodeOf({ record: r.record, version: String(r.version) })]))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const deleted: NodeTombstone[] = rows
      .filter((r) => r.gone !== null)
      .map((r) => ({ id: String(r.gone), lastModified: Number(r.gone_at) }))
      .sort((a, b) => a.lastModified - b.lastModified);
    return { nodes, deleted, version: Number(live[0]?.list ?? 0), sharing: Number(live[0]?.sharing ?? 0) };
  }

  /**
   * A transaction-scoped advisory lock per owner serialises the creates of one owner in
   * every instance (so neither the limit nor a name is passed twice); with an expected list
   * version, the owner's list row and the sharing stamp's row are then locked and compared
   * (`viewVersion`; the other writes bump them under those locks, through the trigger of the
   * migration NODE_SHARING_MIGRATION names). The count and
   * the insert run on snapshots taken after the locks, so concurrent creates can pass neither
   * the limit nor the version.
   */
  async create(
    node: NodeRecord,
    limit: number,
    expectedListVersion?: number,
  ): Promise<'created' | 'limit' | 'exists' | 'stale' | 'name'> {
    return this.db.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [node.owner]);
      if (expectedListVersion !== undefined) {
        await query('INSERT INTO agora_node_lists (owner, version) VALUES ($1, 0) ON CONFLICT (owner) DO NOTHING', [
          node.owner,
        ]);
        const [list] = await query<{ version: string }>(
          'SELECT version FROM agora_node_lists WHERE owner = $1 FOR UPDATE',
          [node.owner],
        );
        // After the list's row, as the trigger takes them; held to the insert, so no sharing change passes between.
        const [sharing] = await query<{ last: string }>('SELECT last FROM agora_node_sharing FOR UPDATE');
        const view = viewVersion({ version: Number(list.version), sharing: Number(sharing.last) });
        if (view !== expectedListVersion) return 'stale';
      }
      if ((await query('SELECT 1 FROM agora_nodes WHERE id = $1', [node.id])).length > 0) return 'exists';
      const named = await query("SELECT 1 FROM agora_nodes WHERE owner = $1 AND record->>'name' = $2", [
        node.owner,
        node.name,
      ]);
      if (named.length > 0) return 'name';
      const [{ n }] = await query<{ n: string }>('SELECT count(*) AS n FROM agora_nodes WHERE owner = $1', [
        node.owner,
      ]);
      if (Number(n) >= limit) return 'limit';
      const rows = await query(
        'INSERT INTO agora_nodes (id, owner, created_at, record) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id',
        [node.id, node.owner, node.createdAt, node],
      );
      return rows.length === 1 ? 'created' : 'exists';
    });
  }

  /**
   * An UPDATE, else an INSERT (not one upsert: its insert trigger would take the owner's row
   * before the node's, the reverse of every other write, and two writers could deadlock); the
   * trigger of migration 8 stamps the version.
   */
  async put(node: NodeRecord): Promise<number> {
    for (;;) {
      const updated = await this.db.query<{ version: string }>(
        'UPDATE agora_nodes SET owner = $2, created_at = $3, record = $4 WHERE id = $1 RETURNING version',
        [node.id, node.owner, node.createdAt, node],
      );
      if (updated.length === 1) return Number(updated[0].version);
      const inserted = await this.db.query<{ version: string }>(
        `INSERT INTO agora_nodes (id, owner, created_at, record, version) VALUES ($1, $2, $3, $4, 0)
         ON CONFLICT (id) DO NOTHING RETURNING version`,
        [node.id, node.owner, node.createdAt, node],
      );
      if (inserted.length === 1) return Number(inserted[0].version);
    }
  }

  /** One UPDATE: it waits for a concurrent writer's row lock and re-checks the version on the committed row. */
  async putIfVersion(node: NodeRecord, version: number): Promise<Versioned> {
    const rows = await this.db.query<{ version: string }>(
      'UPDATE agora_nodes SET owner = $2, created_at = $3, record = $4 WHERE id = $1 AND version = $5 RETURNING version',
      [node.id, node.owner, node.createdAt, node, version],
    );
    return rows.length === 1
      ? { done: true, version: Number(rows[0].version) }
      : refused(this.db, 'SELECT version FROM agora_nodes WHERE id = $1', node.id);
  }

  /** The trigger of migration 8 leaves the tombstone, stamped, in the same statement. */
  async delete(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM agora_nodes WHERE id = $1 RETURNING id', [id])).length === 1;
  }

  async pruneTombstones(before: number): Promise<number> {
    return (await this.db.query('DELETE FROM agora_node_tombstones WHERE last_modified < $1 RETURNING id', [before]))
      .length;
  }
}

/** A refused compare-and-write, with the version `sql` finds now (undefined: the row is gone). */
async function refused(db: PgDatabase, sql: string, id: unknown): Promise<Versioned> {
  const found = await db.query<{ version: string }>(sql, [id]);
  return { done: false, version: found.length === 0 ? undefined : Number(found[0].version) };
}

interface NodeRow {
  record: NodeRecord;
  version: string;
}

/**
 * The record as stored, with the version of its column (the one compared); one written without
 * permissions (by a process from before them, after migration 9 ran) is its owner's alone.
 */
function nodeOf(row: NodeRow): NodeRecord {
  return {
    ...row.record,
    version: Number(row.version),
    permissions: row.record.permissions ?? ownerOnly(row.record.owner),
  };
}

/** A new window starts: the old one (unlocked) is over, or the lock is. */
const FRESH =
  '((f.locked_until = 0 AND $2::bigint - f.window_start >= $3::bigint) OR (f.locked_until <> 0 AND f.locked_until <= $2::bigint))';

/**
 * One failure, the rule of FailureStore in one statement under the key's row lock ($2 now,
 * $3 window ms, $4 failures that lock).
 */
const FAIL_SQL = `
  INSERT INTO agora_logon_failures AS f (key, failures, window_start, locked_until)
  VALUES ($1, 1, $2::bigint, CASE WHEN 1 >= $4::integer THEN $2::bigint + $3::bigint ELSE 0 END)
  ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN ${FRESH} THEN 1 ELSE f.failures + 1 END,
    window_start = CASE WHEN ${FRESH} THEN $2::bigint ELSE f.window_start END,
    locked_until = CASE
      WHEN ${FRESH} THEN (CASE WHEN 1 >= $4::integer THEN $2::bigint + $3::bigint ELSE 0 END)
      WHEN f.locked_until = 0 AND f.failures + 1 >= $4::integer THEN $2::bigint + $3::bigint
      ELSE f.locked_until END`;

/** Failed logons in PostgreSQL, shared by every auth instance; `prune` drops what is over. */
export class PgFailureStore implements FailureStore {
  constructor(
    private readonly db: PgDatabase,
    private readonly rule: FailureRule,
  ) {}

  async retryAfterMs(key: string, now: number): Promise<number> {
    const rows = await this.db.query<{ locked_until: string }>(
      'SELECT locked_until FROM agora_logon_failures WHERE key = $1',
      [key],
    );
    const locked = rows.length === 0 ? 0 : Number(rows[0].locked_until);
    return locked > now ? locked - now : 0;
  }

  async fail(key: string, now: number): Promise<void> {
    await this.db.query(FAIL_SQL, [key, now, this.rule.windowMs, this.rule.maxFailures]);
  }

  async reset(key: string): Promise<void> {
    await this.db.query('DELETE FROM agora_logon_failures WHERE key = $1', [key]);
  }

  /** Delete the keys whose window and lock are both over. */
  async prune(now: number): Promise<void> {
    await this.db.query(
      'DELETE FROM agora_logon_failures WHERE locked_until <= $1::bigint AND window_start <= $1::bigint - $2::bigint',
      [now, this.rule.windowMs],
    );
  }
}
