/**
 * lib/bus/codec.ts: the broker reads msgids from the first bytes of a body (peekId) instead
 * of decoding it; that reading must agree with a full msgpack decode for every encoding of
 * the msgid a conforming encoder may write, and must never claim a msgid a body lacks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeHeartbeatOptions,
  decodeMessage,
  decodeReadyOptions,
  DRAIN_OPTIONS,
  encodeCallMeta,
  encodeMeta,
  encodeReadyOptions,
  encodeRequest,
  encodeResponse,
  MAX_MSGID,
  pack,
  packPlain,
  peekId,
  REQUEST_TYPE,
  RESPONSE_TYPE,
} from '../../lib/bus/codec';

/** The msgid written with the msgpack int family member `tag` (0xcc..0xcf unsigned, 0xd0..0xd3 signed). */
function intWith(tag: number, value: number): Buffer {
  const width = 1 << ((tag - (tag >= 0xd0 ? 0xd0 : 0xcc)) & 3);
  const out = Buffer.alloc(1 + width);
  out[0] = tag;
  let v = value;
  for (let i = width; i >= 1; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

test('peekId reads the msgid of requests and responses as msgpack-javascript writes it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_MSGID }), fc.string(), fc.jsonValue(), (msgid, method, value) => {
      assert.equal(peekId(encodeRequest(msgid, method, [value]), REQUEST_TYPE), msgid);
      assert.equal(peekId(encodeResponse(msgid, null, value), RESPONSE_TYPE), msgid);
      // The other type is not mistaken for this one.
      assert.equal(peekId(encodeRequest(msgid, method, [value]), RESPONSE_TYPE), null);
    }),
  );
});

test('peekId agrees with a full decode for every int encoding wide enough for the msgid', () => {
  const tags = [0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_MSGID }), fc.constantFrom(...tags), (msgid, tag) => {
      const width = 1 << ((tag - (tag >= 0xd0 ? 0xd0 : 0xcc)) & 3);
      const max = tag >= 0xd0 ? 2 ** (8 * width - 1) - 1 : 2 ** (8 * width) - 1;
      fc.pre(msgid <= max);
      const body = Buffer.concat([Buffer.from([0x94, REQUEST_TYPE]), intWith(tag, msgid), pack('m'), pack([])]);
      const decoded = decodeMessage(body);
      assert.equal(decoded.type === REQUEST_TYPE ? decoded.msgid : undefined, msgid);
      assert.equal(peekId(body, REQUEST_TYPE), msgid);
    }),
  );
});

test('peekId answers null for bodies that carry no valid msgid', () => {
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['a notification', pack([2, 'm', []])],
    ['a 3-element array', pack([0, 1, 'm'])],
    ['a negative msgid', pack([0, -1, 'm', []])],
    ['a float msgid', pack([0, 1.5, 'm', []])],
    ['a msgid over 2^32-1', pack([0, 2 ** 32, 'm', []])],
    ['a string msgid', pack([0, '1', 'm', []])],
    ['a truncated uint32', Buffer.from([0x94, 0x00, 0xce, 0x00, 0x01])],
    ['not msgpack at all', Buffer.from('hello world')],
  ];
  for (const [what, body] of cases) assert.equal(peekId(body, REQUEST_TYPE), null, what);
});

test('READY options: slots from 1 to 1024, anything else unreadable', () => {
  // The bytes docs/PROTOCOL.md §3 shows.
  assert.equal(encodeReadyOptions({ slots: 32 }).toString('hex'), '81a5736c6f747320');
  assert.deepEqual(decodeReadyOptions(encodeReadyOptions({ slots: 32 })), { slots: 32 });
  assert.deepEqual(decodeReadyOptions(pack({})), { slots: 1 });
  assert.deepEqual(decodeReadyOptions(pack({ slots: 1024, future: 'ignored' })), { slots: 1024 });
  for (const bad of [
    pack({ slots: 0 }),
    pack({ slots: 1025 }),
    pack({ slots: '3' }),
    pack([3]),
    pack(null),
    pack(Buffer.from([0x81])),
    Buffer.from([0xc1]),
  ]) {
    assert.equal(decodeReadyOptions(bad), undefined, bad.toString('hex'));
  }
});

test('HEARTBEAT options: {"slots": 0} asks to drain; other maps ask nothing; anything else is unreadable', () => {
  // The bytes docs/PROTOCOL.md §3 shows, and the Python and Ruby SDKs send as a literal.
  assert.equal(DRAIN_OPTIONS.toString('hex'), '81a5736c6f747300');
  assert.equal(decodeHeartbeatOptions(DRAIN_OPTIONS), 'drain');
  assert.equal(decodeHeartbeatOptions(pack({ slots: 0, future: true })), 'drain');
  for (const none of [pack({}), pack({ slots: 4 }), pack({ slots: '0' }), pack({ draining: true })]) {
    assert.equal(decodeHeartbeatOptions(none), 'none', none.toString('hex'));
  }
  for (const bad of [
    pack([0]),
    pack(null),
    pack(0),
    pack(Buffer.from(DRAIN_OPTIONS)),
    Buffer.from([0xc1]),
    Buffer.alloc(0),
  ]) {
    assert.equal(decodeHeartbeatOptions(bad), undefined, bad.toString('hex'));
  }
});

