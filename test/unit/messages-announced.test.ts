/**
 * Posts that the store announces itself (lib/store/contracts.ts `announceHead`, lib/store/messages-postgres.ts
 * with a topic): the heads it completes, the call that carries them, and the Post handler leaving such a
 * post unannounced (services/messages/handlers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { publicChannel } from '../../lib/permissions';
import type { RpcContext } from '../../lib/rpc/service';
import {
  announceGroups,
  announceHead,
  completeAnnounce,
  decodeAnnounce,
  decodeAnnounces,
  MAX_TOPIC_BYTES,
  type Appended,
  type MessageStore,
} from '../../lib/store/contracts';
import { groupByChannel, PgMessageStore } from '../../lib/store/messages-postgres';
import type { PgDatabase } from '../../lib/store/postgres-pool';
import { MemoryMessageStore } from '../../lib/store/store-memory';
import { buildMessagesHandlers } from '../../services/messages/handlers';
import { postRequest } from '../helpers/messages';
import { binaryElements, elementType, ints, literal, texts } from '../helpers/pg-params';
import { fakeSessions } from '../helpers/sessions';

const log = createLogger('test', 'silent');
const ctx: RpcContext = { service: 'Messages', method: 'test', log };

test('a head completed with the id and stamp decodes to the announce; a long text is left out', () => {
  const head = announceHead('general', 'ann', 'hi "there" \u0000 😀');
  assert.ok(head !== undefined);
  assert.deepEqual(decodeAnnounce(completeAnnounce(head, 7, 1796481183306)), {
    c: 'general',
    u: 'ann',
    m: 'hi "there" \u0000 😀',
    i: 7,
    t: 1796481183306,
  });
  const long = announceHead('general', 'ann', 'é'.repeat(3500));
  assert.ok(long !== undefined);
  const text = completeAnnounce(long, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(decodeAnnounce(text), { c: 'general', i: Number.MAX_SAFE_INTEGER, t: Number.MAX_SAFE_INTEGER });
  const fits = announceHead('general', 'ann', 'é'.repeat(2000));
  assert.ok(fits !== undefined);
  const full = completeAnnounce(fits, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  assert.equal(decodeAnnounce(full)?.m, 'é'.repeat(2000), '2000 × 2 bytes fit');
  assert.ok(Buffer.byteLength(full) <= MAX_TOPIC_BYTES);
  assert.equal(announceHead('x'.repeat(8000), 'ann', 'hi'), undefined, 'no NOTIFY payload holds it');
});

test('the heads of a call share NOTIFYs while their list fits a payload; a list decodes in order', () => {
  const heads = [
    announceHead('a', 'ann', 'é'.repeat(3000)),
    null,
    announceHead('a', 'ann', 'x'.repeat(1000)),
    announceHead('b', 'bo', 'é'.repeat(3000)),
    announceHead('c', 'cy', 'hi'),
  ].map((h) => h ?? null);
  const groups = announceGroups(heads);
  assert.deepEqual(groups, [0, 0, 0, 1, 1], '6 kB and 1 kB share one, the next 6 kB starts another');
  const texts = heads.map((h, i) => (h === null ? '' : completeAnnounce(h, Number.MAX_SAFE_INTEGER - i, 2 ** 52)));
  for (const g of new Set(groups)) {
    const list = `[${texts.filter((t, i) => t !== '' && groups[i] === g).join(',')}]`;
    assert.ok(Buffer.byteLength(list) < 8000, `NOTIFY ${g} fits: ${Buffer.byteLength(list)} bytes`);
  }
  const small = (n: number): number[] =>
    announceGroups(Array.from({ length: n }, () => announceHead('a', 'ann', 'hi') ?? null));
  assert.equal(small(100).at(-1), 0, '100 announces of ~60 bytes in one');
  assert.equal(small(120).at(-1), 1, '120 in two');
  const list = `[${completeAnnounce(heads[0] ?? '', 1, 5)},${completeAnnounce(heads[4] ?? '', 2, 6)},7,{"c":1}]`;
  assert.deepEqual(decodeAnnounces(list), [
    { c: 'a', u: 'ann', m: 'é'.repeat(3000), i: 1, t: 5 },
    { c: 'c', u: 'cy', m: 'hi', i: 2, t: 6 },
  ]);
  assert.deepEqual(decodeAnnounces(completeAnnounce(heads[4] ?? '', 3, 7)), [{ c: 'c', u: 'cy', m: 'hi', i: 3, t: 7 }]);
  assert.deepEqual(decodeAnnounces('not json'), []);
  assert.deepEqual(decodeAnnounces('null'), []);
  assert.equal(decodeAnnounce(list), undefined, 'a list is no single announce (what an older instance reads)');
});

test('with a topic, a call without keys carries the topic and a head per append, and answers them announced', async () => {
  const calls: Array<{ sql: string; params: unknown[]; name?: string }> = [];
  const query = (sql: string, params: unknown[], name?: string): Promise<unknown[]> => {
    calls.push({ sql, params, name });
    if (sql.includes('agora_append_messages_answered')) {
      const ids = texts(params[0]).map((_, i) => String(i + 1));
      return Promise.resolve(ids.map((id) => ({ out_ord: id, out_id: id, out_stamp: '5000' })));
    }
    return Promise.resolve([lastOfEach(params)]);
  };
  const store = new PgMessageStore({ query } as unknown as PgDatabase, 'agora_messages');
  assert.deepEqual(await store.append('a', 'ann', 'hi', 100), { messageid: 1, lastModified: 5000, announced: true });
  assert.match(calls[0].sql, /pg_notify\(\$1/);
  assert.equal(calls[0].name, 'agora_append_posts_announced', 'a prepared statement');
  assert.equal(calls[0].params[0], 'agora_messages');
  assert.deepEqual(texts(calls[0].params[8]), [announceHead('a', 'ann', 'hi')]);
  assert.deepEqual(ints(calls[0].params[9]), [0], 'its NOTIFY');
  const keyed = await store.append('a', 'ann', 'hi', 100, { key: 'k', now: 1, ttlMs: 10 });
  assert.deepEqual(keyed, { messageid: 1, lastModified: 5000 }, 'a call with a key is not announced');
  assert.doesNotMatch(calls[1].sql, /pg_notify/);
  assert.equal(calls[1].name, 'agora_append_keyed');
  const quiet = new PgMessageStore({ query } as unknown as PgDatabase);
  assert.deepEqual(await quiet.append('a', 'ann', 'hi', 100), { messageid: 1, lastModified: 5000 });
  assert.doesNotMatch(calls[2].sql, /pg_notify/);
  assert.equal(calls[2].name, 'agora_append_posts');
  assert.equal(calls[2].params[0], null, 'no topic');
});

/** What agora_append_posts answers for a call's params when every channel starts empty, stamps at 5000. */
function lastOfEach(params: unknown[], heard?: boolean): Record<string, unknown> {
  const counts = ints(params[3]);
  return {
    out_channels: literal(texts(params[2]).map(String)),
    out_last: literal(counts),
    out_stamps: literal(counts.map((n) => 4999 + n)),
    out_heard: heard ?? false,
  };
}

