/**
 * The PostgreSQL message store (AGORA_DATABASE_URL): posts appended to their channel's counter,
 * together when they arrive together (group commit), with their idempotency keys, in the tables and
 * functions made by ./migrations.ts (migrations 7, 11, 12, 14, 15, 17, 18 and 19), through the pool of
 * ./postgres-pool.ts. A channel's messages are a ring of rows (migration 19), each new message taking over
 * the row of the one `slots` before it; a row whose message is before its counter's first_id (the
 * retention got smaller) is never read, since every read here starts there.
 */
import {
  announceGroups,
  announceHead,
  checkRetain,
  type Appended,
  type AppendExpect,
  type AppendKey,
  type MessageStore,
  type StoredMessage,
} from './contracts';
import { byteaArray, intArray, parseIntArray, parseTextArray, textArray } from './pg-arrays';
import type { PgDatabase } from './postgres-pool';

/**
 * One call per conditional append (appendIf), so one round trip (migration 19's agora_append_where):
 * 0. the channel's ring of messages grows if it has fewer rows than `retain` (docs/STORAGE.md);
 * 1. the channel's counter row is inserted or incremented; ON CONFLICT DO UPDATE holds its
 *    row lock until commit, so a concurrent append (any process) waits and then sees the
 *    new last_id: ids are gap-free and unique. first_id moves to keep `retain` messages;
 *    last_modified moves to max(now, itself + 1) (migration 12 in ./migrations.ts);
 * 2. the message goes in under the new id and that stamp, on its row of the ring (id % slots),
 *    taking it over from the message `slots` before it: retention deletes nothing.
 * With an expected last id ($5) or last stamp ($6) (NULL for none) step 1 happens only if the
 * counter is still at it (under the same row lock; a channel without a counter row is at 0):
 * otherwise no row comes back, nothing is inserted, and the append answers undefined.
 */
const APPEND_SQL = `/* writes agora_message_counters and agora_messages */
  SELECT out_last AS last_id, out_stamp AS last_modified
    FROM agora_append_where($1, $2, $3, $4, $5::bigint, $6::bigint)`;

/**
 * Appends that arrive together, as one call (migrations 7, 11, 12 and 14 in ./migrations.ts), with their
 * keys (NULL: none); it answers each append's id and stamp by its place in the call. The leading comment
 * says what the call writes: `isWrite` (./postgres-pool.ts) then counts it as the write it is (a lost
 * answer is AGORA_ERR_STORE_OUTCOME_UNKNOWN), and pg_stat_activity shows which tables it holds.
 */
const APPEND_BATCH_SQL = `/* writes agora_message_keys, agora_message_counters and agora_messages */
  SELECT out_ord, out_id, out_stamp
    FROM agora_append_messages_answered($1::text[], $2::text[], $3::bytea[], $4::text[], $5, $6::bigint[], $7::bigint[])`;

/**
 * A call that carries no key (migration 19's agora_append_posts): $1 the topic (NULL: none), $2 retain,
 * $3 the call's channels once each, $4 how many appends each carries; per append, $5 its channel's place
 * in $3 (from 1), $6 how many appends of its channel come after it in the call, $7 its username, $8 its
 * message; $9 whether a channel's ring may have fewer rows than retain (then grown first; false: this process
 * has seen every one of them take retain). It answers per channel the new last id and stamp, which an
 * append's are less its $6, and with a topic whether a listener of it is listed. The arrays go as
 * ./pg-arrays.ts makes them and come back as text, which it reads.
 */
const APPEND_POSTS_SQL = `/* writes agora_message_counters and agora_messages */
  SELECT out_channels::text, out_last::text, out_stamps::text, out_heard
    FROM agora_append_posts($1, $2, $3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], $8::bytea[], $9)`;

/**
 * APPEND_POSTS_SQL that also announces the messages it stores on the topic (NOTIFY channel $1), in the
 * same statement and so the same transaction, when a listener of the topic is listed (migration 17:
 * none, no NOTIFY, which would wake every listening connection of the database for nothing): each
 * append's head ($9, ./contracts.ts `announceHead`; NULL: none) completed with its id and stamp as
 * `completeAnnounce` does, in the order of the call, as few NOTIFYs as fit the payload limit ($10,
 * ./contracts.ts `announceGroups`): one announce alone, several as a JSON list; $11 is APPEND_POSTS_SQL's $9.
 * Listeners hear them when, and only if, the messages are committed.
 */