test('packPlain writes the bytes pack writes for every value it takes, and takes requests and metadata', () => {
  const bounds = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER];
  const ascii = fc.string({
    unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });
  const leaf = fc.oneof(
    ascii,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constantFrom(...bounds),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    // What it leaves to the encoder: other text, negative, fractional or unsafe numbers, binaries, dates.
    fc.string({ maxLength: 40 }),
    fc.constantFrom(-1, -0x81, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity),
    fc.constantFrom(Buffer.from('ab'), new Uint8Array(3), new Date(0), new Map([[1, 2]])),
  );
  const key = fc.oneof(
    ascii.filter((k) => k.length < 40),
    fc.string({ maxLength: 8 }),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('map')),
    array: fc.array(tie('value'), { maxLength: 18 }),
    map: fc.dictionary(key, tie('value'), { maxKeys: 18 }),
  }));
  fc.assert(
    fc.property(value, (v) => {
      const plain = packPlain(v);
      if (plain !== undefined) assert.deepEqual(plain, pack(v));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.dictionary(key, leaf, { maxKeys: 18 }), fc.integer({ min: 0, max: MAX_MSGID }), (map, msgid) => {
      assert.deepEqual(encodeMeta(map), pack(map));
      assert.deepEqual(encodeRequest(msgid, 'Post', [map]), pack([REQUEST_TYPE, msgid, 'Post', [map]]));
    }),
    { numRuns: 2000 },
  );
  for (const deadline of bounds) {
    for (const reqId of ['', 'r-1', 'x'.repeat(31), 'x'.repeat(32), crypto.randomUUID(), 'x'.repeat(255)]) {
      const meta = { deadline, reqId, caller: 'gateway', idempotent: true, user: 'alice' };
      assert.deepEqual(packPlain(meta), pack(meta), JSON.stringify(meta));
    }
  }
  const post = [REQUEST_TYPE, 7, 'Post', [{ sesskey: 123456789, channel: 'bench', message: 'hello, bench' }]];
  assert.deepEqual(packPlain(post), pack(post));
  assert.equal(packPlain({ deadline: 1, reqId: 'x'.repeat(256) }), undefined);
  assert.equal(packPlain({ reqId: 'é' }), undefined);
  assert.equal(packPlain([{ user: 'n', deadline: 1.5 }]), undefined);
  assert.equal(packPlain([[[[['five levels']]]]]), undefined);
  const fits = Array.from({ length: 15 }, () => 'x'.repeat(200));
  assert.deepEqual(packPlain(fits), pack(fits));
  assert.equal(packPlain([fits, fits]), undefined, 'more than 4 KB');
});

test('a response is the bytes the encoder writes, whether packPlain or the encoder writes it', () => {
  const error = { code: 'NOT_FOUND', message: 'no such channel', data: null };
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_MSGID }), fc.jsonValue(), fc.boolean(), (msgid, value, failed) => {
      const expected = pack([RESPONSE_TYPE, msgid, failed ? error : null, failed ? null : value]);
      assert.deepEqual(encodeResponse(msgid, failed ? error : null, value), expected);
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(encodeResponse(3, null, undefined), pack([RESPONSE_TYPE, 3, null, null]));
  assert.deepEqual(encodeResponse(null, error, undefined), pack([RESPONSE_TYPE, null, error, null]));
});

test("encodeCallMeta writes the bytes of a call's metadata object, made in BusClient's order, for any values", () => {
  const text = fc.oneof(
    fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
    fc.string({ maxLength: 40 }),
    fc.constant(crypto.randomUUID()),
  );
  const deadline = fc.oneof(
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(0, 0x7f, 0x80, 0xffffffff, 0x100000000, Date.now() + 5000, -1, 1.5, Number.MAX_SAFE_INTEGER + 1),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
  fc.assert(
    fc.property(deadline, maybe(text), maybe(text), fc.boolean(), maybe(text), (d, reqId, caller, idempotent, user) => {
      const meta: Record<string, unknown> = { deadline: d };
      if (reqId !== undefined) meta.reqId = reqId;
      if (caller !== undefined) meta.caller = caller;
      if (idempotent) meta.idempotent = true;
      if (user !== undefined) meta.user = user;
      assert.deepEqual(encodeCallMeta(d, reqId, caller, idempotent, user), pack(meta));
    }),
    { numRuns: 3000 },
  );
});