test('a call names each channel once, with its appends counted, and answers each append its own id', async () => {
  assert.deepEqual(groupByChannel(['a', 'b', 'a', 'c', 'a', 'b'].map((channel) => ({ channel }))), {
    channels: ['a', 'b', 'c'],
    counts: [3, 2, 1],
    at: [1, 2, 1, 3, 1, 2],
    back: [2, 1, 1, 0, 0, 0],
  });
  const calls: unknown[][] = [];
  const query = (_sql: string, params: unknown[]): Promise<unknown[]> => {
    calls.push(params);
    return Promise.resolve([lastOfEach(params)]);
  };
  const store = new PgMessageStore({ query } as unknown as PgDatabase);
  const first = store.append('a', 'ann', 'one', 100); // a call of its own
  const rest = ['a', 'b', 'a'].map((channel, i) => store.append(channel, 'ann', `m${i}`, 100));
  assert.deepEqual(await first, { messageid: 1, lastModified: 5000 });
  assert.deepEqual(await Promise.all(rest), [
    { messageid: 1, lastModified: 5000 },
    { messageid: 1, lastModified: 5000 },
    { messageid: 2, lastModified: 5001 },
  ]);
  const [channels, counts, at, back, usernames, messages] = calls[1].slice(2, 8);
  assert.deepEqual(
    [texts(channels), ints(counts), ints(at), ints(back), texts(usernames), binaryElements(messages)],
    [['a', 'b'], [2, 1], [1, 2, 1], [1, 0, 0], ['ann', 'ann', 'ann'], ['m0', 'm1', 'm2'].map((m) => Buffer.from(m))],
  );
  assert.deepEqual(
    [elementType(channels), elementType(usernames), elementType(messages)],
    [25, 25, 17],
    'text, text, bytea',
  );
});

