/**
 * The group commit of lib/store/messages-postgres.ts "PgMessageStore" against a database that answers when
 * told: which appends go together in which call, and which function each call uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgMessageStore } from '../../lib/store/messages-postgres';
import type { PgDatabase } from '../../lib/store/postgres-pool';
import { ints, literal, texts } from '../helpers/pg-params';

interface Call {
  sql: string;
  channels: string[];
  answer: () => void;
}

/**
 * A database whose calls wait until answered, each append's id its place in the call plus 100 × the call (in
 * a call without keys, that of its channel's last append less those after it), its stamp the id plus 5000.
 */
function fakeDatabase(): { db: PgDatabase; calls: Call[] } {
  const calls: Call[] = [];
  const query = (sql: string, params: unknown[]): Promise<unknown[]> =>
    new Promise((resolve) => {
      const posts = sql.includes('agora_append_posts');
      // A call without keys names its channels once each (params[2]), and each append's by its place there.
      const once = posts ? texts(params[2]).map(String) : [];
      const channels = posts ? ints(params[4]).map((at) => once[at - 1]) : texts(params[0]).map(String);
      const n = calls.length + 1;
      const ids = channels.map((_, i) => 100 * n + i);
      // Without keys, each channel's last id (that of its last append in the call) and stamp.
      const last = once.map((channel) => ids[channels.lastIndexOf(channel)]);
      const answer = (): void =>
        resolve(
          posts
            ? [
                {
                  out_channels: literal(once),
                  out_last: literal(last),
                  out_stamps: literal(last.map((id) => id + 5000)),
                },
              ]
            : ids.map((id, i) => ({ out_ord: String(i + 1), out_id: String(id), out_stamp: String(id + 5000) })),
        );
      calls.push({ sql, channels, answer });
    });
  return { db: { query } as unknown as PgDatabase, calls };
}

/** What an append answers, for the id given. */
const appended = (messageid: number): { messageid: number; lastModified: number } => ({
  messageid,
  lastModified: messageid + 5000,
});

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Two turns of the event loop: what the store queued for the rest of the first (a call's wait) has run. */
const settle = async (): Promise<void> => {
  await immediate();
  await immediate();
};

test('beside a call in flight, appends wait for the next unless 32 of them can go together', async () => {
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db);
  const first = store.append('a', 'ann', 'one', 100);
  await settle();
  assert.equal(calls.length, 1, 'alone: at once');
  const few = Array.from({ length: 31 }, (_, i) => store.append(`c${i}`, 'ann', 'm', 100));
  await settle();
  assert.equal(calls.length, 1, '31 appends of other channels wait for the call in flight');
  const more = store.append('c31', 'ann', 'm', 100);
  await settle();
  assert.equal(calls.length, 2, 'the 32nd starts a call beside it');
  assert.deepEqual(
    calls[1].channels,
    Array.from({ length: 32 }, (_, i) => `c${i}`),
  );
  const late = store.append('a', 'bo', 'two', 100);
  calls[1].answer();
  assert.deepEqual(await Promise.all([...few, more]), [...Array.from({ length: 32 }, (_, i) => appended(200 + i))]);
  await settle();
  assert.equal(calls.length, 2, "an append of the channel in flight waits for that channel's call");
  calls[0].answer();
  assert.deepEqual(await first, appended(100));
  // After a call of 32 appends, the next waits for the rest of the event loop's turn.
  await settle();
  assert.deepEqual(calls[2].channels, ['a']);
  calls[2].answer();
  assert.deepEqual(await late, appended(300));
});

test('a call without keys uses the function of posts; a call with one key, the function that takes keys', async () => {
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db);
  const plain = store.append('a', 'ann', 'one', 100);
  await settle();
  const keyed = [
    store.append('b', 'ann', 'two', 100, { key: 'k', now: 1, ttlMs: 10 }),
    store.append('c', 'ann', 'three', 100),
  ];
  calls[0].answer();
  assert.deepEqual(await plain, appended(100));
  await settle();
  assert.match(calls[0].sql, /agora_append_posts/);
  assert.match(calls[1].sql, /agora_append_messages_answered/);
  assert.deepEqual(calls[1].channels, ['b', 'c']);
  calls[1].answer();
  assert.deepEqual(await Promise.all(keyed), [appended(200), appended(201)]);
});

