/**
 * lib/bus/meta-peek.ts: the broker reads `deadline` and `idempotent` from a metadata frame's
 * bytes instead of decoding it, and a worker the whole Meta; for every frame, well formed or not,
 * each must read what a full decode (decodeMeta, lib/bus/codec.ts) reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeMeta, pack } from '../../lib/bus/codec';
import { peekMeta, peekRouteMeta, type RouteMeta } from '../../lib/bus/meta-peek';

function decoded(frame: Buffer): RouteMeta {
  const meta = decodeMeta(frame);
  return { deadline: meta.deadline, idempotent: meta.idempotent === true };
}

/** A msgpack map written by hand: a fixmap of `entries` (key bytes then value bytes), then `tail`. */
function map(entries: Array<[Buffer, Buffer]>, tail: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([0x80 + entries.length]), ...entries.flat(), tail]);
}

const key = (s: string): Buffer => pack(s);
const bytes = (...b: number[]): Buffer => Buffer.from(b);

test('the usual frame: deadline, reqId, caller, idempotent', () => {
  const frame = pack({ deadline: 1_765_000_000_123, reqId: 'r-1', caller: 'gateway', idempotent: true });
  assert.deepEqual(peekRouteMeta(frame), { deadline: 1_765_000_000_123, idempotent: true });
  assert.deepEqual(peekRouteMeta(pack({ reqId: 'x' })), { deadline: undefined, idempotent: false });
  assert.deepEqual(peekRouteMeta(undefined), { deadline: undefined, idempotent: false });
  assert.deepEqual(peekRouteMeta(Buffer.alloc(0)), { deadline: undefined, idempotent: false });
});

test('every number encoding of the deadline reads as the decoder reads it', () => {
  const d = Buffer.alloc(8);
  d.writeDoubleBE(1.5e12);
  const f = Buffer.alloc(4);
  f.writeFloatBE(1.5e9);
  const values: Buffer[] = [
    bytes(0x05),
    bytes(0xff), // negative fixint
    bytes(0xcc, 200),
    bytes(0xcd, 1, 2),
    bytes(0xce, 1, 2, 3, 4),
    bytes(0xcf, 0, 0, 1, 0x9a, 0xe3, 0x1f, 0x4c, 0x7b),
    bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    bytes(0xd0, 0x80),
    bytes(0xd1, 0x80, 0),
    bytes(0xd2, 0x80, 0, 0, 0),
    bytes(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe),
    Buffer.concat([bytes(0xcb), d]),
    Buffer.concat([bytes(0xca), f]),
    bytes(0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0), // Infinity: no deadline
    bytes(0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0), // NaN: no deadline
    pack('soon'),
    bytes(0xc0),
    bytes(0xc3),
  ];
  for (const value of values) {
    const frame = map([[key('deadline'), value]]);
    assert.deepEqual(peekRouteMeta(frame), decoded(frame), frame.toString('hex'));
  }
});

test('frames the scan leaves to the decoder answer what the decoder answers', () => {
  const deadline = pack(1_765_000_000_000);
  const frames: Buffer[] = [
    map([[key('deadline'), deadline]], bytes(0x01)), // trailing byte: the decoder refuses it all
    map([
      [key('__proto__'), bytes(0x01)],
      [key('deadline'), deadline],
    ]), // refused by the decoder
    map([
      [bytes(0x01), bytes(0x02)],
      [key('deadline'), deadline],
    ]), // a number key: accepted
    map([
      [bytes(0xc0), bytes(0x02)],
      [key('deadline'), deadline],
    ]), // a nil key: refused
    map([
      [key('tags'), pack(['a', { b: 1 }])],
      [key('deadline'), deadline],
    ]), // nested values
    map([
      [key('blob'), bytes(0xc4, 2, 1, 2)],
      [key('idempotent'), bytes(0xc3)],
    ]), // bin
    map([
      [key('when'), bytes(0xd6, 0xff, 0, 0, 0, 1)],
      [key('idempotent'), bytes(0xc3)],
    ]), // timestamp ext
    map([
      [key('deadline'), deadline],
      [key('deadline'), bytes(0x07)],
    ]), // the last one counts
    map([
      [key('idempotent'), bytes(0xc3)],
      [key('idempotent'), bytes(0xc2)],
    ]),
    map([[key('idempotent'), bytes(0x01)]]), // not true
    map([[key('deadline'), bytes(0xcd, 1)]]), // cut short
    bytes(0x81, 0xa8), // cut short in the key
    bytes(0xde, 0, 1, ...key('idempotent'), 0xc3), // map16
    bytes(0xdf, 0, 0, 0, 1, ...key('idempotent'), 0xc3), // map32
    Buffer.concat([bytes(0x81, 0xd9, 8), Buffer.from('deadline'), bytes(0x09)]), // str8 key
    Buffer.concat([bytes(0x81, 0xda, 0, 10), Buffer.from('idempotent'), bytes(0xc3)]), // str16 key
    pack([1, 2]),
    pack('deadline'),
    bytes(0xc1),
  ];
  for (const frame of frames) {
    assert.deepEqual(peekRouteMeta(frame), decoded(frame), frame.toString('hex'));
    assert.deepEqual(peekMeta(frame), decodeMeta(frame), frame.toString('hex'));
  }
});

test('the whole Meta: its text fields, as the decoder reads them, whatever their bytes', () => {
  const usual = { deadline: 1_765_000_000_123, reqId: 'r-1', caller: 'gateway', idempotent: true, user: 'ann' };
  assert.deepEqual(peekMeta(pack(usual)), usual);
  assert.deepEqual(peekMeta(undefined), {});
  assert.deepEqual(peekMeta(Buffer.alloc(0)), {});
  const texts: Buffer[] = [
    pack('é 😀 ünïcode'),
    pack('\uFEFFwith a byte order mark'),
    pack('a real \uFFFD'),
    pack('x'.repeat(300)), // str 16
    Buffer.concat([bytes(0xdb, 0, 0, 0, 2), Buffer.from('ab')]), // str 32: left to the decoder
    bytes(0xa2, 0xc3, 0x28), // not UTF-8
    bytes(0xa1, 0xff),
    pack(7), // not text: no field
    bytes(0xc0),
  ];
  for (const name of ['reqId', 'caller', 'user']) {
    for (const text of texts) {
      const frame = map([
        [key('deadline'), pack(5)],
        [key(name), text],
      ]);
      assert.deepEqual(peekMeta(frame), decodeMeta(frame), `${name} ${frame.toString('hex')}`);
    }
    const twice = map([
      [key(name), pack('first')],
      [key(name), pack(1)],
    ]); // the last one counts, even when it is not text
    assert.deepEqual(peekMeta(twice), decodeMeta(twice));
  }
});

test('any map, and any bytes, read as the decoder reads them', () => {
  const value = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.string(),
    fc.maxSafeNat(),
    fc.array(fc.integer(), { maxLength: 3 }),
  );
  const name = fc.oneof(fc.constantFrom('deadline', 'idempotent', 'reqId', 'caller', 'user'), fc.string());
  fc.assert(
    fc.property(fc.dictionary(name, value, { maxKeys: 20 }), (m) => {
      const frame = pack(m);
      assert.deepEqual(peekRouteMeta(frame), decoded(frame));
      assert.deepEqual(peekMeta(frame), decodeMeta(frame));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (raw) => {
      const frame = Buffer.from(raw);
      assert.deepEqual(peekRouteMeta(frame), decoded(frame));
      assert.deepEqual(peekMeta(frame), decodeMeta(frame));
    }),
    { numRuns: 5000 },
  );
});
