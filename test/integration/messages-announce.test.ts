/**
 * The PostgreSQL message store announcing what it stores (lib/store/index.ts `OpenOptions.announcePosts`,
 * lib/store/messages-postgres.ts): the appends without keys of one call are announced on the `messages`
 * topic by the statement that stores them, heard by every instance in id order with their ids and
 * stamps; an append with a key is left to its caller; a store opened without the option announces nothing.
 * The statement notifies only while a subscriber of the topic is listed (lib/store/postgres-broadcast.ts
 * "listed"): a listing waits for the appends that could not see it, renews itself, and reports a gap
 * when it may have lapsed.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Client } from 'pg';
import { defaultConfig } from '../../lib/config';
import { within } from '../../lib/deadline';
import { createLogger } from '../../lib/log';
import { decodeAnnounce, decodeAnnounces, type Announce, type Appended } from '../../lib/store/contracts';
import { openStores, type OpenStores } from '../../lib/store/index';
import { TOPIC_LISTENERS_LOCK } from '../../lib/store/migrations';
import { PgBroadcast } from '../../lib/store/postgres-broadcast';
import { PgDatabase } from '../../lib/store/postgres-pool';
import { startPostgres, until } from '../helpers/backends';

const log = createLogger('test', 'silent');

type MessageStores = Awaited<ReturnType<typeof openStores<'messages'>>>;

/**
 * Two message stores on one throwaway database: `s` announces its appends, `other` does not; undefined (the
 * test skipped) without PostgreSQL.
 */
async function announcingPair(
  t: TestContext,
): Promise<{ s: MessageStores; other: MessageStores; url: string } | undefined> {
  const pg = await startPostgres(t);
  if (pg === undefined) return undefined;
  const config = { ...defaultConfig(), databaseUrl: await pg.newDatabase(), storeTimeoutMs: 5000 };
  const s = await openStores(config, log, ['messages'], { announcePosts: true });
  t.after(() => s.close());
  const other = await openStores(config, log, ['messages']);
  t.after(() => other.close());
  return { s, other, url: config.databaseUrl };
}

/** A connection of its own to `url`, ended after the test. */
async function connect(t: TestContext, url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined); // the server stops at the end of the test, maybe first
  await c.connect();
  t.after(() => c.end());
  return c;
}

/** Payloads of `agora_messages` heard by a bare LISTEN, which lists nothing; `next()` waits for the next one. */
async function bareListener(t: TestContext, url: string): Promise<{ next(): Promise<string> }> {
  const c = await connect(t, url);
  const payloads = arrivals<string>('NOTIFY');
  c.on('notification', (n) => payloads.push(n.payload ?? ''));
  await c.query('LISTEN agora_messages');
  return payloads;
}

/** What arrives, in order: `next()` takes the next one, waiting for it 10 s at most. */
function arrivals<T>(what: string): { push(x: T): void; next(): Promise<T>; waiting(): T[] } {
  const queue: T[] = [];
  let wake = (): void => undefined;
  return {
    push: (x) => {
      queue.push(x);
      wake();
    },
    next: () =>
      within(
        new Promise<T>((resolve) => {
          wake = () => {
            if (queue.length === 0) return;
            wake = () => undefined; // what arrives next waits for the next call
            resolve(queue.shift() as T);
          };
          wake();
        }),
        10_000,
        () => new Error(`no ${what} in 10 s`),
      ),
    waiting: () => [...queue],
  };
}

/** The listings of the messages topic now. */
async function listings(c: Client): Promise<number> {
  const { rows } = await c.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM agora_topic_listeners WHERE topic = 'agora_messages' AND expires_at > agora_now_ms()",
  );
  return rows[0].n;
}

/**
 * What a topic delivers: its messages (`texts`) and the announces they carry, with a promise of the first
 * `n` announces (failing after 10 s).
 */
async function hear(
  stores: OpenStores,
): Promise<{ texts: string[]; heard: Announce[]; first(n: number): Promise<Announce[]> }> {
  const topic = stores.broadcast('messages');
  assert.ok(topic !== undefined, 'PostgreSQL gives a messages topic');
  const texts: string[] = [];
  const heard: Announce[] = [];
  let wake = (): void => undefined;
  await topic.subscribe({
    onMessage: (m) => {
      texts.push(m);
      heard.push(...decodeAnnounces(m));
      wake();
    },
    // The server stops at the end of the test: a gap then is no failure; one before loses announces counted.
    onGap: () => undefined,
  });
  const first = (n: number): Promise<Announce[]> =>
    within(
      new Promise<Announce[]>((resolve) => {
        wake = () => {
          if (heard.length >= n) resolve(heard.slice(0, n));
        };
        wake();
      }),
      10_000,
      () => new Error(`${heard.length} of ${n} announces heard in 10 s`),
    );
  return { texts, heard, first };
}