const APPEND_POSTS_ANNOUNCED_SQL = `/* writes agora_message_counters and agora_messages */
  WITH a AS (SELECT out_channels, out_last, out_stamps, out_heard
               FROM agora_append_posts($1, $2, $3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], $8::bytea[],
                                       $11)),
  l AS (SELECT l.ch, l.last, l.stamp
          FROM a, unnest(a.out_channels, a.out_last, a.out_stamps) AS l(ch, last, stamp) WHERE a.out_heard),
  u AS (SELECT u.h || (l.last - u.b) || ',"t":' || (l.stamp - u.b) || '}' AS m, u.g, u.o
          FROM unnest($9::text[], $10::int[], $5::int[], $6::bigint[]) WITH ORDINALITY AS u(h, g, at, b, o)
          JOIN l ON l.ch = ($3::text[])[u.at]
         WHERE u.h IS NOT NULL),
  p AS (SELECT u.g, CASE WHEN count(*) = 1 THEN string_agg(u.m, ',' ORDER BY u.o)
                         ELSE '[' || string_agg(u.m, ',' ORDER BY u.o) || ']' END AS payload
          FROM u GROUP BY u.g),
  n AS (SELECT pg_notify($1, p.payload) FROM p ORDER BY p.g)
  SELECT a.out_channels::text, a.out_last::text, a.out_stamps::text, a.out_heard, (SELECT count(*) FROM n) AS notified
    FROM a`;

/** Take (channel $1, username $2, key $3) until $4 + $5, unless it is held and unexpired; one row when taken. */
const TAKE_KEY_SQL = `
  INSERT INTO agora_message_keys AS k (channel, username, key, message_id, expires_at)
    VALUES ($1, $2, $3, 0, $4::bigint + $5::bigint)
  ON CONFLICT (channel, username, key) DO UPDATE SET message_id = 0, expires_at = excluded.expires_at
    WHERE k.expires_at <= $4::bigint
  RETURNING 1 AS taken`;

/** The message a key held names, with its stamp (0 once it is no longer retained). */
const HELD_KEY_SQL = `
  SELECT k.message_id, coalesce(m.last_modified, 0) AS last_modified
    FROM agora_message_keys k
    LEFT JOIN agora_message_counters c ON c.channel = k.channel
    LEFT JOIN agora_messages m
           ON m.channel = k.channel AND m.slot = k.message_id % c.slots AND m.id = k.message_id AND m.id >= c.first_id
   WHERE k.channel = $1 AND k.username = $2 AND k.key = $3`;

/**
 * The retained messages of channel $1 with $2 <= id <= $3, in id order: those from the counter's first_id to
 * its last_id (lo..hi), which lie on the rows lo % slots .. hi % slots of the channel's ring (migration 19),
 * wrapping round at most once (fewer than slots ids): two ranges of the primary key, the second empty unless
 * it wraps. Rows of older ids (a retention got smaller) are left out by their id.
 */
const RANGE_SQL = `
  WITH k AS (
    SELECT channel, slots, GREATEST($2::bigint, first_id) AS lo, LEAST($3::bigint, last_id) AS hi
      FROM agora_message_counters WHERE channel = $1)
  SELECT m.id, m.username, m.message, m.last_modified
    FROM k JOIN agora_messages m ON m.channel = k.channel
     AND m.slot BETWEEN k.lo % k.slots AND CASE WHEN k.lo % k.slots <= k.hi % k.slots THEN k.hi % k.slots ELSE k.slots - 1 END
   WHERE m.id BETWEEN k.lo AND k.hi
  UNION ALL
  SELECT m.id, m.username, m.message, m.last_modified
    FROM k JOIN agora_messages m ON m.channel = k.channel AND m.slot BETWEEN 0 AND k.hi % k.slots
   WHERE k.lo % k.slots > k.hi % k.slots AND m.id BETWEEN k.lo AND k.hi
  ORDER BY 1`;

