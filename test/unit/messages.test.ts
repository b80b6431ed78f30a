import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeResponse } from '../../lib/bus/codec';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { publicChannel } from '../../lib/permissions';
import { busHandlers, type RpcContext } from '../../lib/rpc/service';
import { postRequest } from '../helpers/messages';
import { ALICE, BOB, fakeSessions } from '../helpers/sessions';
import { MemoryMessageStore } from '../../lib/store/store-memory';
import {
  buildMessagesHandlers,
  buildMessagesService,
  cacheAccess,
  type ChannelAccess,
  type MessagesDeps,
} from '../../services/messages/handlers';
import { decodeAnnounce, encodeAnnounce, MAX_TOPIC_BYTES } from '../../services/messages/stream';
import type { Appended } from '../../lib/store/contracts';

/** The id of the message an append answered. */
const idOf = async (p: Promise<Appended>): Promise<number> => (await p).messageid;

const log = createLogger('test', 'silent');
const ctx: RpcContext = { service: 'Messages', method: 'test', log };

function setup(options: Partial<MessagesDeps> = {}) {
  const channels = new Set(['general', 'empty']);
  const deps: MessagesDeps = {
    store: new MemoryMessageStore(),
    sessions: fakeSessions(),
    channelAccess: async (name) => (channels.has(name) ? publicChannel('ann') : undefined),
    retain: 100,
    maxBytes: 4096,
    keyTtlMs: 60_000,
    ...options,
  };
  return { channels, deps, h: buildMessagesHandlers(deps) };
}

const post = (
  h: ReturnType<typeof setup>['h'],
  message: string,
  sesskey = ALICE,
  channel = 'general',
  idempotency_key = '',
) =>
  Promise.resolve(h.Post(postRequest(message, { sesskey, channel, idempotency_key }), ctx)).then((r) =>
    Number(r.messageid),
  );
const retrieve = (h: ReturnType<typeof setup>['h'], first: number, last: number, channel = 'general') =>
  Promise.resolve(h.Retrieve({ sesskey: ALICE, channel, first, last }, ctx)).then((r) => r.messages ?? []);

test('ids start at 1, Last answers 0 on an empty channel, Retrieve answers {messageid, username, message, last_modified}', async () => {
  const { h } = setup();
  assert.deepEqual(await h.Last({ sesskey: ALICE, channel: 'general' }, ctx), { messageid: 0, last_modified: 0 });
  const t0 = Date.now();
  assert.equal(await post(h, 'hello'), 1);
  assert.equal(await post(h, 'hi alice', BOB), 2);
  const last = await h.Last({ sesskey: BOB, channel: 'general' }, ctx);
  const got = await retrieve(h, 1, 2);
  const [first, second] = got.map((m) => Number(m.last_modified));
  assert.deepEqual(last, { messageid: 2, last_modified: second }, "Last: the last id and its message's stamp");
  assert.ok(first >= t0 && second > first, `stamped ${first}, then ${second}, from ${t0}`);
  assert.deepEqual(got, [
    { messageid: 1, username: 'alice', message: 'hello', last_modified: first },
    { messageid: 2, username: 'bob', message: 'hi alice', last_modified: second },
  ]);
  assert.deepEqual(
    await h.Last({ sesskey: ALICE, channel: 'empty' }, ctx),
    { messageid: 0, last_modified: 0 },
    'ids are per channel',
  );
});

test('500 concurrent appends get ids 1..500, each once, and every message is kept', async () => {
  const { h } = setup({ retain: 1000 });
  const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => post(h, `m${i}`, i % 2 === 0 ? ALICE : BOB)));
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    Array.from({ length: 500 }, (_, i) => i + 1),
  );
  const kept = await retrieve(h, 1, 500);
  assert.equal(kept.length, 500);
  // Each message carries the id its poster was told.
  for (const [i, id] of ids.entries()) assert.equal(kept[id - 1].message, `m${i}`);
});