test('the PostgreSQL store announces its appends without keys in their transaction, in id order', async (t) => {
  const pair = await announcingPair(t);
  if (pair === undefined) return;
  const { s, other } = pair;
  const here = await hear(s);
  const there = await hear(other);

  const long = 'x'.repeat(7000);
  // The first goes alone; the others wait for it and go together in the next call.
  const sent: Array<[string, string, string]> = [
    ['a', 'ann', 'one'],
    ['a', 'bo', 'two "quoted" \u0000 é 😀'],
    ['b', 'ann', 'three'],
    ['a', 'cy', long],
    ['b', 'bo', 'four'],
  ];
  const answered: Appended[] = await Promise.all(
    sent.map(([channel, username, message]) => s.messages.append(channel, username, message, 100)),
  );
  assert.ok(
    answered.every((a) => a.announced === true),
    'each append without a key is answered as announced',
  );
  const keyed = await s.messages.append('b', 'ann', 'with a key', 100, { key: 'k1', now: Date.now(), ttlMs: 60_000 });
  assert.equal(keyed.announced, undefined, 'an append with a key is left to its caller to announce');

  const expected: Announce[] = sent.map(([c, u, m], i) => {
    const { messageid: id, lastModified: t } = answered[i];
    return m === long ? { c, i: id, t } : { c, u, m, i: id, t };
  });
  const inOrder = (list: Announce[]): Announce[] => [...list].sort((x, y) => x.c.localeCompare(y.c) || x.i - y.i);
  for (const [name, topic] of [
    ['the announcing instance', here],
    ['another instance', there],
  ] as const) {
    const got = await topic.first(sent.length);
    assert.deepEqual(inOrder(got), inOrder(expected), `${name} hears every append, once`);
    for (const channel of ['a', 'b']) {
      const ids: number[] = got.filter((a) => a.c === channel).map((a) => a.i);
      assert.deepEqual(
        ids,
        [...ids].sort((x, y) => x - y),
        `${name} hears channel ${channel} in id order`,
      );
    }
  }
  assert.deepEqual(
    answered.map((a) => a.messageid),
    [1, 2, 1, 3, 2],
  );
  assert.equal(keyed.messageid, 3);

  // A store opened without the option stores without announcing (nor was the keyed append announced).
  const quiet = await other.messages.append('c', 'ann', 'quiet', 100);
  assert.deepEqual(quiet, { messageid: 1, lastModified: quiet.lastModified });
  const marker = await s.messages.append('c', 'ann', 'after', 100);
  const next = (await here.first(sent.length + 1))[sent.length];
  assert.deepEqual(next, { c: 'c', u: 'ann', m: 'after', i: marker.messageid, t: marker.lastModified });
  assert.equal(marker.messageid, 2, 'the quiet append was stored (id 1) and not announced');
});

test('the announces of one call go in as few NOTIFYs as fit, a single one as older instances read it', async (t) => {
  const pair = await announcingPair(t);
  if (pair === undefined) return;
  const { s, other } = pair;
  const there = await hear(other);

  const first = await s.messages.append('a', 'ann', 'alone', 100);
  assert.deepEqual(decodeAnnounce((await there.first(1)) && there.texts[0]), {
    c: 'a',
    u: 'ann',
    m: 'alone',
    i: first.messageid,
    t: first.lastModified,
  });
  // 200 appends of ~1000 bytes to one channel: the first goes alone, the others wait for it and go together.

  const text = (i: number): string => `${i} ${'é'.repeat(500)}`;
  const answered = await Promise.all(
    Array.from({ length: 200 }, (_, i) => s.messages.append('a', 'bo', text(i), 1000)),
  );
  const got = (await there.first(201)).slice(1);
  assert.deepEqual(
    got,
    answered.map((a, i) => ({ c: 'a', u: 'bo', m: text(i), i: a.messageid, t: a.lastModified })),
    'every announce, once, in the order of the call',
  );
  assert.ok(there.texts.length < 50, `${there.texts.length} NOTIFYs for 201 announces`);
  for (const payload of there.texts) {
    assert.ok(Buffer.byteLength(payload) < 8000, 'each under the payload limit');
    assert.equal(payload.startsWith('['), decodeAnnounces(payload).length > 1, 'a list only of several');
  }
});

