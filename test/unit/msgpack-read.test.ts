/**
 * lib/bus/msgpack-read.ts against @msgpack/msgpack's Decoder: for every frame it reads, it answers
 * what the Decoder answers; it reads the frames bus bodies are made of (it is no fallback that
 * always gives up); what it leaves to the Decoder, the Decoder decodes or refuses as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { decodeFully, unpack } from '../../lib/bus/codec';
import { readMsgpack, UNREAD } from '../../lib/bus/msgpack-read';

const encoder = new Encoder({ ignoreUndefined: true });
const enc = (value: unknown): Buffer => Buffer.from(encoder.encode(value));

/** What the Decoder answers for `frame` (as lib/bus/codec.ts runs it): its value, or the error it throws. */
function decoded(frame: Uint8Array): { value: unknown } | { error: string } {
  try {
    return { value: decodeFully(frame) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Texts without U+FFFD, which the reader leaves to the Decoder ("what it leaves to the Decoder" below). */
const text = fc
  .oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ minLength: 190, maxLength: 300 }))
  .filter((s) => !s.includes('\ufffd'));
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.float().map((f) => Math.fround(f)),
    text,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(text, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Whether `value` holds a map with the key `__proto__` (which fc.dictionary can draw, rarely). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value === null || typeof value !== 'object') return false;
  return Object.keys(value).some((k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]));
}

test('it answers what the Decoder answers for every value bus frames are made of, and reads them all', () => {
  fc.assert(
    fc.property(plain, (value) => {
      const frame = enc(value);
      const read = readMsgpack(frame);
      if (hasProtoKey(value)) {
        // Left to the Decoder, which refuses it (see "what it leaves to the Decoder" below).
        assert.equal(read, UNREAD);
        assert.throws(() => decode(frame), /__proto__/);
        return;
      }
      assert.notEqual(read, UNREAD, 'a plain value is read here, not left to the Decoder');
      assert.deepEqual(read, decode(frame));
    }),
    { numRuns: 2000 },
  );
});

test('a `__proto__` key anywhere in a frame is left to the Decoder, as fast-check once drew it', () => {
  const inner: Record<string, unknown> = {};
  Object.defineProperty(inner, '__proto__', { value: null, enumerable: true, writable: true, configurable: true });
  const frame = enc({ [' '.repeat(190)]: inner });
  assert.ok(hasProtoKey({ a: inner }));
  assert.equal(readMsgpack(frame), UNREAD);
  assert.throws(() => decode(frame), /__proto__/);
});

test('a request and its metadata frame as the gateway sends them are read here', () => {
  const body = enc([0, 4_000_000_000, 'Post', [{ sesskey: 2 ** 40 + 3, channel: 'bench', message: 'é'.repeat(60) }]]);
  assert.deepEqual(readMsgpack(body), [
    0,
    4_000_000_000,
    'Post',
    [{ sesskey: 2 ** 40 + 3, channel: 'bench', message: 'é'.repeat(60) }],
  ]);
  const meta = enc({ deadline: Date.now() + 5000, reqId: 'r-1', caller: 'gateway', idempotent: true });
  assert.deepEqual(readMsgpack(meta), decode(meta));
});

test('what it leaves to the Decoder', () => {
  const left = [
    Buffer.alloc(0),
    enc({ a: new Uint8Array([1, 2]) }), // bin
    enc(new Date(0)), // ext (timestamp)
    Buffer.from([0x81, 0x01, 0x02]), // a number as a key
    Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0xc0]),
    Buffer.from([0xa2, 0xff, 0xfe]), // not UTF-8
    Buffer.from([0xa3, 0xef, 0xbf, 0xbd]), // U+FFFD itself: the Decoder's to decode
    Buffer.from([0x92, 0x01]), // cut short
    Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // an array longer than the frame
    Buffer.from([0x01, 0x02]), // bytes left over
    Buffer.from([0xc1]),
  ];
  for (const frame of left) {
    assert.equal(readMsgpack(frame), UNREAD, frame.toString('hex'));
    const expected = decoded(frame);
    if ('error' in expected) assert.throws(() => unpack(frame), { message: expected.error });
    else assert.deepEqual(unpack(frame), expected.value);
  }
  // The frame after a refused one is read from its own start.
  assert.deepEqual(readMsgpack(enc({ after: 'refusal' })), { after: 'refusal' });
});

test('a string that begins with a byte order mark keeps it, read here or by the Decoder, at any length', () => {
  // @msgpack/msgpack's own Decoder drops it from a string of over 200 bytes (its TextDecoder's default):
  // lib/bus/codec.ts puts it back. Should the library stop dropping it, this says so.
  const long = `\uFEFF${'a'.repeat(198)}`;
  assert.equal(Buffer.byteLength(long), 201);
  assert.equal(decode(enc(long)), long.slice(1), 'the library drops it above 200 bytes');
  assert.equal(decode(enc(long.slice(0, -1))), long.slice(0, -1), 'and keeps it at 200');
  for (const n of [0, 1, 197, 198, 199, 300, 70_000]) {
    const marked = `\uFEFF${'é'.repeat(n >> 1)}${'a'.repeat(n & 1)}`;
    const twice = `\uFEFF${marked}`;
    const value = { message: marked, list: [twice, 'x'], [marked]: 1 };
    assert.deepEqual(readMsgpack(enc(value)), value, `read here, ${n}`);
    assert.deepEqual(decodeFully(enc(value)), value, `by the Decoder, ${n}`);
    // A bin in the frame leaves all of it to the Decoder.
    const withBin = { ...value, bin: Buffer.from([1]) };
    assert.equal(readMsgpack(enc(withBin)), UNREAD);
    assert.deepEqual(unpack(enc(withBin)), withBin, `unpack, ${n}`);
  }
});

test('on any bytes it either leaves the frame to the Decoder or answers the same', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const read = readMsgpack(bytes);
      if (read === UNREAD) return;
      assert.deepEqual({ value: read }, decoded(bytes));
    }),
    { numRuns: 5000 },
  );
});

test('short keys read again, and keys whose slots collide, are each their own string', () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `k${i.toString(36)}`);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < keys.length; i += 3) {
      const value = { [keys[i]]: i, [keys[i + 1]]: i + 1, [keys[i + 2]]: i + 2 };
      assert.deepEqual(readMsgpack(enc(value)), value);
    }
  }
});