test('after a call of 8 appends or more on few channels, the next waits for more to join it', async () => {
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db, undefined, 60_000);
  const answered: Array<Promise<unknown>> = [store.append('a', 'ann', 'm', 100)];
  await settle();
  const many = (n: number): void => {
    for (let i = 0; i < n; i++) answered.push(store.append('a', 'ann', 'm', 100));
  };
  many(10);
  calls[0].answer();
  await settle();
  assert.equal(calls.length, 2, 'a call of one append holds the next only for the rest of the turn');
  assert.equal(calls[1].channels.length, 10);
  // The call of 10 on one channel ends: the 3 that wait are held, then 32 go at once.
  many(3);
  calls[1].answer();
  await settle();
  assert.equal(calls.length, 2, 'held');
  many(29);
  await settle();
  assert.equal(calls.length, 3, 'with 32 waiting the call goes at once');
  assert.equal(calls[2].channels.length, 32);
  calls[2].answer();
  assert.equal((await Promise.all(answered)).length, 1 + 10 + 3 + 29);
});

test('after a call on as many channels as appends (posts spread over channels), the next waits only for the turn of the event loop', async () => {
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db, undefined, 60_000);
  const answered: Array<Promise<unknown>> = [store.append('a', 'ann', 'm', 100)];
  await settle();
  for (let i = 0; i < 10; i++) answered.push(store.append(`c${i}`, 'ann', 'm', 100));
  calls[0].answer();
  await settle();
  assert.equal(calls[1].channels.length, 10, 'after a call of one append, at once');
  for (let i = 0; i < 3; i++) answered.push(store.append(`d${i}`, 'ann', 'm', 100));
  calls[1].answer();
  // This immediate was queued before the store's, which its answer queues: it runs first.
  await immediate();
  assert.equal(calls.length, 2, 'waiting for the rest of the turn');
  answered.push(store.append('d3', 'ann', 'm', 100));
  await settle();
  assert.equal(calls.length, 3, 'the turn is over: not held for the 60 s of few channels');
  assert.deepEqual(calls[2].channels, ['d0', 'd1', 'd2', 'd3'], 'what came in that turn joined');
  calls[2].answer();
  assert.equal((await Promise.all(answered)).length, 15);
});

test('a held append goes when the hold ends, however few wait', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db, undefined, 5);
  const first = store.append('a', 'ann', 'm', 100);
  await settle();
  const ten = Array.from({ length: 10 }, () => store.append('a', 'ann', 'm', 100));
  calls[0].answer();
  await settle();
  const held = store.append('a', 'ann', 'm', 100);
  calls[1].answer();
  await Promise.all([first, ...ten]);
  t.mock.timers.tick(4);
  await settle();
  assert.equal(calls.length, 2, 'held for 5 ms');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(calls.length, 3, 'the hold has ended');
  assert.deepEqual(calls[2].channels, ['a']);
  calls[2].answer();
  assert.deepEqual(await held, appended(300));
});

test('beside a call in flight, a call goes as soon as 32 appends can, however many waited before that could not', async () => {
  const { db, calls } = fakeDatabase();
  const store = new PgMessageStore(db);
  const answered: Array<Promise<unknown>> = [];
  /** One append to each channel named, then the turns that let the store start a call. */
  const post = async (channels: readonly string[]): Promise<void> => {
    for (const c of channels) answered.push(store.append(c, 'ann', 'm', 100));
    await settle();
  };
  const named = (prefix: string, from: number, to: number): string[] =>
    Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
  const times = (channel: string, n: number): string[] => Array.from({ length: n }, () => channel);
  await post(['a']);
  assert.equal(calls.length, 1);
  // 40 appends of the channel in flight: none can go beside it, however many.
  await post(times('a', 40));
  assert.equal(calls.length, 1, 'all of the channel in flight');
  // Appends of other channels join them one by one: a call goes with the 32nd, not later.
  await post(named('b', 0, 31));
  assert.equal(calls.length, 1, '31 that could go');
  await post(['b31']);
  assert.equal(calls.length, 2, 'the 32nd that could go');
  assert.deepEqual(calls[1].channels, named('b', 0, 32));
  // Now two in flight (`a`, and `b0`…`b31`): 10 more of `b0` wait, which cannot go, then appends of free channels.
  await post([...times('b0', 10), ...named('c', 0, 20)]);
  assert.equal(calls.length, 2, '20 could go');
  await post(named('c', 20, 31));
  assert.equal(calls.length, 2, '31 could go');
  await post(['c31']);
  assert.equal(calls.length, 3, 'the 32nd');
  assert.deepEqual(calls[2].channels, named('c', 0, 32));
  // When a call ends, what waits is looked at afresh: the 10 of `b0`, free now, are too few to go beside...
  calls[1].answer();
  await settle();
  assert.equal(calls.length, 3, 'the 10 of b0 wait');
  // ...but once `a` is free too, its 40 and those 10 go together.
  calls[0].answer();
  await settle();
  assert.equal(calls.length, 4);
  assert.deepEqual(calls[3].channels, [...times('a', 40), ...times('b0', 10)]);
  calls[2].answer();
  calls[3].answer();
  assert.equal((await Promise.all(answered)).length, 1 + 40 + 32 + 10 + 32);
});
