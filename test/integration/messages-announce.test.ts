/**
 * The PostgreSQL message store announcing what it stores (lib/store/index.ts `OpenOptions.announcePosts`,
 * lib/store/messages-postgres.ts): the appends without keys of one call are announced on the `messages`
 * topic by the statement that stores them, heard by every instance in id order with their ids and
 * stamps; an append with a key is left to its caller; a store opened without the option announces nothing.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defaultConfig } from '../../lib/config';
import { within } from '../../lib/deadline';
import { createLogger } from '../../lib/log';
import { decodeAnnounce, decodeAnnounces, type Announce, type Appended } from '../../lib/store/contracts';
import { openStores, type OpenStores } from '../../lib/store/index';
import { startPostgres } from '../helpers/backends';

const log = createLogger('test', 'silent');

type MessageStores = Awaited<ReturnType<typeof openStores<'messages'>>>;

/**
 * Two message stores on one throwaway database: `s` announces its appends, `other` does not; undefined (the
 * test skipped) without PostgreSQL.
 */
async function announcingPair(t: TestContext): Promise<{ s: MessageStores; other: MessageStores } | undefined> {
  const pg = await startPostgres(t);
  if (pg === undefined) return undefined;
  const config = { ...defaultConfig(), databaseUrl: await pg.newDatabase(), storeTimeoutMs: 5000 };
  const s = await openStores(config, log, ['messages'], { announcePosts: true });
  t.after(() => s.close());
  const other = await openStores(config, log, ['messages']);
  t.after(() => other.close());
  return { s, other };
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