/** APPEND_SQL's $5 and $6: the last id or the last stamp a conditional append expects, the other NULL. */
function expected(expect: AppendExpect): [number | null, number | null] {
  return 'lastId' in expect ? [expect.lastId, null] : [null, expect.lastModified];
}

/** The most appends one call carries, and the most calls in flight at once (each holds a connection). */
const MAX_BATCH = 256;
const MAX_IN_FLIGHT = 4;
/**
 * The fewest appends a call starts with beside another in flight: each call costs PostgreSQL a commit
 * whatever it carries, so fewer wait for the next, together.
 */
const MIN_BESIDE = 32;
/**
 * The next call waits for more appends to join it (fewer than MIN_BESIDE wait): a call costs PostgreSQL
 * some 90 µs of CPU whatever it carries, plus some 4 µs per append and 3 more per channel, and this process
 * some 30 µs. Under a load on few channels, read from the last call (HOLD_AFTER appends or more, on at most
 * one channel for every HOLD_SHARE of them), it waits up to HOLD_MS; otherwise only for the rest of the
 * event loop's turn, so that the posts the process has already received go too (at 64 channels, less CPU
 * per post for PostgreSQL and this process, and no later answer). The first append after a call that
 * waited, or after none, does not wait.
 */
const HOLD_MS = 1;
const HOLD_AFTER = 8;
const HOLD_SHARE = 4;

/** The most channels `fitted` remembers; past that it starts again (a call then fits its rings once more). */
const MAX_FITTED = 100_000;

interface PendingAppend {
  channel: string;
  username: string;
  /** Stored as its UTF-8 bytes (bytea: ./migrations.ts). */
  message: string;
  retain: number;
  key: AppendKey | undefined;
  /** Whether the store announces it (it has a topic, the append no key). */
  announces: boolean;
  resolve: (appended: Appended) => void;
  reject: (err: unknown) => void;
}

/** What APPEND_POSTS_SQL answers: per channel of the call, its new last id and stamp (arrays as text). */
interface PostsRow {
  out_channels: string | null;
  out_last: string | null;
  out_stamps: string | null;
  out_heard: boolean | null;
}

/**
 * APPEND_POSTS_SQL's grouping of a call: its channels once each, in the order they first come, with how
 * many appends each carries; per append, its channel's place among them (from 1) and how many appends
 * of its channel come after it.
 */
export function groupByChannel(batch: ReadonlyArray<{ channel: string }>): {
  channels: string[];
  counts: number[];
  at: number[];
  back: number[];
} {
  const place = new Map<string, number>();
  const channels: string[] = [];
  const counts: number[] = [];
  const at: number[] = [];
  for (const { channel } of batch) {
    let i = place.get(channel);
    if (i === undefined) {
      i = channels.length;
      place.set(channel, i);
      channels.push(channel);
      counts.push(0);
    }
    counts[i]++;
    at.push(i + 1);
  }
  const seen = counts.map(() => 0);
  const back = at.map((a) => counts[a - 1] - ++seen[a - 1]);
  return { channels, counts, at, back };
}

/** An append's id and stamp from its channel's last ones in the call, and how many came after it. */
function appendedOf(last: { id: number; stamp: number } | undefined, back: number): Appended | undefined {
  return last === undefined ? undefined : { messageid: last.id - back, lastModified: last.stamp - back };
}

/** Refuses a conditional append inside its transaction, so that the key it took is rolled back. */
class NotAtLast extends Error {}

export class PgMessageStore implements MessageStore {
  /** Appends waiting for a call to carry them, in arrival order. */
  private readonly waiting: PendingAppend[] = [];
  private inFlight = 0;
  /** The channels of the calls in flight. */
  private readonly busy = new Set<string>();
  /** What the last call carried (HOLD_AFTER), and the wait for more, while there is one. */
  private lastCall = { appends: 0, channels: 0 };
  /** Whether the last call with announces found a listener of the topic listed (so at first). */
  private heard = true;
  /**
   * The channels whose ring (migration 19) this process has seen take a retention, with the largest: a ring
   * never shrinks, so a call whose channels are all here at its retention or more need not fit them.
   */
  private readonly fitted = new Map<string, number>();
  /**
   * What the last scan for a call beside those in flight found, when it found too few to go: the appends that
   * would have gone, of how many waiting. Set only with a call in flight; forgotten when a call ends or starts
   * (what is busy, or waits, changed).
   */
  private short: { batch: number; waiting: number } | undefined;
  /** Cancels the wait of the next call (`held`) while there is one. */
  private cancelHold: (() => void) | undefined;