test('an append notifies nothing while no subscriber of the topic is listed, and is still answered announced', async (t) => {
  const pair = await announcingPair(t);
  if (pair === undefined) return;
  const { s, other, url } = pair;
  const bare = await bareListener(t, url);
  const sql = await connect(t, url);
  assert.equal(await listings(sql), 0);
  const unheard = await s.messages.append('a', 'ann', 'unheard', 100);
  assert.equal(unheard.announced, true, 'no one to tell: its caller must not announce it either');

  const quiet = await s.messages.append('a', 'ann', 'unheard, without a head', 100);
  assert.equal(quiet.announced, true, 'the last call found no listener: this one carries no head');

  const topic = other.broadcast('messages');
  assert.ok(topic !== undefined);
  await topic.subscribe({ onMessage: () => undefined, onGap: () => undefined });
  assert.equal(await listings(sql), 1, 'a subscriber of the messages topic lists itself');
  const found = await s.messages.append('a', 'ann', 'found a listener', 100);
  assert.equal(found.announced, undefined, 'a listener found with no head sent: left to its caller to announce');
  const heard = await s.messages.append('a', 'ann', 'heard', 100);
  assert.equal(heard.announced, true);
  assert.deepEqual(decodeAnnounce(await bare.next()), {
    c: 'a',
    u: 'ann',
    m: 'heard',
    i: heard.messageid,
    t: heard.lastModified,
  });
  assert.equal(
    heard.messageid,
    unheard.messageid + 3,
    'the first NOTIFY is that of the first append with heads once listed',
  );

  await topic.close();
  assert.equal(await listings(sql), 0, 'closed: unlisted');
  await s.messages.append('a', 'ann', 'unheard again', 100);
  const again = other.broadcast('messages');
  assert.ok(again !== undefined);
  await again.subscribe({ onMessage: () => undefined, onGap: () => undefined });
  await s.messages.append('a', 'ann', 'found again', 100);
  const last = await s.messages.append('a', 'ann', 'heard again', 100);
  assert.equal(decodeAnnounce(await bare.next())?.i, last.messageid, 'nothing was notified while unlisted');
});

test('a listing waits for the appends in flight that could not see it', async (t) => {
  const pair = await announcingPair(t);
  if (pair === undefined) return;
  const { other, url } = pair;
  // What an append holds from its start to its commit.
  const append = await connect(t, url);
  await append.query('BEGIN');
  await append.query("SELECT pg_advisory_xact_lock_shared($1, hashtext('agora_messages'))", [TOPIC_LISTENERS_LOCK]);
  const topic = other.broadcast('messages');
  assert.ok(topic !== undefined);
  let listed = false;
  const subscribed = topic.subscribe({ onMessage: () => undefined, onGap: () => undefined }).then(() => {
    listed = true;
  });
  const sql = await connect(t, url);
  await until(async () => {
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%agora_list_listener%'`,
    );
    return rows[0].n === 1;
  }, 'the listing waiting for the lock');
  assert.equal(listed, false, 'not listed while an append that could not see it is in flight');
  assert.equal(await listings(sql), 0);
  await append.query('COMMIT');
  await subscribed;
  assert.equal(await listings(sql), 1);
});

test('a listing renews itself, and reports a gap when it may have lapsed or was made anew', async (t) => {
  const pair = await announcingPair(t);
  if (pair === undefined) return;
  const { url } = pair;
  const db = new PgDatabase({ url, poolMax: 2, timeoutMs: 5000, log });
  t.after(() => db.close());
  const topic = new PgBroadcast(db, 'agora_messages', true, { leaseMs: 1000, renewMs: 100, marginMs: 500 });
  t.after(() => topic.close());
  const gaps = arrivals<string>('gap reported');
  await topic.subscribe({ onMessage: () => undefined, onGap: (reason) => gaps.push(reason) });
  const sql = await connect(t, url);
  const expiry = async (): Promise<number> =>
    Number((await sql.query<{ e: string }>('SELECT expires_at AS e FROM agora_topic_listeners')).rows[0].e);
  const first = await expiry();
  await until(async () => (await expiry()) > first, 'a renewal');
  assert.deepEqual(gaps.waiting(), [], 'renewed in time: no gap');

  // A listing that expired (or was removed) is made anew at the next renewal: announces may have been missed.
  await sql.query('UPDATE agora_topic_listeners SET expires_at = 0');
  assert.match(await gaps.next(), /listed anew/);
  assert.equal(await listings(sql), 1);

  // Renewals held up past the lease less the margin: the listing may lapse.
  await sql.query('BEGIN');
  await sql.query('SELECT 1 FROM agora_topic_listeners FOR UPDATE');
  assert.match(await gaps.next(), /may have lapsed/);
  await sql.query('COMMIT');
  await until(async () => (await listings(sql)) === 1, 'listed again');
});