test('the store alone: concurrent appends over several channels stay gap-free per channel', async () => {
  const store = new MemoryMessageStore();
  const calls = Array.from({ length: 600 }, (_, i) => idOf(store.append(`c${i % 3}`, 'u', `m${i}`, 100)));
  const ids = await Promise.all(calls);
  for (const c of [0, 1, 2]) {
    const mine = ids.filter((_, i) => i % 3 === c).sort((a, b) => a - b);
    assert.deepEqual(
      mine,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.equal(await idOf(store.last(`c${c}`)), 200);
  }
});

test('retention: after 250 posts exactly ids 151..250 are retained', async () => {
  const { h } = setup({ retain: 100 });
  for (let i = 1; i <= 250; i++) await post(h, `message ${i}`);
  const kept = await retrieve(h, 1, 250);
  assert.deepEqual(
    kept.map((m) => m.messageid),
    Array.from({ length: 100 }, (_, i) => 151 + i),
  );
  assert.equal(kept[0].message, 'message 151');
  assert.equal(kept[99].message, 'message 250');
  assert.equal((await h.Last({ sesskey: ALICE, channel: 'general' }, ctx)).messageid, 250);
  assert.deepEqual(await retrieve(h, 1, 150), [], 'what fell out of retention is gone');
});

test('retrieve bounds: first > last, negative, huge, a window, a single id', async () => {
  const { h } = setup();
  for (let i = 1; i <= 10; i++) await post(h, `m${i}`);
  const ids = (first: number, last: number) => retrieve(h, first, last).then((ms) => ms.map((m) => m.messageid));
  assert.deepEqual(await ids(5, 4), [], 'first > last: empty list');
  assert.deepEqual(await ids(10, 1), []);
  assert.deepEqual(await ids(-5, 3), [1, 2, 3], 'negative first is clamped');
  assert.deepEqual(await ids(-100, -1), []);
  assert.deepEqual(await ids(8, Number.MAX_SAFE_INTEGER), [8, 9, 10], 'huge last is clamped');
  assert.deepEqual(await ids(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(await ids(11, 1000), [], 'beyond the last id');
  assert.deepEqual(await ids(4, 6), [4, 5, 6]);
  assert.deepEqual(await ids(7, 7), [7]);
  assert.deepEqual(await ids(0, 0), []);
  assert.deepEqual(await retrieve(h, 1, 10, 'empty'), []);
});

test('retrieve refuses non-integer and unsafe bounds with AGORA_ERR_RPC_BAD_PARAMS', async () => {
  const { h } = setup();
  for (const [first, last] of [
    [1.5, 3],
    [1, 2.5],
    [NaN, 1],
    [1, Infinity],
    [2 ** 53, 2 ** 53 + 2],
    [-(2 ** 60), 1],
  ]) {
    await assert.rejects(
      retrieve(h, first, last),
      { code: 'AGORA_ERR_RPC_BAD_PARAMS', errno: 107 },
      `${first}..${last}`,
    );
  }
  await assert.rejects(
    Promise.resolve(h.Retrieve({ sesskey: ALICE, channel: 'general', first: '1' as never, last: 2 }, ctx)),
    { code: 'AGORA_ERR_RPC_BAD_PARAMS' },
  );
});

/** What a bus handler's result reads as once a worker has sent it. */
function onTheWire(result: unknown): unknown {
  const reply = decodeMessage(encodeResponse(1, null, result));
  return reply.type === 1 ? reply.result : undefined;
}

test('on the bus a non-integer bound is refused before the handler runs', async () => {
  const { deps } = setup();
  const handlers = busHandlers(buildMessagesService(deps));
  const call = { service: 'Messages', method: 'Retrieve', meta: {}, log };
  await assert.rejects(
    Promise.resolve(handlers.Retrieve([{ sesskey: ALICE, channel: 'general', first: 1.5, last: 3 }], call)),
    { code: 'AGORA_ERR_RPC_BAD_PARAMS' },
  );
  await assert.rejects(
    Promise.resolve(handlers.Retrieve([{ sesskey: ALICE, channel: 'general', first: '1', last: 3 }], call)),
    { code: 'AGORA_ERR_RPC_BAD_PARAMS' },
  );
  // Retrieve's bus reply is encoded by the handler (lib/rpc/packed.ts): read as the bus carries it.
  const retrieved = await handlers.Retrieve([{ sesskey: ALICE, channel: 'general', first: -3, last: 3 }], call);
  assert.deepEqual(onTheWire(retrieved), { messages: [] });
  const posted = (await handlers.Post([{ sesskey: ALICE, channel: 'general', message: 'x' }], call)) as Record<
    string,
    unknown
  >;
  assert.deepEqual(posted, { messageid: 1, last_modified: posted.last_modified });
  assert.ok(Number(posted.last_modified) > 0, 'stamped');
});

test('message size: empty is invalid, maxBytes of UTF-8 is fine, one byte more is too long', async () => {
  const { h } = setup({ maxBytes: 10 });
  await assert.rejects(post(h, ''), { code: 'AGORA_ERR_MESSAGE_INVALID', errno: 107 });
  assert.equal(await post(h, 'x'.repeat(10)), 1);
  assert.equal(await post(h, ' '), 2, 'whitespace is a message');
  await assert.rejects(post(h, 'x'.repeat(11)), {
    code: 'AGORA_ERR_MESSAGE_TOO_LONG',
    errno: 113,
    message: 'Message of 11 bytes exceeds the limit of 10',
  });
  // Bytes, not characters: 'é' is 2 bytes, '€' 3, '😀' 4 (two UTF-16 units).
  assert.equal(await post(h, 'é'.repeat(5)), 3);
  await assert.rejects(post(h, 'é'.repeat(6)), {
    code: 'AGORA_ERR_MESSAGE_TOO_LONG',
    message: 'Message of 12 bytes exceeds the limit of 10',
  });
  assert.equal(await post(h, '€€€x'), 4);
  await assert.rejects(post(h, '€€€€'), { code: 'AGORA_ERR_MESSAGE_TOO_LONG' });
  assert.equal(await post(h, '😀😀xx'), 5);
  await assert.rejects(post(h, '😀😀😀'), { code: 'AGORA_ERR_MESSAGE_TOO_LONG' });
  await assert.rejects(
    Promise.resolve(
      h.Post(
        {
          sesskey: ALICE,
          channel: 'general',
          message: 42 as never,
          check_last: false,
          expected_last: 0,
          check_last_modified: false,
          expected_last_modified: 0,
          idempotency_key: '',
        },
        ctx,
      ),
    ),
    { code: 'AGORA_ERR_MESSAGE_INVALID' },
  );
  assert.equal((await h.Last({ sesskey: ALICE, channel: 'general' }, ctx)).messageid, 5, 'refused posts took no id');
});

test('an unknown channel fails with AGORA_ERR_CHANNEL_NOT_FOUND on every method', async () => {
  const { h } = setup();
  await assert.rejects(post(h, 'x', ALICE, 'nowhere'), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
    errno: 111,
    message: 'No channel named "nowhere"',
  });
  await assert.rejects(post(h, 'x', ALICE, ''), { code: 'AGORA_ERR_CHANNEL_NOT_FOUND' });
  await assert.rejects(Promise.resolve(h.Last({ sesskey: ALICE, channel: 'nowhere' }, ctx)), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
  await assert.rejects(retrieve(h, 1, 10, 'nowhere'), { code: 'AGORA_ERR_CHANNEL_NOT_FOUND' });
});

test('a bad session fails first, with AGORA_ERR_AUTH_BAD_SESSION, on every method', async () => {
  const { h } = setup();
  await assert.rejects(post(h, '', 999, 'nowhere'), { code: 'AGORA_ERR_AUTH_BAD_SESSION', errno: 105 });
  await assert.rejects(Promise.resolve(h.Last({ sesskey: 0, channel: 'general' }, ctx)), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
  });
  await assert.rejects(Promise.resolve(h.Retrieve({ sesskey: 1, channel: 'general', first: 1.5, last: 1 }, ctx)), {
    code: 'AGORA_ERR_AUTH_BAD_SESSION',
  });
});

test('a failing channel check reaches the caller as it is (e.g. Channels unavailable)', async () => {
  const { h } = setup({
    channelAccess: async () => {
      throw new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', ['Access']);
    },
  });
  await assert.rejects(post(h, 'x'), { code: 'AGORA_ERR_RPC_UNAVAILABLE' });
});

test('cacheAccess: a found channel is remembered for its time, an absent one asked again, concurrent asks share one call', async () => {
  // 1. A channel that does not exist yet: every ask reaches the check.
  const found = new Map<string, ReturnType<typeof publicChannel>>();
  const asked: string[] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  let clock = 1000;
  const check: ChannelAccess = async (name) => {
    asked.push(name);
    await gate;
    return found.get(name);
  };
  const cached = cacheAccess(check, 500, () => clock);
  assert.equal(await cached('c', {}), undefined);
  assert.equal(await cached('c', {}), undefined);
  assert.equal(asked.length, 2);
  // 2. Once it exists, one ask, then none for the time given.
  found.set('c', publicChannel('ann'));
  assert.deepEqual(await cached('c', {}), publicChannel('ann'));
  found.set('c', { read: [], write: ['account:ann'] });
  clock += 499;
  assert.deepEqual(await cached('c', {}), publicChannel('ann'), 'still remembered');
  assert.equal(asked.length, 3);
  // 3. Past it, asked again: a change of permissions is seen.
  clock += 1;
  assert.deepEqual(await cached('c', {}), { read: [], write: ['account:ann'] });
  assert.equal(asked.length, 4);
  // 4. Twenty concurrent asks about a new name make one call.
  found.set('d', publicChannel('bob'));
  gate = new Promise((resolve) => (release = resolve));
  const answers = Promise.all(Array.from({ length: 20 }, () => cached('d', {})));
  release();
  assert.deepEqual(await answers, Array(20).fill(publicChannel('bob')));
  assert.equal(asked.filter((n) => n === 'd').length, 1);
  // 5. A failed ask is not remembered either.
  let fail = true;
  const flaky = cacheAccess(async () => {
    if (fail) throw new AgoraError('AGORA_ERR_RPC_TIMEOUT', ['Access']);
    return publicChannel('ann');
  });
  await assert.rejects(flaky('e', {}), { code: 'AGORA_ERR_RPC_TIMEOUT' });
  fail = false;
  assert.deepEqual(await flaky('e', {}), publicChannel('ann'));
});

test('the store resizes a channel ring when retain changes, keeping the newest', async () => {
  const store = new MemoryMessageStore();
  for (let i = 0; i < 10; i++) await idOf(store.append('c', 'u', `m${i + 1}`, 5));
  assert.deepEqual(
    (await store.range('c', 1, 100)).map((m) => m.messageid),
    [6, 7, 8, 9, 10],
  );
  await idOf(store.append('c', 'u', 'm11', 8));
  assert.deepEqual(
    (await store.range('c', 1, 100)).map((m) => m.messageid),
    [6, 7, 8, 9, 10, 11],
  );
  await idOf(store.append('c', 'u', 'm12', 3));
  assert.deepEqual(
    (await store.range('c', 1, 100)).map((m) => m.message),
    ['m10', 'm11', 'm12'],
  );
  assert.deepEqual(await store.range('none', 1, 10), []);
  assert.equal(await idOf(store.last('none')), 0);
  await assert.rejects(idOf(store.append('c', 'u', 'x', 0)), RangeError);
});

test('Post with check_last appends only while the channel is still at expected_last', async () => {
  const { h } = setup();
  const ifLast = (expected_last: number, message: string) =>
    Promise.resolve(
      h.Post(
        {
          sesskey: ALICE,
          channel: 'general',
          message,
          check_last: true,
          expected_last,
          check_last_modified: false,
          expected_last_modified: 0,
          idempotency_key: '',
        },
        ctx,
      ),
    ).then((r) => Number(r.messageid));
  assert.equal(await ifLast(0, 'first on an empty channel'), 1);
  await assert.rejects(ifLast(0, 'also first?'), { code: 'AGORA_ERR_MESSAGE_STALE', errno: 114 });
  assert.equal(await ifLast(1, 'second'), 2);
  // Ten posters that all read last = 2: exactly one gets in.
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ifLast(2, `racer ${i}`)));
  assert.deepEqual(
    results.filter((r) => r.status === 'fulfilled').map((r) => r.value),
    [3],
  );
  assert.equal((await h.Last({ sesskey: ALICE, channel: 'general' }, ctx)).messageid, 3, 'refused posts took no id');
});

