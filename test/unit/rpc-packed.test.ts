/**
 * Replies encoded ahead of time (lib/rpc/packed.ts, lib/bus/codec.ts `Packed`): the bytes a worker sends for
 * a packed reply are exactly those it sends for the reply shaped and encoded as before, for any message text
 * and id; an item only the codec can judge (a lone surrogate) leaves the reply to the general path; an
 * item is encoded once while its source object lives if that object is frozen, else at each call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, encodeResponse, MAX_MSGID, pack, Packed, packedMapOfList } from '../../lib/bus/codec';
import { createLogger } from '../../lib/log';
import { publicChannel } from '../../lib/permissions';
import { PackedItems } from '../../lib/rpc/packed';
import { loadProto } from '../../lib/rpc/proto';
import { busHandlers, type RpcContext } from '../../lib/rpc/service';
import type { StoredMessage } from '../../lib/store/contracts';
import { MemoryMessageStore } from '../../lib/store/store-memory';
import { buildMessagesHandlers, buildMessagesService } from '../../services/messages/handlers';
import { ALICE, fakeSessions } from '../helpers/sessions';

const proto = loadProto('messages.proto').agora;
const retrieve = proto.Messages.service.Retrieve;

function messageOf(m: StoredMessage): Record<string, unknown> {
  return { messageid: m.messageid, username: m.username, message: m.message, last_modified: m.lastModified };
}

function packer(): PackedItems<StoredMessage> {
  return new PackedItems('messages', proto.Message.type, messageOf);
}

/** What the protobuf codec answers for a reply: the reference every shape stands in for. */
function codecReply(sources: readonly StoredMessage[]): unknown {
  return retrieve.responseDeserialize(retrieve.responseSerialize({ messages: sources.map(messageOf) }));
}

/** Any UTF-16 unit (lone surrogates too), any code point, and the characters JSON and msgpack treat apart. */
const char = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u007f', '\u2028', 'é', '😀'),
);
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const text = fc.oneof(
  fc.string(),
  fc.array(char, { maxLength: 40 }).map((a) => a.join('')),
);
const stored = fc.record({
  messageid: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  username: text,
  message: text,
  lastModified: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

test('a packed reply is sent as the same bytes as the reply shaped and encoded, for any text and id', () => {
  const items = packer();
  fc.assert(
    fc.property(fc.array(stored, { maxLength: 20 }), fc.integer({ min: 0, max: MAX_MSGID }), (sources, msgid) => {
      const packed = items.pack(sources);
      const lone = sources.some((m) => LONE.test(m.username) || LONE.test(m.message));
      if (lone) return assert.equal(packed, undefined, 'a lone surrogate is the codec to judge');
      assert.ok(packed instanceof Packed);
      const expected = encodeResponse(msgid, null, codecReply(sources));
      assert.deepEqual(encodeResponse(msgid, null, packed), expected);
      return undefined;
    }),
    { numRuns: 500 },
  );
});

test('list and msgid headers of every width match the encoder', () => {
  const one = pack({ messageid: 1, username: 'a', message: 'b', last_modified: 2 });
  for (const n of [0, 1, 15, 16, 65_535, 65_536]) {
    const items = new Array<Buffer>(n).fill(one);
    const value = {
      messages: new Array<unknown>(n).fill({ messageid: 1, username: 'a', message: 'b', last_modified: 2 }),
    };
    for (const msgid of [0, 127, 128, 255, 256, 65_535, 65_536, MAX_MSGID]) {
      assert.deepEqual(encodeResponse(msgid, null, packedMapOfList('messages', items)), pack([1, msgid, null, value]));
    }
  }
});

test('an item of a frozen source is encoded once while it lives; of any other source, at each call', () => {
  const items = packer();
  const source = Object.freeze({ messageid: 1, username: 'ann', message: 'hi', lastModified: 5 });
  const first = items.pack([source]);
  const again = items.pack([source]);
  assert.ok(first !== undefined && again !== undefined);
  assert.equal(first.chunks[3], again.chunks[3], 'the same kept bytes');
  assert.notEqual(items.pack([{ ...source }])?.chunks[3], first.chunks[3], 'another object is encoded anew');
  const changing: StoredMessage = { ...source };
  const before = items.pack([changing]);
  changing.message = 'changed';
  const after = items.pack([changing]);
  assert.ok(before !== undefined && after !== undefined);
  assert.notEqual(after.chunks[3], before.chunks[3]);
  assert.deepEqual(after.chunks[3], pack({ messageid: 1, username: 'ann', message: 'changed', last_modified: 5 }));
});

test('the memory store answers the same frozen object for a message at every range', async () => {
  const store = new MemoryMessageStore();
  await store.append('c', 'ann', 'one', 10);
  await store.append('c', 'ann', 'two', 10);
  const [a, b] = [await store.range('c', 1, 2), await store.range('c', 2, 2)];
  assert.equal(a[1], b[0]);
  assert.ok(Object.isFrozen(a[0]));
});

const log = createLogger('test', 'silent');

function postRequest(message: string) {
  const flags = { check_last: false, expected_last: 0, check_last_modified: false, expected_last_modified: 0 };
  return { sesskey: ALICE, channel: 'c', message, idempotency_key: '', ...flags };
}

test('Messages.Retrieve on the bus answers the same bytes as its reply encoded, and gRPC the same objects', async () => {
  const store = new MemoryMessageStore();
  const deps = {
    store,
    sessions: fakeSessions(),
    channelAccess: async () => publicChannel('ann'),
    retain: 100,
    maxBytes: 4096,
    keyTtlMs: 60_000,
  };
  const ctx: RpcContext = { service: 'Messages', method: 'Retrieve', log };
  const h = buildMessagesHandlers(deps);
  for (const t of ['hello', 'yo "x"', 'tab\t', 'é ü 中文 😀', '\u2028']) await h.Post(postRequest(t), ctx);
  const request = { sesskey: ALICE, channel: 'c', first: 1, last: 100 };
  const bus = busHandlers(buildMessagesService(deps));
  const sent = await bus.Retrieve([request], ctx);
  assert.ok(sent instanceof Packed, 'packed on the bus');
  const reply = await h.Retrieve(request, ctx);
  assert.equal(Object.keys(reply).length, 1, 'the gRPC reply is the plain object');
  assert.deepEqual(encodeResponse(9, null, sent), encodeResponse(9, null, codecReply(await store.range('c', 1, 100))));
  const wire = decodeMessage(encodeResponse(9, null, sent));
  assert.deepEqual(wire.type === 1 ? wire.result : undefined, codecReply(await store.range('c', 1, 100)));
  // A lone surrogate: the general path, as before (the codec's round trip).
  await h.Post(postRequest('lone \ud800'), ctx);
  const general = await bus.Retrieve([request], ctx);
  assert.ok(!(general instanceof Packed));
  assert.deepEqual(general, codecReply(await store.range('c', 1, 100)));
});
