/**
 * The PostgreSQL schema, as versioned migrations run at start by every process that uses
 * PostgreSQL. A session-level advisory lock makes the run safe when several instances start
 * at once: the first applies what is missing, the others wait, then find nothing to do.
 * A migration is never edited once landed; a change is a new version.
 */
import type { PoolClient } from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Key of the advisory lock held while migrating ('agora' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x61676f7261;

/** The migration that adds the sharing stamp of the node lists (its number, named once). */
export const NODE_SHARING_MIGRATION = 16;

/**
 * First key of the advisory lock of a topic's listeners (migration 17, 'topi' in ASCII); the second is
 * hashtext of the topic. Written into that migration's functions: it never changes.
 */
export const TOPIC_LISTENERS_LOCK = 0x746f7069;

/**
 * Retention trimmed in chunks from migration 18 until migration 19's rings: a channel's messages that fell
 * out were deleted once at least this many had (fewer when it retained fewer). Written into migration 18's
 * functions, which a database applies before migration 19 replaces them.
 */
const RETENTION_CHUNK = 32;

/**
 * How a message goes onto its row of its channel's ring (migration 19): it takes the row over from the
 * message `slots` before it, as an update of the row's other columns (a heap-only update), nothing deleted.
 */
const TAKE_OVER_ROW = `ON CONFLICT (channel, slot) DO UPDATE
            SET id = excluded.id, username = excluded.username, message = excluded.message,
                last_modified = excluded.last_modified`;

/**
 * The start of a call with keys (migrations 12, 18 and 19, agora_append_stamped_messages): each key of the call
 * taken in one order (channel, username, key), by an upsert that takes over only an expired row; a key
 * taken is `fresh`, a key held and unexpired makes its append a replay of the id it records (`known`).
 */
const TAKE_KEYS = `        FOR r IN
          SELECT u.ord, u.ch, u.username, u.k, u.t_now, u.t_exp
            FROM unnest(p_channels, p_usernames, p_keys, p_nows, p_expires) WITH ORDINALITY
                 AS u(ch, username, k, t_now, t_exp, ord)
           WHERE u.k IS NOT NULL
           ORDER BY u.ch COLLATE "C", u.username COLLATE "C", u.k COLLATE "C"
        LOOP
          -- A key deleted by a sweep between the two statements is taken on the next turn.
          LOOP
            INSERT INTO agora_message_keys AS k (channel, username, key, message_id, expires_at)
              VALUES (r.ch, r.username, r.k, 0, r.t_exp)
              ON CONFLICT (channel, username, key) DO UPDATE SET message_id = 0, expires_at = excluded.expires_at
              WHERE k.expires_at <= r.t_now;
            IF FOUND THEN
              fresh[r.ord] := true;
              EXIT;
            END IF;
            SELECT message_id INTO v FROM agora_message_keys
             WHERE channel = r.ch AND username = r.username AND key = r.k;
            IF FOUND THEN
              known[r.ord] := v;
              EXIT;
            END IF;
          END LOOP;
        END LOOP;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, channels, messages',
    sql: `
      CREATE TABLE agora_users (
        username   text PRIMARY KEY,
        hash       text NOT NULL,
        salt       text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE TABLE agora_sessions (
        sesskey   bigint PRIMARY KEY,
        username  text NOT NULL,
        last_used bigint NOT NULL
      );
      -- The sweep deletes by last_used: an index range, not a scan of every session.
      CREATE INDEX agora_sessions_last_used ON agora_sessions (last_used);
      CREATE TABLE agora_channels (
        name       text COLLATE "C" PRIMARY KEY,
        created_by text NOT NULL,
        created_at bigint NOT NULL
      );
      -- One row per channel: the last id given and the oldest id retained. Appends take
      -- this row's lock, so ids are gap-free under concurrent posters in any process.
      CREATE TABLE agora_message_counters (
        channel       text COLLATE "C" PRIMARY KEY,
        last_id       bigint NOT NULL,
        first_id      bigint NOT NULL,
        prev_first_id bigint NOT NULL
      );
      -- bytea: a message may hold any Unicode text, NUL included, which text columns refuse.
      CREATE TABLE agora_messages (
        channel  text COLLATE "C" NOT NULL,
        id       bigint NOT NULL,
        username text NOT NULL,
        message  bytea NOT NULL,
        PRIMARY KEY (channel, id)
      );
    `,
  },
  {
    version: 2,
    name: 'compute nodes',
    sql: `
      -- The record as services/compute keeps it; owner and created_at also as columns, for
      -- the per-owner count and the oldest-first listing through one index.
      CREATE TABLE agora_nodes (
        id         text COLLATE "C" PRIMARY KEY,
        owner      text NOT NULL,
        created_at bigint NOT NULL,
        record     jsonb NOT NULL
      );
      CREATE INDEX agora_nodes_owner ON agora_nodes (owner, created_at, id);
    `,
  },
  {
    version: 3,
    name: 'logon failures',
    sql: `
      -- Failed logons per username or client address (services/auth), shared by every auth
      -- instance; times in ms since the epoch, locked_until 0 while not locked.
      CREATE TABLE agora_logon_failures (
        key          text COLLATE "C" PRIMARY KEY,
        failures     integer NOT NULL,
        window_start bigint NOT NULL,
        locked_until bigint NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'versions for compare-and-write',
    sql: `
      -- One row: the channel list's version, bumped by each create under this row's lock.
      CREATE TABLE agora_channel_list (
        id      integer PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
      );
      INSERT INTO agora_channel_list (id, version) SELECT 1, count(*) FROM agora_channels;
      -- One counter for every session, so no two sessions ever hold the same version.
      CREATE SEQUENCE agora_session_versions;
      ALTER TABLE agora_sessions ADD COLUMN version bigint NOT NULL DEFAULT nextval('agora_session_versions');
      -- Bumped by every write of the record.
      ALTER TABLE agora_nodes ADD COLUMN version bigint NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 5,
    name: 'node list versions',
    sql: `
      -- The version of each owner's node list, bumped by a trigger on every write of one of
      -- its nodes: the trigger runs after the node row is written and locked, so every writer
      -- takes the node row, then the owner row (a create takes the owner row first, but its
      -- node row is new: nobody else can hold it), and no two writers wait on each other in a circle.
      CREATE TABLE agora_node_lists (
        owner   text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL
      );
      INSERT INTO agora_node_lists (owner, version) SELECT owner, count(*) FROM agora_nodes GROUP BY owner;
      CREATE FUNCTION agora_node_list_bump() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO agora_node_lists AS l (owner, version) VALUES (COALESCE(NEW.owner, OLD.owner), 1)
          ON CONFLICT (owner) DO UPDATE SET version = l.version + 1;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER agora_nodes_list_bump AFTER INSERT OR UPDATE OR DELETE ON agora_nodes
        FOR EACH ROW EXECUTE FUNCTION agora_node_list_bump();
    `,
  },
  {
    version: 6,
    name: 'routes and node targets',
    sql: `
      -- Custom routes (services/routes): the record without version and created_at, which are
      -- columns; owner and created_at also as columns, for each owner's oldest-first list.
      CREATE TABLE agora_routes (
        source     text COLLATE "C" PRIMARY KEY,
        owner      text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        version    bigint NOT NULL,
        record     jsonb NOT NULL
      );
      CREATE INDEX agora_routes_owner ON agora_routes (owner, created_at, source);
      -- The version of each owner's route list; every write of a route locks its owner's row
      -- first, so the writes of one owner take turns and the version moves with them.
      CREATE TABLE agora_route_lists (
        owner   text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL
      );
      -- Where each node is, as compute last said; gone_at set: the tombstone of a dropped node.
      CREATE TABLE agora_node_targets (
        id      text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL,
        epoch   text NOT NULL,
        gone_at bigint,
        record  jsonb NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'appends that arrive together in one call',
    sql: `
      -- Appends that arrive together, to any channels (lib/store/messages-postgres.ts "PgMessageStore"):
      -- each channel's counter moves by its number of messages under its row lock, the rows locked in
      -- one order (by name), so the ids stay gap-free and in order and two calls never deadlock; ids
      -- that retention already drops are given but not inserted. A VOLATILE function's statements each
      -- take a fresh snapshot, so the delete sees the messages of the calls that held a lock before
      -- this one, even those committed after this call began. Answers each channel's new last id.
      CREATE FUNCTION agora_append_messages(p_channels text[], p_usernames text[], p_messages bytea[], p_retain bigint)
        RETURNS TABLE (out_channel text, out_last_id bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_channel text[];
        a_prev bigint[];
        a_first bigint[];
        a_last bigint[];
      BEGIN
        WITH b AS (
          SELECT u.ch, count(*) AS n FROM unnest(p_channels) AS u(ch) GROUP BY u.ch),
        c AS (
          INSERT INTO agora_message_counters AS k (channel, last_id, first_id, prev_first_id)
            SELECT b.ch, b.n, GREATEST(1, b.n + 1 - p_retain), 1 FROM b ORDER BY b.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id, prev_first_id = k.first_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain)
          RETURNING k.channel, k.last_id, k.first_id, k.prev_first_id),
        m AS (
          SELECT u.ch, u.username, u.message, row_number() OVER (PARTITION BY u.ch ORDER BY u.ord) AS rank
          FROM unnest(p_channels, p_usernames, p_messages) WITH ORDINALITY AS u(ch, username, message, ord)),
        ins AS (
          INSERT INTO agora_messages (channel, id, username, message)
            SELECT m.ch, c.last_id - b.n + m.rank, m.username, m.message
            FROM m JOIN b ON b.ch = m.ch JOIN c ON c.channel = m.ch
            WHERE c.last_id - b.n + m.rank >= c.first_id)
        SELECT array_agg(c.channel), array_agg(c.prev_first_id), array_agg(c.first_id), array_agg(c.last_id)
          INTO a_channel, a_prev, a_first, a_last FROM c;
        -- One range of the primary key per channel, never a join the planner could turn into a scan.
        FOR i IN 1 .. coalesce(cardinality(a_channel), 0) LOOP
          DELETE FROM agora_messages WHERE channel = a_channel[i] AND id >= a_prev[i] AND id < a_first[i];
        END LOOP;
        RETURN QUERY SELECT * FROM unnest(a_channel, a_last);
      END $$;
    `,
  },
  {
    version: 8,
    name: 'record timestamps and node tombstones',
    sql: `
      -- The timestamps of the /v1 protocol (lib/store/contracts.ts "stamp"): a write of a record takes
      -- GREATEST(now, its collection's last timestamp + 1), under its collection's row lock, as the
      -- record's version and the collection's; now is the database's clock, one for every process.
      CREATE FUNCTION agora_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS $$
        SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;
      -- Channels: each keeps the timestamp of its create; the list's version is the last of them.
      ALTER TABLE agora_channels ADD COLUMN last_modified bigint;
      UPDATE agora_channels c SET last_modified = s.ts
        FROM (SELECT name, agora_now_ms() + row_number() OVER (ORDER BY created_at, name) AS ts FROM agora_channels) s
        WHERE c.name = s.name;
      ALTER TABLE agora_channels ALTER COLUMN last_modified SET NOT NULL;
      UPDATE agora_channel_list SET version = GREATEST(version, (SELECT max(last_modified) FROM agora_channels));
      -- Nodes: versions become timestamps, stamped by a trigger before each write under the owner's
      -- list row (taken after the node row, as the trigger of migration 5 did); a delete leaves a
      -- tombstone stamped the same way.
      DROP TRIGGER agora_nodes_list_bump ON agora_nodes;
      DROP FUNCTION agora_node_list_bump();
      CREATE TABLE agora_node_tombstones (
        id            text COLLATE "C" PRIMARY KEY,
        owner         text NOT NULL,
        last_modified bigint NOT NULL
      );
      CREATE INDEX agora_node_tombstones_owner ON agora_node_tombstones (owner, last_modified);
      CREATE INDEX agora_node_tombstones_age ON agora_node_tombstones (last_modified);
      UPDATE agora_nodes n SET version = s.ts
        FROM (SELECT id, agora_now_ms() + row_number() OVER (PARTITION BY owner ORDER BY created_at, id) AS ts
              FROM agora_nodes) s
        WHERE n.id = s.id;
      UPDATE agora_node_lists l SET version = GREATEST(l.version, s.ts)
        FROM (SELECT owner, max(version) AS ts FROM agora_nodes GROUP BY owner) s WHERE l.owner = s.owner;
      CREATE FUNCTION agora_node_stamp() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE ts bigint;
      BEGIN
        INSERT INTO agora_node_lists AS l (owner, version) VALUES (COALESCE(NEW.owner, OLD.owner), agora_now_ms())
          ON CONFLICT (owner) DO UPDATE SET version = GREATEST(agora_now_ms(), l.version + 1)
          RETURNING version INTO ts;
        IF TG_OP = 'DELETE' THEN
          INSERT INTO agora_node_tombstones AS t (id, owner, last_modified) VALUES (OLD.id, OLD.owner, ts)
            ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, last_modified = EXCLUDED.last_modified;
          RETURN OLD;
        END IF;
        IF TG_OP = 'INSERT' THEN
          DELETE FROM agora_node_tombstones WHERE id = NEW.id;
        END IF;
        NEW.version := ts;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER agora_nodes_stamp BEFORE INSERT OR UPDATE OR DELETE ON agora_nodes
        FOR EACH ROW EXECUTE FUNCTION agora_node_stamp();
      -- Routes: versions become timestamps too (stamped by lib/store/routes-postgres.ts under the
      -- owner's list row lock it already takes).
      UPDATE agora_routes r SET version = s.ts
        FROM (SELECT source, agora_now_ms() + row_number() OVER (PARTITION BY owner ORDER BY created_at, source) AS ts
              FROM agora_routes) s
        WHERE r.source = s.source;
      UPDATE agora_route_lists l SET version = GREATEST(l.version, s.ts)
        FROM (SELECT owner, max(version) AS ts FROM agora_routes GROUP BY owner) s WHERE l.owner = s.owner;
    `,
  },
  {
    version: 9,
    name: 'permissions of channels and nodes',
    sql: `
      -- Who may read a channel and who may post to it (lib/permissions.ts), as principals; the
      -- channels made before are public, as they were: every signed-in user reads and posts, and
      -- the creator holds write.
      ALTER TABLE agora_channels
        ADD COLUMN read_principals text[] NOT NULL DEFAULT '{system.Authenticated}',
        ADD COLUMN write_principals text[] NOT NULL DEFAULT '{system.Authenticated}';
      UPDATE agora_channels SET write_principals = ARRAY['system.Authenticated', 'account:' || created_by];
      -- A node's permissions live in its record; the nodes made before are their owner's alone. The
      -- version moves (the trigger of migration 8 stamps the write), since the record's representation does.
      UPDATE agora_nodes SET record = record || jsonb_build_object('permissions',
          jsonb_build_object('read', '[]'::jsonb, 'write', jsonb_build_array('account:' || owner)))
        WHERE NOT record ? 'permissions';
    `,
  },
  {
    version: 10,
    name: 'idempotency keys',
    sql: `
      -- Idempotency keys (gateway/hooks/idempotency.ts): per caller and key, the request's
      -- fingerprint; while it runs, its claim's token; once done, its answer (status, the headers
      -- replayed, the body as sent). An entry past expires_at is as if absent: a claim takes it
      -- over, and the gateways' sweep deletes it through the index.
      CREATE TABLE agora_idempotency (
        scope       text COLLATE "C" NOT NULL,
        key         text COLLATE "C" NOT NULL,
        fingerprint text NOT NULL,
        token       text,
        expires_at  bigint NOT NULL,
        status      integer,
        headers     jsonb,
        body        bytea,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX agora_idempotency_expires_at ON agora_idempotency (expires_at);
    `,
  },
  {
    version: 11,
    name: 'idempotency keys of posts',
    sql: `
      -- The idempotency keys of posts (lib/store/messages-postgres.ts "PgMessageStore"): per channel,
      -- username and key, the id the post was given, written in the transaction that stores the
      -- message, and kept until expires_at whatever the channel's retention (the messages services'
      -- sweep deletes it then, through the index).
      CREATE TABLE agora_message_keys (
        channel    text COLLATE "C" NOT NULL,
        username   text COLLATE "C" NOT NULL,
        key        text COLLATE "C" NOT NULL,
        message_id bigint NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (channel, username, key)
      );
      CREATE INDEX agora_message_keys_expires_at ON agora_message_keys (expires_at);
    `,
  },
  {
    version: 12,
    name: 'last_modified of messages',
    sql: `
      -- Every message's last_modified (the /v1 protocol's, docs/API-V1.md), ms since the epoch:
      -- max(now, the channel's previous stamp + 1), taken with its id under the channel's counter row
      -- lock, so strictly increasing in id order within a channel whatever the number of writers. The
      -- counter keeps the channel's last stamp. The messages stored before get stamps one ms apart in
      -- id order, the last of each channel at the time of this migration. A writer from before it
      -- (during an upgrade) inserts the time of its insert.
      ALTER TABLE agora_message_counters ADD COLUMN last_modified bigint NOT NULL DEFAULT 0;
      UPDATE agora_message_counters SET last_modified = floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      ALTER TABLE agora_messages ADD COLUMN last_modified bigint;
      UPDATE agora_messages m SET last_modified = k.last_modified - (k.last_id - m.id)
        FROM agora_message_counters k WHERE k.channel = m.channel;
      ALTER TABLE agora_messages
        ALTER COLUMN last_modified SET DEFAULT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint,
        ALTER COLUMN last_modified SET NOT NULL;
      -- agora_append_messages (migration 7) with a key per append (NULL: none) and an id per append
      -- (out_ord: its place in the call, from 1); a key is looked at as of its p_nows and kept until its
      -- p_expires (ms since the epoch). First the keys, in one order, so that two calls
      -- never wait on each other in a circle (keys, then counters, each in one order): a key taken
      -- (inserted, or over an expired one) makes its append new; a key held by another transaction
      -- waits for it, and a key held and unexpired makes its append a replay of the id it records,
      -- nothing stored. Then the new appends as in migration 7, each stamped: the n new
      -- messages of a channel get max(now, its counter's stamp + 1) and the n - 1 ms after it, in id
      -- order, now read once per call, and their keys get their ids.
      -- The caller never puts one (channel, username, key) twice in a call.
      CREATE FUNCTION agora_append_stamped_messages(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        r record;
        v bigint;
        known bigint[] := array_fill(NULL::bigint, ARRAY[cardinality(p_channels)]);
        fresh boolean[] := array_fill(false, ARRAY[cardinality(p_channels)]);
        a_channel text[];
        a_prev bigint[];
        a_first bigint[];
        a_ord bigint[];
        a_id bigint[];
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
${TAKE_KEYS}        WITH t AS (
          SELECT u.ch, u.username, u.message, u.ord
            FROM unnest(p_channels, p_usernames, p_messages) WITH ORDINALITY AS u(ch, username, message, ord)
           WHERE known[u.ord] IS NULL),
        b AS (
          SELECT t.ch, count(*) AS n FROM t GROUP BY t.ch),
        c AS (
          INSERT INTO agora_message_counters AS k (channel, last_id, first_id, prev_first_id, last_modified)
            SELECT b.ch, b.n, GREATEST(1, b.n + 1 - p_retain), 1, v_now + b.n - 1 FROM b ORDER BY b.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id, prev_first_id = k.first_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain),
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.prev_first_id, k.last_modified),
        m AS (
          SELECT t.ch, t.username, t.message, t.ord, c.first_id, c.last_id, c.last_modified,
                 c.last_id - b.n + row_number() OVER (PARTITION BY t.ch ORDER BY t.ord) AS id
            FROM t JOIN b ON b.ch = t.ch JOIN c ON c.channel = t.ch),
        ins AS (
          INSERT INTO agora_messages (channel, id, username, message, last_modified)
            SELECT m.ch, m.id, m.username, m.message, m.last_modified - (m.last_id - m.id)
              FROM m WHERE m.id >= m.first_id)
        SELECT (SELECT array_agg(c.channel) FROM c), (SELECT array_agg(c.prev_first_id) FROM c),
               (SELECT array_agg(c.first_id) FROM c), (SELECT array_agg(m.ord) FROM m), (SELECT array_agg(m.id) FROM m)
          INTO a_channel, a_prev, a_first, a_ord, a_id;
        FOR i IN 1 .. coalesce(cardinality(a_ord), 0) LOOP
          known[a_ord[i]] := a_id[i];
        END LOOP;
        IF true = ANY (fresh) THEN
          UPDATE agora_message_keys k SET message_id = u.id
            FROM unnest(p_channels, p_usernames, p_keys, known, fresh) AS u(ch, username, kk, id, f)
           WHERE u.f AND k.channel = u.ch AND k.username = u.username AND k.key = u.kk;
        END IF;
        -- One range of the primary key per channel, never a join the planner could turn into a scan.
        FOR i IN 1 .. coalesce(cardinality(a_channel), 0) LOOP
          DELETE FROM agora_messages WHERE channel = a_channel[i] AND id >= a_prev[i] AND id < a_first[i];
        END LOOP;
        RETURN QUERY SELECT u.ord, u.id FROM unnest(known) WITH ORDINALITY AS u(id, ord);
      END $$;
    `,
  },
  {
    version: 13,
    name: 'route tombstones',
    sql: `
      -- A deleted route leaves its tombstone (lib/store/routes-postgres.ts): per owner and source,
      -- the timestamp of the delete, stamped under the owner's list row lock as any write; the
      -- owner's create of that source again removes it; Routes prunes it once AGORA_TOMBSTONE_TTL_S
      -- has passed, through the index on last_modified.
      CREATE TABLE agora_route_tombstones (
        owner         text COLLATE "C" NOT NULL,
        source        text COLLATE "C" NOT NULL,
        last_modified bigint NOT NULL,
        PRIMARY KEY (owner, source)
      );
      CREATE INDEX agora_route_tombstones_age ON agora_route_tombstones (last_modified);
    `,
  },
  {
    version: 14,
    name: 'appends answer their stamps',
    sql: `
      -- agora_append_stamped_messages (migration 12), answering besides each append's id the
      -- last_modified of its message (out_stamp), so that a post answers it and its announce carries
      -- it without another round trip. Read once the call has stored the messages: a later statement
      -- of this function sees them. 0 for a message that is not retained: a replayed key whose
      -- message has fallen out, or a message that retention dropped in the same call.
      CREATE FUNCTION agora_append_messages_answered(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint, out_stamp bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_ord bigint[];
        a_id bigint[];
      BEGIN
        SELECT array_agg(a.out_ord), array_agg(a.out_id) INTO a_ord, a_id
          FROM agora_append_stamped_messages(p_channels, p_usernames, p_messages, p_keys, p_retain, p_nows, p_expires) a;
        RETURN QUERY
          SELECT u.ord, u.id, coalesce(m.last_modified, 0)
            FROM unnest(a_ord, a_id) AS u(ord, id)
            LEFT JOIN agora_messages m ON m.channel = p_channels[u.ord] AND m.id = u.id;
      END $$;
    `,
  },
  {
    version: 15,
    name: 'appends without keys in one statement',
    sql: `
      -- The appends of a call that carries no key (lib/store/messages-postgres.ts "PgMessageStore"):
      -- agora_append_stamped_messages (migration 12) without its keys, in one statement that moves the
      -- counters (locked in name order), inserts the messages stamped and collects their ids, then a
      -- delete of the ids retention dropped, one range of the primary key per channel that has some;
      -- answers every append's id and its message's stamp, in the order of the call (the stamp a
      -- message retention dropped in the same call would have had). A call with keys goes through
      -- migration 14's function, which takes its keys first: both take the counters the same way.
      CREATE FUNCTION agora_append_unkeyed_messages(
        p_channels text[], p_usernames text[], p_messages bytea[], p_retain bigint)
        RETURNS TABLE (out_ids bigint[], out_stamps bigint[]) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_channel text[];
        a_prev bigint[];
        a_first bigint[];
        a_id bigint[];
        a_stamp bigint[];
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        WITH t AS (
          SELECT u.ch, u.username, u.message, u.ord
            FROM unnest(p_channels, p_usernames, p_messages) WITH ORDINALITY AS u(ch, username, message, ord)),
        b AS (
          SELECT t.ch, count(*) AS n FROM t GROUP BY t.ch),
        c AS (
          INSERT INTO agora_message_counters AS k (channel, last_id, first_id, prev_first_id, last_modified)
            SELECT b.ch, b.n, GREATEST(1, b.n + 1 - p_retain), 1, v_now + b.n - 1 FROM b ORDER BY b.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id, prev_first_id = k.first_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain),
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.prev_first_id, k.last_modified),
        m AS (
          SELECT t.ch, t.username, t.message, t.ord, c.first_id, c.last_id, c.last_modified,
                 c.last_id - b.n + row_number() OVER (PARTITION BY t.ch ORDER BY t.ord) AS id
            FROM t JOIN b ON b.ch = t.ch JOIN c ON c.channel = t.ch),
        ins AS (
          INSERT INTO agora_messages (channel, id, username, message, last_modified)
            SELECT m.ch, m.id, m.username, m.message, m.last_modified - (m.last_id - m.id)
              FROM m WHERE m.id >= m.first_id)
        SELECT (SELECT array_agg(c.channel) FROM c WHERE c.first_id > c.prev_first_id),
               (SELECT array_agg(c.prev_first_id) FROM c WHERE c.first_id > c.prev_first_id),
               (SELECT array_agg(c.first_id) FROM c WHERE c.first_id > c.prev_first_id),
               (SELECT array_agg(m.id ORDER BY m.ord) FROM m),
               (SELECT array_agg(m.last_modified - (m.last_id - m.id) ORDER BY m.ord) FROM m)
          INTO a_channel, a_prev, a_first, a_id, a_stamp;
        -- A statement of its own, so that it sees the messages of the calls that held a counter before
        -- this one (migration 7); one range of the primary key per channel, never a scan.
        FOR i IN 1 .. coalesce(cardinality(a_channel), 0) LOOP
          DELETE FROM agora_messages WHERE channel = a_channel[i] AND id >= a_prev[i] AND id < a_first[i];
        END LOOP;
        RETURN QUERY SELECT a_id, a_stamp;
      END $$;
    `,
  },
  {
    version: NODE_SHARING_MIGRATION,
    name: 'node sharing stamp',
    sql: `
      -- The sharing stamp of the node lists (lib/store/contracts.ts "OwnedNodes"): one row; every write
      -- of a node is stamped after it, and a write of a node shared before or after it (its permissions
      -- name another principal than its owner's account) stamps it too, after every list's last
      -- timestamp, under its row lock, taken after the owner's list row; it starts at the last
      -- timestamp of the nodes shared now.
      CREATE TABLE agora_node_sharing (
        id   boolean PRIMARY KEY DEFAULT true CHECK (id),
        last bigint NOT NULL
      );
      CREATE INDEX agora_node_lists_version ON agora_node_lists (version);
      CREATE FUNCTION agora_node_shared(record jsonb, owner text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
        SELECT EXISTS (SELECT 1 FROM jsonb_array_elements_text(
            COALESCE(record->'permissions'->'read', '[]'::jsonb) || COALESCE(record->'permissions'->'write', '[]'::jsonb)
          ) AS p(principal) WHERE p.principal <> 'account:' || owner) $$;
      INSERT INTO agora_node_sharing (last)
        SELECT COALESCE(max(version), 0) FROM agora_nodes WHERE agora_node_shared(record, owner);
      CREATE OR REPLACE FUNCTION agora_node_stamp() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        ts bigint;
        owner_of text := COALESCE(NEW.owner, OLD.owner);
        shared boolean := (TG_OP <> 'DELETE' AND agora_node_shared(NEW.record, NEW.owner))
          OR (TG_OP <> 'INSERT' AND agora_node_shared(OLD.record, OLD.owner));
      BEGIN
        INSERT INTO agora_node_lists AS l (owner, version)
          VALUES (owner_of, GREATEST(agora_now_ms(), (SELECT last + 1 FROM agora_node_sharing)))
          ON CONFLICT (owner) DO UPDATE
            SET version = GREATEST(agora_now_ms(), l.version + 1, (SELECT last + 1 FROM agora_node_sharing))
          RETURNING version INTO ts;
        IF shared THEN
          -- After every list's last write, so that every reader's view moves.
          UPDATE agora_node_sharing SET last = GREATEST(ts, last + 1, (SELECT max(version) + 1 FROM agora_node_lists))
            RETURNING last INTO ts;
          UPDATE agora_node_lists SET version = ts WHERE owner = owner_of;
        END IF;
        IF TG_OP = 'DELETE' THEN
          INSERT INTO agora_node_tombstones AS t (id, owner, last_modified) VALUES (OLD.id, OLD.owner, ts)
            ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, last_modified = EXCLUDED.last_modified;
          RETURN OLD;
        END IF;
        IF TG_OP = 'INSERT' THEN
          DELETE FROM agora_node_tombstones WHERE id = NEW.id;
        END IF;
        NEW.version := ts;
        RETURN NEW;
      END
      $fn$;
    `,
  },
  {
    version: 17,
    name: 'announce only to listed listeners',
    sql: `
      -- Who hears a topic now (lib/store/postgres-broadcast.ts "listed"): a process listening to a topic that
      -- the appends announce on lists itself here until expires_at (the database's clock, ms) and renews
      -- the listing while it listens. PostgreSQL wakes every listening connection of the database at each
      -- NOTIFY, whatever it listens to: an append without a listener of its topic notifies nothing.
      CREATE TABLE agora_topic_listeners (
        topic      text COLLATE "C" NOT NULL,
        listener   text COLLATE "C" NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (topic, listener)
      );
      -- Renew p_listener's listing of p_topic until p_lease_ms from now; true when it was listed with more
      -- than p_margin_ms left (no announce can have missed it). Else (false) list it anew under the topic's
      -- advisory lock (first key ${TOPIC_LISTENERS_LOCK}), taken exclusive: it waits for the appends that
      -- hold it shared, which could not see the listing, to commit, so that what they stored is there
      -- to read once this call returns; the appends after it see the listing.
      CREATE FUNCTION agora_list_listener(p_topic text, p_listener text, p_lease_ms bigint, p_margin_ms bigint)
        RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        UPDATE agora_topic_listeners SET expires_at = agora_now_ms() + p_lease_ms
         WHERE topic = p_topic AND listener = p_listener AND expires_at > agora_now_ms() + p_margin_ms;
        IF FOUND THEN
          RETURN true;
        END IF;
        PERFORM pg_advisory_xact_lock(${TOPIC_LISTENERS_LOCK}, hashtext(p_topic));
        DELETE FROM agora_topic_listeners WHERE topic = p_topic AND expires_at <= agora_now_ms();
        INSERT INTO agora_topic_listeners AS l (topic, listener, expires_at)
          VALUES (p_topic, p_listener, agora_now_ms() + p_lease_ms)
          ON CONFLICT (topic, listener) DO UPDATE SET expires_at = excluded.expires_at;
        RETURN false;
      END $$;
      -- agora_append_unkeyed_messages (migration 15) under the topic's advisory lock taken shared, answering
      -- besides the ids and stamps whether a listener of p_topic is listed (out_heard): read by a statement
      -- that starts once the lock is held, so it sees every listing that has waited for it.
      CREATE FUNCTION agora_append_heard_messages(
        p_channels text[], p_usernames text[], p_messages bytea[], p_retain bigint, p_topic text)
        RETURNS TABLE (out_ids bigint[], out_stamps bigint[], out_heard boolean) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_id bigint[];
        a_stamp bigint[];
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(${TOPIC_LISTENERS_LOCK}, hashtext(p_topic));
        SELECT a.out_ids, a.out_stamps INTO a_id, a_stamp
          FROM agora_append_unkeyed_messages(p_channels, p_usernames, p_messages, p_retain) a;
        RETURN QUERY SELECT a_id, a_stamp, EXISTS (
          SELECT 1 FROM agora_topic_listeners l WHERE l.topic = p_topic AND l.expires_at > agora_now_ms());
      END $$;
    `,
  },
  {
    version: 18,
    name: 'retention trimmed in chunks, appends grouped by channel',
    sql: `
      -- Retention trims in chunks (RETENTION_CHUNK): trimmed_id is where the messages of a channel start
      -- in the table, first_id where its retained ones do. Every append still moves first_id; the ids
      -- between trimmed_id and first_id are deleted (one range of the primary key) only once they are
      -- LEAST(retain, ${RETENTION_CHUNK}) or more, and trimmed_id moves to first_id then; prev_first_id now
      -- keeps the trimmed_id an update found, so that the range deleted is [prev_first_id, trimmed_id). A
      -- statement per trimmed channel made most of an append's cost on many channels. Reads start at
      -- first_id (lib/store/messages-postgres.ts). Every row is trimmed up to first_id now.
      ALTER TABLE agora_message_counters ADD COLUMN trimmed_id bigint NOT NULL DEFAULT 1;
      UPDATE agora_message_counters SET trimmed_id = first_id;
      -- agora_append_stamped_messages (migration 12) trimming in chunks.
      CREATE OR REPLACE FUNCTION agora_append_stamped_messages(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        r record;
        v bigint;
        known bigint[] := array_fill(NULL::bigint, ARRAY[cardinality(p_channels)]);
        fresh boolean[] := array_fill(false, ARRAY[cardinality(p_channels)]);
        a_channel text[];
        a_prev bigint[];
        a_trimmed bigint[];
        a_ord bigint[];
        a_id bigint[];
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
${TAKE_KEYS}        WITH t AS (
          SELECT u.ch, u.username, u.message, u.ord
            FROM unnest(p_channels, p_usernames, p_messages) WITH ORDINALITY AS u(ch, username, message, ord)
           WHERE known[u.ord] IS NULL),
        b AS (
          SELECT t.ch, count(*) AS n FROM t GROUP BY t.ch),
        c AS (
          INSERT INTO agora_message_counters AS k (channel, last_id, first_id, prev_first_id, trimmed_id, last_modified)
            SELECT b.ch, b.n, GREATEST(1, b.n + 1 - p_retain), GREATEST(1, b.n + 1 - p_retain),
                   GREATEST(1, b.n + 1 - p_retain), v_now + b.n - 1
              FROM b ORDER BY b.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id, prev_first_id = k.trimmed_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain),
                trimmed_id = CASE
                  WHEN GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain) - k.trimmed_id
                       >= LEAST(p_retain, ${RETENTION_CHUNK})
                  THEN GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain) ELSE k.trimmed_id END,
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.prev_first_id, k.trimmed_id, k.last_modified),
        m AS (
          SELECT t.ch, t.username, t.message, t.ord, c.first_id, c.last_id, c.last_modified,
                 c.last_id - b.n + row_number() OVER (PARTITION BY t.ch ORDER BY t.ord) AS id
            FROM t JOIN b ON b.ch = t.ch JOIN c ON c.channel = t.ch),
        ins AS (
          INSERT INTO agora_messages (channel, id, username, message, last_modified)
            SELECT m.ch, m.id, m.username, m.message, m.last_modified - (m.last_id - m.id)
              FROM m WHERE m.id >= m.first_id)
        SELECT (SELECT array_agg(c.channel) FROM c WHERE c.trimmed_id > c.prev_first_id),
               (SELECT array_agg(c.prev_first_id) FROM c WHERE c.trimmed_id > c.prev_first_id),
               (SELECT array_agg(c.trimmed_id) FROM c WHERE c.trimmed_id > c.prev_first_id),
               (SELECT array_agg(m.ord) FROM m), (SELECT array_agg(m.id) FROM m)
          INTO a_channel, a_prev, a_trimmed, a_ord, a_id;
        FOR i IN 1 .. coalesce(cardinality(a_ord), 0) LOOP
          known[a_ord[i]] := a_id[i];
        END LOOP;
        IF true = ANY (fresh) THEN
          UPDATE agora_message_keys k SET message_id = u.id
            FROM unnest(p_channels, p_usernames, p_keys, known, fresh) AS u(ch, username, kk, id, f)
           WHERE u.f AND k.channel = u.ch AND k.username = u.username AND k.key = u.kk;
        END IF;
        FOR i IN 1 .. coalesce(cardinality(a_channel), 0) LOOP
          DELETE FROM agora_messages WHERE channel = a_channel[i] AND id >= a_prev[i] AND id < a_trimmed[i];
        END LOOP;
        RETURN QUERY SELECT u.ord, u.id FROM unnest(known) WITH ORDINALITY AS u(id, ord);
      END $$;
      -- agora_append_messages_answered (migration 14): a message before its channel's first_id, in the
      -- table until its chunk is trimmed, is not retained either (stamp 0).
      CREATE OR REPLACE FUNCTION agora_append_messages_answered(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint, out_stamp bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_ord bigint[];
        a_id bigint[];
      BEGIN
        SELECT array_agg(a.out_ord), array_agg(a.out_id) INTO a_ord, a_id
          FROM agora_append_stamped_messages(p_channels, p_usernames, p_messages, p_keys, p_retain, p_nows, p_expires) a;
        RETURN QUERY
          SELECT u.ord, u.id, coalesce(m.last_modified, 0)
            FROM unnest(a_ord, a_id) AS u(ord, id)
            LEFT JOIN agora_message_counters k ON k.channel = p_channels[u.ord]
            LEFT JOIN agora_messages m ON m.channel = k.channel AND m.id = u.id AND m.id >= k.first_id;
      END $$;
      -- The appends of a call without keys (lib/store/messages-postgres.ts "PgMessageStore"), grouped by
      -- the caller: the call's channels once each (p_channels) with how many appends each carries
      -- (p_counts); then per append, its channel's place in p_channels (p_at, from 1), how many appends of
      -- its channel come after it in the call (p_back), its username and message. One statement moves the
      -- counters (locked in name order) and inserts the messages, each id the counter's new last_id less
      -- its p_back (nothing to group, number or join per append); then the chunks retention trims. It
      -- answers per channel its new last id and stamp (the id and stamp of an append: those less its
      -- p_back). With p_topic (migration 17), under the topic's advisory lock taken shared, and whether a
      -- listener of it is listed (out_heard), read once the lock is held.
      CREATE FUNCTION agora_append_posts(
        p_topic text, p_retain bigint, p_channels text[], p_counts bigint[],
        p_at int[], p_back bigint[], p_usernames text[], p_messages bytea[])
        RETURNS TABLE (out_channels text[], out_last bigint[], out_stamps bigint[], out_heard boolean)
        LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_channel text[];
        a_prev bigint[];
        a_trimmed bigint[];
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        IF p_topic IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock_shared(${TOPIC_LISTENERS_LOCK}, hashtext(p_topic));
        END IF;
        WITH c AS (
          INSERT INTO agora_message_counters AS k (channel, last_id, first_id, prev_first_id, trimmed_id, last_modified)
            SELECT u.ch, u.n, GREATEST(1, u.n + 1 - p_retain), GREATEST(1, u.n + 1 - p_retain),
                   GREATEST(1, u.n + 1 - p_retain), v_now + u.n - 1
              FROM unnest(p_channels, p_counts) AS u(ch, n) ORDER BY u.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id, prev_first_id = k.trimmed_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain),
                trimmed_id = CASE
                  WHEN GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain) - k.trimmed_id
                       >= LEAST(p_retain, ${RETENTION_CHUNK})
                  THEN GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - p_retain) ELSE k.trimmed_id END,
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.prev_first_id, k.trimmed_id, k.last_modified),
        ins AS (
          INSERT INTO agora_messages (channel, id, username, message, last_modified)
            SELECT c.channel, c.last_id - a.back, a.username, a.message, c.last_modified - a.back
              FROM unnest(p_at, p_back, p_usernames, p_messages) AS a(at, back, username, message)
              JOIN c ON c.channel = p_channels[a.at]
             WHERE c.last_id - a.back >= c.first_id)
        SELECT array_agg(c.channel), array_agg(c.last_id), array_agg(c.last_modified),
               array_agg(c.channel) FILTER (WHERE c.trimmed_id > c.prev_first_id),
               array_agg(c.prev_first_id) FILTER (WHERE c.trimmed_id > c.prev_first_id),
               array_agg(c.trimmed_id) FILTER (WHERE c.trimmed_id > c.prev_first_id)
          INTO out_channels, out_last, out_stamps, a_channel, a_prev, a_trimmed FROM c;
        FOR i IN 1 .. coalesce(cardinality(a_channel), 0) LOOP
          DELETE FROM agora_messages WHERE channel = a_channel[i] AND id >= a_prev[i] AND id < a_trimmed[i];
        END LOOP;
        out_heard := p_topic IS NOT NULL AND EXISTS (
          SELECT 1 FROM agora_topic_listeners l WHERE l.topic = p_topic AND l.expires_at > agora_now_ms());
        RETURN NEXT;
      END $$;
    `,
  },
  {
    version: 19,
    name: 'messages in a ring of slots per channel',
    sql: `
      -- A channel's messages are a ring of rows: the message with id n is row (channel, n % slots), which
      -- the message n + slots takes over in place, as an update of the row's other columns (so PostgreSQL
      -- can make it a heap-only update, without an index entry, reclaiming the old version within its page).
      -- Retention needs no delete and leaves no dead row for vacuum; a table holds no more rows than its
      -- channels have slots. slots is the largest retention a channel was appended with: a call with a larger
      -- one first grows the ring (agora_fit_rings). Reads start at first_id, as before: rows before it (after
      -- a retention got smaller) are never read, and are taken over in turn. trimmed_id and prev_first_id are
      -- no longer moved.
      ALTER TABLE agora_message_counters ADD COLUMN slots bigint;
      DELETE FROM agora_messages m USING agora_message_counters k WHERE m.channel = k.channel AND m.id < k.first_id;
      DELETE FROM agora_messages m
       WHERE NOT EXISTS (SELECT 1 FROM agora_message_counters k WHERE k.channel = m.channel);
      UPDATE agora_message_counters SET slots = GREATEST(last_id - first_id + 1, 1);
      ALTER TABLE agora_message_counters ALTER COLUMN slots SET NOT NULL;
      ALTER TABLE agora_messages ADD COLUMN slot bigint;
      UPDATE agora_messages m SET slot = m.id % k.slots FROM agora_message_counters k WHERE k.channel = m.channel;
      ALTER TABLE agora_messages ALTER COLUMN slot SET NOT NULL;
      ALTER TABLE agora_messages DROP CONSTRAINT agora_messages_pkey;
      ALTER TABLE agora_messages ADD PRIMARY KEY (channel, slot);
      -- Room in each page for the next version of its rows.
      ALTER TABLE agora_messages SET (fillfactor = 90);

      -- The rings of p_channels, whose counters the caller has locked, grow to p_retain rows where they have
      -- fewer. A ring holds ids of less than slots apart, all distinct modulo the larger size too; they move
      -- to their new rows through negative ones, never two on one row.
      CREATE FUNCTION agora_grow_rings(p_channels text[], p_retain bigint) RETURNS void
        LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        r record;
      BEGIN
        FOR r IN
          SELECT channel FROM agora_message_counters
           WHERE channel = ANY (p_channels) AND slots < p_retain ORDER BY channel COLLATE "C"
        LOOP
          UPDATE agora_messages SET slot = -1 - slot WHERE channel = r.channel;
          UPDATE agora_messages SET slot = id % p_retain WHERE channel = r.channel;
          UPDATE agora_message_counters SET slots = p_retain WHERE channel = r.channel;
        END LOOP;
      END $$;
      -- Before a call moves the counters of p_channels: the rings of those with fewer rows than p_retain grow.
      -- Every counter of the call is locked first, in the order the call's own statement locks them (by
      -- name), so that this rare step cannot deadlock with a call on some of the same channels.
      CREATE FUNCTION agora_fit_rings(p_channels text[], p_retain bigint) RETURNS void
        LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM agora_message_counters WHERE channel = ANY (p_channels) AND slots < p_retain) THEN
          PERFORM 1 FROM agora_message_counters WHERE channel = ANY (p_channels) ORDER BY channel COLLATE "C" FOR UPDATE;
          PERFORM agora_grow_rings(p_channels, p_retain);
        END IF;
      END $$;

      -- agora_append_posts (migration 18) on the ring: the messages take over their rows, nothing is trimmed.
      -- With p_grow, the rings are fitted first (agora_fit_rings); without, the caller knows that every ring
      -- of the call has p_retain rows or more (lib/store/messages-postgres.ts), and a ring found smaller all the
      -- same keeps no more messages than it has rows, then grows (its counter locked by the statement).
      DROP FUNCTION agora_append_posts(text, bigint, text[], bigint[], int[], bigint[], text[], bytea[]);
      CREATE FUNCTION agora_append_posts(
        p_topic text, p_retain bigint, p_channels text[], p_counts bigint[],
        p_at int[], p_back bigint[], p_usernames text[], p_messages bytea[], p_grow boolean DEFAULT true)
        RETURNS TABLE (out_channels text[], out_last bigint[], out_stamps bigint[], out_heard boolean)
        LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        a_small text[];
      BEGIN
        IF p_topic IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock_shared(${TOPIC_LISTENERS_LOCK}, hashtext(p_topic));
        END IF;
        IF p_grow THEN
          PERFORM agora_fit_rings(p_channels, p_retain);
        END IF;
        WITH c AS (
          INSERT INTO agora_message_counters AS k
                 (channel, last_id, first_id, prev_first_id, trimmed_id, last_modified, slots)
            SELECT u.ch, u.n, GREATEST(1, u.n + 1 - p_retain), 1, 1, v_now + u.n - 1, p_retain
              FROM unnest(p_channels, p_counts) AS u(ch, n) ORDER BY u.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - LEAST(p_retain, k.slots)),
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.last_modified, k.slots),
        ins AS (
          INSERT INTO agora_messages AS m (channel, slot, id, username, message, last_modified)
            SELECT c.channel, (c.last_id - a.back) % c.slots, c.last_id - a.back, a.username, a.message,
                   c.last_modified - a.back
              FROM unnest(p_at, p_back, p_usernames, p_messages) AS a(at, back, username, message)
              JOIN c ON c.channel = p_channels[a.at]
             WHERE c.last_id - a.back >= c.first_id
          ${TAKE_OVER_ROW})
        SELECT array_agg(c.channel), array_agg(c.last_id), array_agg(c.last_modified),
               array_agg(c.channel) FILTER (WHERE c.slots < p_retain)
          INTO out_channels, out_last, out_stamps, a_small FROM c;
        IF a_small IS NOT NULL THEN
          PERFORM agora_grow_rings(a_small, p_retain);
        END IF;
        out_heard := p_topic IS NOT NULL AND EXISTS (
          SELECT 1 FROM agora_topic_listeners l WHERE l.topic = p_topic AND l.expires_at > agora_now_ms());
        RETURN NEXT;
      END $$;

      -- agora_append_stamped_messages (migration 18) on the ring: the keys first, as before, then the rings
      -- fitted, then the counters and messages.
      CREATE OR REPLACE FUNCTION agora_append_stamped_messages(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        r record;
        v bigint;
        known bigint[] := array_fill(NULL::bigint, ARRAY[cardinality(p_channels)]);
        fresh boolean[] := array_fill(false, ARRAY[cardinality(p_channels)]);
        a_ord bigint[];
        a_id bigint[];
        v_now bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
${TAKE_KEYS}        PERFORM agora_fit_rings(p_channels, p_retain);
        WITH t AS (
          SELECT u.ch, u.username, u.message, u.ord
            FROM unnest(p_channels, p_usernames, p_messages) WITH ORDINALITY AS u(ch, username, message, ord)
           WHERE known[u.ord] IS NULL),
        b AS (
          SELECT t.ch, count(*) AS n FROM t GROUP BY t.ch),
        c AS (
          INSERT INTO agora_message_counters AS k
                 (channel, last_id, first_id, prev_first_id, trimmed_id, last_modified, slots)
            SELECT b.ch, b.n, GREATEST(1, b.n + 1 - p_retain), 1, 1, v_now + b.n - 1, p_retain
              FROM b ORDER BY b.ch COLLATE "C"
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + excluded.last_id,
                first_id = GREATEST(k.first_id, k.last_id + excluded.last_id + 1 - LEAST(p_retain, k.slots)),
                last_modified = GREATEST(excluded.last_modified, k.last_modified + excluded.last_id)
          RETURNING k.channel, k.last_id, k.first_id, k.last_modified, k.slots),
        m AS (
          SELECT t.ch, t.username, t.message, t.ord, c.first_id, c.last_id, c.last_modified, c.slots,
                 c.last_id - b.n + row_number() OVER (PARTITION BY t.ch ORDER BY t.ord) AS id
            FROM t JOIN b ON b.ch = t.ch JOIN c ON c.channel = t.ch),
        ins AS (
          INSERT INTO agora_messages AS x (channel, slot, id, username, message, last_modified)
            SELECT m.ch, m.id % m.slots, m.id, m.username, m.message, m.last_modified - (m.last_id - m.id)
              FROM m WHERE m.id >= m.first_id
          ${TAKE_OVER_ROW})
        SELECT (SELECT array_agg(m.ord) FROM m), (SELECT array_agg(m.id) FROM m) INTO a_ord, a_id;
        FOR i IN 1 .. coalesce(cardinality(a_ord), 0) LOOP
          known[a_ord[i]] := a_id[i];
        END LOOP;
        IF true = ANY (fresh) THEN
          UPDATE agora_message_keys k SET message_id = u.id
            FROM unnest(p_channels, p_usernames, p_keys, known, fresh) AS u(ch, username, kk, id, f)
           WHERE u.f AND k.channel = u.ch AND k.username = u.username AND k.key = u.kk;
        END IF;
        RETURN QUERY SELECT u.ord, u.id FROM unnest(known) WITH ORDINALITY AS u(id, ord);
      END $$;

      -- agora_append_messages_answered (migration 18) reading each message from its row of the ring.
      CREATE OR REPLACE FUNCTION agora_append_messages_answered(
        p_channels text[], p_usernames text[], p_messages bytea[], p_keys text[],
        p_retain bigint, p_nows bigint[], p_expires bigint[])
        RETURNS TABLE (out_ord bigint, out_id bigint, out_stamp bigint) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        a_ord bigint[];
        a_id bigint[];
      BEGIN
        SELECT array_agg(a.out_ord), array_agg(a.out_id) INTO a_ord, a_id
          FROM agora_append_stamped_messages(p_channels, p_usernames, p_messages, p_keys, p_retain, p_nows, p_expires) a;
        RETURN QUERY
          SELECT u.ord, u.id, coalesce(m.last_modified, 0)
            FROM unnest(a_ord, a_id) AS u(ord, id)
            LEFT JOIN agora_message_counters k ON k.channel = p_channels[u.ord]
            LEFT JOIN agora_messages m
                   ON m.channel = k.channel AND m.slot = u.id % k.slots AND m.id = u.id AND m.id >= k.first_id;
      END $$;

      -- A single append, conditional (p_last: the counter's last_id expected, p_stamp: its last_modified; NULL
      -- for none; lib/store/messages-postgres.ts APPEND_SQL), its ring fitted first; no row when the counter
      -- is not at what was expected. Before, a statement of its own, which also deleted the chunk it trimmed:
      -- one that had waited for another append's lock on the counter row could not see, and so left in the
      -- table for good, the messages that append had stored.
      CREATE FUNCTION agora_append_where(p_channel text, p_username text, p_message bytea, p_retain bigint,
                                                    p_last bigint, p_stamp bigint)
        RETURNS TABLE (out_last bigint, out_stamp bigint) LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM agora_fit_rings(ARRAY[p_channel], p_retain);
        RETURN QUERY
        WITH c AS (
          INSERT INTO agora_message_counters AS k
                 (channel, last_id, first_id, prev_first_id, trimmed_id, last_modified, slots)
            SELECT p_channel, 1, 1, 1, 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_retain
             WHERE (coalesce(p_last, 0) = 0 AND coalesce(p_stamp, 0) = 0)
                OR EXISTS (SELECT 1 FROM agora_message_counters WHERE channel = p_channel)
          ON CONFLICT (channel) DO UPDATE
            SET last_id = k.last_id + 1, first_id = GREATEST(k.first_id, k.last_id + 2 - LEAST(p_retain, k.slots)),
                last_modified = GREATEST(excluded.last_modified, k.last_modified + 1)
            WHERE (p_last IS NULL OR k.last_id = p_last) AND (p_stamp IS NULL OR k.last_modified = p_stamp)
          RETURNING k.last_id, k.last_modified, k.slots),
        ins AS (
          INSERT INTO agora_messages AS m (channel, slot, id, username, message, last_modified)
            SELECT p_channel, c.last_id % c.slots, c.last_id, p_username, p_message, c.last_modified FROM c
          ${TAKE_OVER_ROW})
        SELECT c.last_id, c.last_modified FROM c;
      END $$;
    `,
  },
];

/** Apply every migration not yet applied, under the advisory lock; answers the versions applied now. */
export async function migrate(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS agora_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM agora_schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO agora_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