test('a posted message is announced whole, or by its id alone when too long for a NOTIFY payload', () => {
  const short = encodeAnnounce('general', {
    messageid: 3,
    username: 'ann',
    message: 'hi',
    lastModified: 1796481183306,
  });
  assert.deepEqual(decodeAnnounce(short), { c: 'general', i: 3, u: 'ann', m: 'hi', t: 1796481183306 });
  const long = encodeAnnounce('general', {
    messageid: 4,
    username: 'ann',
    message: '\u0001'.repeat(4096),
    lastModified: 1796481183307,
  });
  assert.ok(Buffer.byteLength(long) <= MAX_TOPIC_BYTES);
  assert.deepEqual(decodeAnnounce(long), { c: 'general', i: 4 });
  assert.equal(decodeAnnounce('p probe 1'), undefined);
});

test("on the bus a call's own logger is made only when the process logs at debug, for the call's line", async () => {
  const { deps } = setup();
  const lines: string[] = [];
  const debugLog = createLogger('test', 'debug', { write: (line: string) => void lines.push(line) });
  let made = 0;
  const call = (): RpcContext => ({
    service: 'Messages',
    method: 'Last',
    reqId: 'r-9',
    get log() {
      made++;
      return debugLog.child({ reqId: 'r-9' });
    },
  });
  const request = [{ sesskey: ALICE, channel: 'general' }];
  assert.deepEqual(await busHandlers(buildMessagesService(deps), log).Last(request, call()), {
    messageid: 0,
    last_modified: 0,
  });
  assert.equal(made, 0);
  assert.deepEqual(lines, []);
  assert.deepEqual(await busHandlers(buildMessagesService(deps), debugLog).Last(request, call()), {
    messageid: 0,
    last_modified: 0,
  });
  assert.equal(made, 1);
  assert.match(lines.join(''), /"reqId":"r-9".*"method":"Last","caller":"bus","msg":"call"/);
});