  /**
   * `topic`: the NOTIFY channel of the messages topic when it is this database's (lib/store/index.ts), on
   * which the calls without keys announce the messages they store (./contracts.ts), answering them
   * `announced`; undefined: the caller announces.
   */
  constructor(
    private readonly db: PgDatabase,
    private readonly topic?: string,
    private readonly holdMs = HOLD_MS,
  ) {}

  /**
   * Group commit: an append goes at once in a call of its own when no call is in flight; else it waits,
   * and the appends that wait go together in the next call (those of one retain), whatever their channels.
   * That call starts when one in flight ends, or beside those in flight (at most MAX_IN_FLIGHT) once
   * MIN_BESIDE appends of channels none of them carries wait. Each is answered once its row is committed,
   * with its own id; its key, if any, is committed with it.
   */
  append(channel: string, username: string, message: string, retain: number, key?: AppendKey): Promise<Appended> {
    return new Promise<Appended>((resolve, reject) => {
      checkRetain(retain); // a throw here rejects
      this.waiting.push({
        channel,
        username,
        message,
        retain,
        key,
        announces: this.topic !== undefined && key === undefined,
        resolve,
        reject,
      });
      this.next();
    });
  }

  private next(): void {
    if (this.held()) return;
    while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length > 0) {
      if (this.inFlight > 0 && this.waiting.length < MIN_BESIDE) return; // not enough to go beside: no scan
      // The last scan beside a call found too few to go, and every append since, were it to join, would not
      // make enough: no scan (the same calls in flight, the same head, the same batch but for those appends).
      const short = this.short;
      if (short !== undefined && short.batch + this.waiting.length - short.waiting < MIN_BESIDE) return;
      this.short = undefined;
      // One call in flight per channel: its appends that arrive meanwhile wait for the next, together.
      const batch: PendingAppend[] = [];
      const head = this.waiting.find((p) => !this.busy.has(p.channel));
      if (head === undefined) {
        // Every channel waiting is in a call in flight.
        this.short = { batch: 0, waiting: this.waiting.length };
        return;
      }
      const keys = new Set<string>();
      const rest: PendingAppend[] = [];
      for (const p of this.waiting) {
        // A key sent twice waits for the next call, which finds it recorded.
        const id = p.key === undefined ? undefined : JSON.stringify([p.channel, p.username, p.key.key]);
        const fits = p.retain === head.retain && !(id !== undefined && keys.has(id));
        if (batch.length < MAX_BATCH && fits && !this.busy.has(p.channel)) {
          batch.push(p);
          if (id !== undefined) keys.add(id);
        } else rest.push(p);
      }
      if (this.inFlight > 0 && batch.length < MIN_BESIDE) {
        this.short = { batch: batch.length, waiting: this.waiting.length };
        return;
      }
      const channels = new Set(batch.map((p) => p.channel));
      this.waiting.splice(0, this.waiting.length, ...rest);
      for (const c of channels) this.busy.add(c);
      this.inFlight++;
      this.lastCall = { appends: batch.length, channels: channels.size };
      this.cancelHold?.();
      this.cancelHold = undefined;
      void this.appendBatch(batch).finally(() => {
        this.short = undefined;
        this.inFlight--;
        for (const c of channels) this.busy.delete(c);
        this.next();
      });
    }
  }

  /**
   * Whether the appends waiting, with no call in flight, wait for more to join them: `holdMs` (HOLD_MS) on
   * few channels, the rest of the event loop's turn on many.
   */
  private held(): boolean {
    const { appends, channels } = this.lastCall;
    const waiting = this.waiting.length;
    if (this.inFlight > 0 || waiting === 0 || waiting >= MIN_BESIDE || appends === 0) return false;
    if (this.cancelHold !== undefined) return true;
    const release = (): void => {
      this.cancelHold = undefined;
      this.lastCall = { appends: 0, channels: 0 };
      this.next();
    };
    if (appends >= HOLD_AFTER && channels * HOLD_SHARE <= appends) {
      const timer = setTimeout(release, this.holdMs);
      this.cancelHold = () => clearTimeout(timer);
    } else {
      const turn = setImmediate(release);
      this.cancelHold = () => clearImmediate(turn);
    }
    return true;
  }

  private async appendBatch(batch: PendingAppend[]): Promise<void> {
    try {
      const answers = batch.some((p) => p.key !== undefined)
        ? await this.appendKeyed(batch)
        : await this.appendUnkeyed(batch);
      for (const [i, p] of batch.entries()) {
        const answer = answers[i];
        if (answer === undefined) p.reject(new Error('append without a condition stored nothing'));
        else p.resolve(answer);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** The ids and stamps of a call with keys, in the order of the call (undefined: none came back). */
  private async appendKeyed(batch: PendingAppend[]): Promise<Array<Appended | undefined>> {
    const rows = await this.db.query<{ out_ord: string; out_id: string | null; out_stamp: string | null }>(
      APPEND_BATCH_SQL,
      [
        textArray(batch.map((p) => p.channel)),
        textArray(batch.map((p) => p.username)),
        byteaArray(batch.map((p) => p.message)),
        textArray(batch.map((p) => p.key?.key ?? null)),
        batch[0].retain,
        intArray(batch.map((p) => p.key?.now ?? 0)),
        intArray(batch.map((p) => (p.key === undefined ? 0 : p.key.now + p.key.ttlMs))),
      ],
      'agora_append_keyed',
    );
    const answers = new Map(rows.map((r) => [Number(r.out_ord), r]));
    return batch.map((_, i) => {
      const r = answers.get(i + 1);
      return r?.out_id == null ? undefined : { messageid: Number(r.out_id), lastModified: Number(r.out_stamp ?? 0) };
    });
  }

  /**
   * The ids and stamps of a call without keys, in the order of the call; with a `topic`, announced on it
   * when a listener is listed. The heads of the announces go with the call while the last call found a
   * listener (`heard`): when none was found, the next call goes without them, and if it finds one after
   * all, its appends are answered unannounced, for their caller to announce.
   */
  private async appendUnkeyed(batch: PendingAppend[]): Promise<Array<Appended | undefined>> {
    const { channels, counts, at, back } = groupByChannel(batch);
    const { retain } = batch[0];
    const fitRings = channels.some((c) => (this.fitted.get(c) ?? 0) < retain);
    const params = [
      this.topic ?? null,
      retain,
      textArray(channels),
      intArray(counts),
      intArray(at),
      intArray(back),
      textArray(batch.map((p) => p.username)),
      byteaArray(batch.map((p) => p.message)),
    ];
    const sent = this.topic !== undefined && this.heard;
    const heads = sent
      ? batch.map((p) => (p.announces ? (announceHead(p.channel, p.username, p.message) ?? null) : null))
      : [];
    const [row] = sent
      ? await this.db.query<PostsRow>(
          APPEND_POSTS_ANNOUNCED_SQL,
          [...params, textArray(heads), intArray(announceGroups(heads)), fitRings],
          'agora_append_posts_announced',
        )
      : await this.db.query<PostsRow>(APPEND_POSTS_SQL, [...params, fitRings], 'agora_append_posts');
    if (fitRings) this.sawFitted(channels, retain);
    const last = new Map<string, { id: number; stamp: number }>();
    if (row !== undefined) {
      const [names, ids, stamps] = [
        parseTextArray(row.out_channels),
        parseIntArray(row.out_last),
        parseIntArray(row.out_stamps),
      ];
      for (const [i, channel] of names.entries()) last.set(channel, { id: ids[i], stamp: stamps[i] });
    }
    // Without a topic nothing was sent, no append announces and none is heard: each is answered as stored.
    const heard = row?.out_heard === true;
    if (this.topic !== undefined) this.heard = heard;
    return batch.map((p, i) => {
      const appended = appendedOf(last.get(p.channel), back[i]);
      // Sent: announced with its head. Not sent: no one to announce it to, unless a listener came meanwhile.
      const announced = sent ? heads[i] != null : p.announces && !heard;
      return appended !== undefined && announced ? { ...appended, announced: true } : appended;
    });
  }

  /** `channels` have rings of `retain` rows or more (a call that fitted them committed). */
  private sawFitted(channels: readonly string[], retain: number): void {
    if (this.fitted.size > MAX_FITTED) this.fitted.clear();
    for (const c of channels) if ((this.fitted.get(c) ?? 0) < retain) this.fitted.set(c, retain);
  }

  appendIf(
    channel: string,
    username: string,
    message: string,
    retain: number,
    expect: AppendExpect,
    key?: AppendKey,
  ): Promise<Appended | undefined> {
    if (key === undefined) return this.appendWhere(channel, username, message, retain, expect);
    return this.appendIfKeyed(channel, username, message, retain, expect, key);
  }

  /**
   * One transaction, taking the key first and then the counter, as the calls of `append` do: the key
   * held answers its message; else the conditional append, and the key gets the id (a refusal rolls the
   * key back).
   */
  private async appendIfKeyed(
    channel: string,
    username: string,
    message: string,
    retain: number,
    expect: AppendExpect,
    key: AppendKey,
  ): Promise<Appended | undefined> {
    checkRetain(retain);
    try {
      return await this.db.transaction(async (query) => {
        for (;;) {
          if ((await query(TAKE_KEY_SQL, [channel, username, key.key, key.now, key.ttlMs])).length === 1) break;
          const [held] = await query<{ message_id: string; last_modified: string }>(HELD_KEY_SQL, [
            channel,
            username,
            key.key,
          ]);
          // Gone between the two statements (swept): take it on the next turn.
          if (held !== undefined)
            return { messageid: Number(held.message_id), lastModified: Number(held.last_modified) };
        }
        const rows = await query<{ last_id: string; last_modified: string }>(APPEND_SQL, [
          channel,
          username,
          Buffer.from(message, 'utf8'),
          retain,
          ...expected(expect),
        ]);
        if (rows.length === 0) throw new NotAtLast();
        const id = Number(rows[0].last_id);
        await query('UPDATE agora_message_keys SET message_id = $4 WHERE channel = $1 AND username = $2 AND key = $3', [
          channel,
          username,
          key.key,
          id,
        ]);
        return { messageid: id, lastModified: Number(rows[0].last_modified) };
      });
    } catch (err) {
      if (err instanceof NotAtLast) return undefined;
      throw err;
    }
  }

  private async appendWhere(
    channel: string,
    username: string,
    message: string,
    retain: number,
    expect: AppendExpect,
  ): Promise<Appended | undefined> {
    checkRetain(retain);
    const rows = await this.db.query<{ last_id: string; last_modified: string }>(APPEND_SQL, [
      channel,
      username,
      Buffer.from(message, 'utf8'),
      retain,
      ...expected(expect),
    ]);
    return rows.length === 0
      ? undefined
      : { messageid: Number(rows[0].last_id), lastModified: Number(rows[0].last_modified) };
  }

  async pruneKeys(now: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      'WITH gone AS (DELETE FROM agora_message_keys WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
      [now],
    );
    return row.n;
  }

  async last(channel: string): Promise<Appended> {
    const rows = await this.db.query<{ last_id: string; last_modified: string }>(
      'SELECT last_id, last_modified FROM agora_message_counters WHERE channel = $1',
      [channel],
    );
    const [r] = rows;
    return r === undefined
      ? { messageid: 0, lastModified: 0 }
      : { messageid: Number(r.last_id), lastModified: Number(r.last_modified) };
  }

  async range(channel: string, first: number, last: number): Promise<StoredMessage[]> {
    if (first > last) return [];
    const rows = await this.db.query<{ id: string; username: string; message: Buffer; last_modified: string }>(
      RANGE_SQL,
      [channel, first, last],
    );
    return rows.map((r) => ({
      messageid: Number(r.id),
      username: r.username,
      message: r.message.toString('utf8'),
      lastModified: Number(r.last_modified),
    }));
  }
}