test("a call fits the channels' rings unless this process has seen each take the call's retention or more", async () => {
  const calls: unknown[][] = [];
  let fails = false;
  const query = (_sql: string, params: unknown[]): Promise<unknown[]> => {
    calls.push(params);
    return fails ? Promise.reject(new Error('lost')) : Promise.resolve([lastOfEach(params)]);
  };
  const store = new PgMessageStore({ query } as unknown as PgDatabase);
  const fits = async (channels: string[], retain: number): Promise<unknown> => {
    await Promise.all(channels.map((c) => store.append(c, 'ann', 'x', retain)));
    return calls[calls.length - 1][8];
  };
  assert.equal(await fits(['a'], 100), true, 'a channel not seen');
  assert.equal(await fits(['a'], 100), false, 'seen at this retention');
  assert.equal(await fits(['a'], 50), false, 'a smaller one');
  assert.equal(await fits(['a'], 200), true, 'a larger one');
  assert.equal(await fits(['a'], 150), false);
  fails = true;
  await assert.rejects(fits(['b'], 10));
  fails = false;
  assert.equal(await fits(['b'], 10), true, 'a call that failed taught nothing');
  assert.equal(await fits(['a', 'b'], 10), false);
});

test('heads go with a call while the last found a listener; a listener found without them leaves the posts to their caller', async () => {
  const calls: Array<{ params: unknown[] }> = [];
  let listed = false;
  const query = (_sql: string, params: unknown[]): Promise<unknown[]> => {
    calls.push({ params });
    return Promise.resolve([lastOfEach(params, listed)]);
  };
  const store = new PgMessageStore({ query } as unknown as PgDatabase, 'agora_messages');
  const announced = async (): Promise<boolean | undefined> => (await store.append('a', 'ann', 'hi', 100)).announced;
  assert.equal(await announced(), true, 'sent with its head, which no one heard');
  assert.deepEqual(texts(calls[0].params[8]), [announceHead('a', 'ann', 'hi')], 'the first call carries the heads');
  assert.equal(await announced(), true, 'no one listens: nothing for its caller to announce');
  assert.equal(calls[1].params.length, 9, 'no listener at the last call: no heads');
  listed = true;
  assert.equal(await announced(), undefined, 'a listener, and no head sent: its caller announces it');
  assert.equal(calls[2].params.length, 9);
  assert.equal(await announced(), true, 'a listener at the last call: heads again');
  assert.deepEqual(texts(calls[3].params[8]), [announceHead('a', 'ann', 'hi')]);
  listed = false;
  assert.equal(await announced(), true);
  assert.deepEqual(
    texts(calls[4].params[8]),
    [announceHead('a', 'ann', 'hi')],
    'the last call found one: heads, unheard',
  );
  assert.equal(await announced(), true);
  assert.equal(calls[5].params.length, 9, 'none again: no heads');
});

test('Post leaves a post the store announced to it, and announces the others', async () => {
  const announced: string[] = [];
  const memory = new MemoryMessageStore();
  let storeAnnounces = true;
  const store: MessageStore = Object.assign(Object.create(memory) as MessageStore, {
    append: async (...args: Parameters<MessageStore['append']>): Promise<Appended> => {
      const appended = await memory.append(...args);
      return storeAnnounces ? { ...appended, announced: true } : appended;
    },
  });
  const h = buildMessagesHandlers({
    store,
    sessions: fakeSessions(),
    channelAccess: () => Promise.resolve(publicChannel('ann')),
    retain: 100,
    maxBytes: 4096,
    keyTtlMs: 60_000,
    onPosted: (channel, m) => void announced.push(`${channel}/${m.messageid}`),
  });
  const post = (message: string) => Promise.resolve(h.Post(postRequest(message), ctx));
  const first = await post('by the store');
  assert.equal(Number(first.messageid), 1);
  assert.deepEqual(announced, [], 'announced by the store: not again');
  storeAnnounces = false;
  await post('by the handler');
  assert.deepEqual(announced, ['general/2']);
});