test('a private channel: absent for whom may not read it, a post refused with FORBIDDEN for a reader', async () => {
  const access = new Map([
    ['secret', { read: [], write: ['account:alice'] }],
    ['readonly', { read: ['account:bob'], write: ['account:alice'] }],
  ]);
  const { h } = setup({ channelAccess: async (name) => access.get(name) });
  assert.equal(await post(h, 'mine', ALICE, 'secret'), 1);
  assert.equal(await post(h, 'for bob to read', ALICE, 'readonly'), 1);
  await assert.rejects(post(h, 'x', BOB, 'secret'), { code: 'AGORA_ERR_CHANNEL_NOT_FOUND', status: 404 });
  await assert.rejects(Promise.resolve(h.Last({ sesskey: BOB, channel: 'secret' }, ctx)), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
  await assert.rejects(Promise.resolve(h.Retrieve({ sesskey: BOB, channel: 'secret', first: 1, last: 10 }, ctx)), {
    code: 'AGORA_ERR_CHANNEL_NOT_FOUND',
  });
  await assert.rejects(post(h, 'x', BOB, 'readonly'), { code: 'AGORA_ERR_FORBIDDEN', status: 403, errno: 121 });
  assert.equal((await h.Last({ sesskey: BOB, channel: 'readonly' }, ctx)).messageid, 1, 'bob reads it');
  const read = await h.Retrieve({ sesskey: BOB, channel: 'readonly', first: 1, last: 10 }, ctx);
  assert.deepEqual(
    read.messages?.map((m) => m.message),
    ['for bob to read'],
  );
});
test('Post with an idempotency key: the key again answers the id it was given and posts nothing, per channel and user', async () => {
  const { h } = setup();
  const keyed = (message: string, idempotency_key: string, sesskey = ALICE, channel = 'general') =>
    post(h, message, sesskey, channel, idempotency_key);
  assert.equal(await keyed('once', 'k-1'), 1);
  assert.equal(await keyed('once', 'k-1'), 1, 'the same key: the same id');
  assert.equal(await keyed('twice', 'k-2'), 2, 'another key: another post');
  assert.equal(await keyed('bob too', 'k-1', BOB), 3, "another user's key is another key");
  assert.equal(await keyed('elsewhere', 'k-1', ALICE, 'empty'), 1, "another channel's key is another key");
  assert.equal(await post(h, 'no key'), 4);
  assert.deepEqual(
    (await retrieve(h, 1, 10)).map((m) => m.message),
    ['once', 'twice', 'bob too', 'no key'],
  );
  // With check_last: a key already held answers its id, though the channel moved on since.
  const ifLast = (expected_last: number, idempotency_key: string) =>
    Promise.resolve(
      h.Post(
        {
          sesskey: ALICE,
          channel: 'general',
          message: 'm',
          check_last: true,
          expected_last,
          check_last_modified: false,
          expected_last_modified: 0,
          idempotency_key,
        },
        ctx,
      ),
    ).then((r) => Number(r.messageid));
  assert.equal(await ifLast(4, 'k-3'), 5);
  assert.equal(await ifLast(4, 'k-3'), 5, 'held: the id, no AGORA_ERR_MESSAGE_STALE');
  assert.equal(await ifLast(4, 'k-1'), 1);
  await assert.rejects(ifLast(4, 'k-4'), { code: 'AGORA_ERR_MESSAGE_STALE' }, 'a new key is still checked');
  assert.equal((await h.Last({ sesskey: ALICE, channel: 'general' }, ctx)).messageid, 5);
  for (const bad of ['has space', 'x'.repeat(256), 'é'])
    await assert.rejects(keyed('bad', bad), { code: 'AGORA_ERR_IDEMPOTENCY_KEY_INVALID', status: 400 }, bad);
  assert.equal((await h.Last({ sesskey: ALICE, channel: 'general' }, ctx)).messageid, 5, 'a bad key posts nothing');
});

test('the store keeps a post key its time to live, whatever the retention; then it is a new key, and pruned', async () => {
  const store = new MemoryMessageStore();
  const key = (now: number) => ({ key: 'k', now, ttlMs: 1000 });
  assert.equal(await idOf(store.append('c', 'u', 'a', 1, key(0))), 1);
  assert.equal(await idOf(store.append('c', 'u', 'b', 1)), 2, 'message 1 falls out of retention');
  assert.equal(await idOf(store.append('c', 'u', 'a', 1, key(999))), 1, 'its key still answers');
  assert.equal(await store.pruneKeys(999), 0);
  assert.equal(await idOf(store.append('c', 'u', 'a', 1, key(1000))), 3, 'expired: a new post');
  assert.equal(await idOf(store.append('c', 'u', 'a', 1, key(1500))), 3);
  assert.equal(await store.pruneKeys(2000), 1);
  assert.equal(await store.pruneKeys(2000), 0);
});

test('Post answers the stamp Retrieve shows and announces it; with check_last_modified it appends only at that stamp', async () => {
  const announced: unknown[] = [];
  const { h } = setup({ onPosted: (channel, m) => void announced.push({ channel, ...m }) });
  const ifStamp = (expected_last_modified: number, message: string) =>
    Promise.resolve(
      h.Post(
        {
          sesskey: ALICE,
          channel: 'general',
          message,
          check_last: false,
          expected_last: 0,
          check_last_modified: true,
          expected_last_modified,
          idempotency_key: '',
        },
        ctx,
      ),
    );
  await assert.rejects(ifStamp(5, 'an empty channel is at 0'), { code: 'AGORA_ERR_MESSAGE_STALE' });
  const first = await ifStamp(0, 'first');
  const stamp = Number(first.last_modified);
  const [stored] = await retrieve(h, 1, 1);
  assert.deepEqual(first, { messageid: 1, last_modified: stored.last_modified });
  assert.deepEqual(announced, [
    { channel: 'general', messageid: 1, username: 'alice', message: 'first', lastModified: stamp },
  ]);
  assert.deepEqual(await h.Last({ sesskey: ALICE, channel: 'general' }, ctx), first);
  // The last id is no stamp: naming it is refused, with the current stamp in the answer.
  const stale = await ifStamp(1, 'at id 1?').catch((e: unknown) => e as AgoraError);
  assert.ok(stale instanceof AgoraError && stale.code === 'AGORA_ERR_MESSAGE_STALE');
  assert.deepEqual(stale.data, { info: `current ETag: "${stamp}"` });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ifStamp(stamp, `r${i}`)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one racer at that stamp');
  assert.equal(announced.length, 2, 'refused posts are not announced');
});

test('cacheAccess: an answer is kept for its time counted from when it was asked, not from when it came', async () => {
  let clock = 1000;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let asked = 0;
  const cached = cacheAccess(
    async () => {
      asked++;
      if (asked === 1) await gate;
      return publicChannel('ann');
    },
    500,
    () => clock,
  );
  const first = cached('c', {});
  clock += 400; // the answer comes 400 ms after the question
  release();
  await first;
  clock += 99;
  await cached('c', {});
  assert.equal(asked, 1, 'within 500 ms of the question: kept');
  clock += 1;
  await cached('c', {});
  assert.equal(asked, 2, '500 ms after the question: asked again, though the answer is only 100 ms old');
});

test('cacheAccess: an invalidated channel is asked again at once; a lookup from before is neither joined nor kept; fenced, nothing is kept', async () => {
  let current = publicChannel('ann');
  const revoked = { read: ['system.Authenticated'], write: ['account:ann'] };
  let asked = 0;
  let gate: Promise<void> = Promise.resolve();
  const cached = cacheAccess(async () => {
    asked++;
    const seen = current;
    await gate;
    return seen;
  }, 60_000);
  assert.deepEqual(await cached('c', {}), publicChannel('ann'));
  assert.deepEqual(await cached('c', {}), publicChannel('ann'));
  assert.equal(asked, 1, 'remembered');
  current = revoked;
  await cached.invalidate(['c']);
  assert.deepEqual(await cached('c', {}), revoked, 'the change, at the next lookup');
  assert.equal(asked, 2);
  // A lookup under way when the change is announced: later lookups ask anew, and it keeps nothing.
  current = publicChannel('ann');
  let release: () => void = () => undefined;
  gate = new Promise((resolve) => (release = resolve));
  const before = cached('d', {});
  current = revoked;
  await cached.invalidate(['d']);
  gate = Promise.resolve();
  const after = cached('d', {});
  release();
  assert.deepEqual([await before, await after], [publicChannel('ann'), revoked]);
  assert.deepEqual(await cached('d', {}), revoked, 'what is kept is the lookup after the change');
  assert.equal(asked, 4);
  // Fenced (the announcements cannot be heard): every lookup asks, and nothing stays once it lifts.
  cached.fence(true, 'topic down');
  await cached('d', {});
  await cached('d', {});
  assert.equal(asked, 6);
  cached.fence(false, '');
  await cached('d', {});
  await cached('d', {});
  assert.equal(asked, 7, 'kept again');
});
