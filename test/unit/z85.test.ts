/**
 * lib/bus/z85.ts: ZeroMQ RFC 32's test case, round trips both ways, agreement with libzmq's
 * keys (zeromq.js curveKeyPair), and a clear RangeError for every kind of bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { curveKeyPair } from 'zeromq';
import { z85Decode, z85Encode } from '../../lib/bus/z85';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Byte strings a multiple of 4 long, the only ones Z85 encodes. */
const frames = fc.integer({ min: 0, max: 32 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));

test('RFC 32 test case: 86 4F D2 6F B5 59 F7 5B is HelloWorld', () => {
  const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), 'HelloWorld');
  assert.deepEqual(z85Decode('HelloWorld'), bytes);
});

test('the extremes of a chunk: zeros are 00000, 0xFFFFFFFF is %nSc0', () => {
  assert.equal(z85Encode(Buffer.alloc(4)), '00000');
  assert.equal(z85Encode(Buffer.alloc(4, 0xff)), '%nSc0');
  assert.deepEqual(z85Decode('%nSc0'), Buffer.alloc(4, 0xff));
  assert.equal(z85Encode(Buffer.alloc(0)), '');
  assert.deepEqual(z85Decode(''), Buffer.alloc(0));
});

test('decode(encode(bytes)) is bytes, and the text uses only the alphabet', () => {
  fc.assert(
    fc.property(frames, (bytes) => {
      const text = z85Encode(bytes);
      assert.equal(text.length, (bytes.length / 4) * 5);
      assert.ok([...text].every((c) => ALPHABET.includes(c)));
      assert.deepEqual(z85Decode(text), Buffer.from(bytes));
    }),
  );
});

test('encode(decode(text)) is text for every text that decodes', () => {
  const chunk = fc.array(fc.constantFrom(...ALPHABET), { minLength: 5, maxLength: 5 }).map((c) => c.join(''));
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
      const text = chunks.join('');
      let bytes: Buffer;
      try {
        bytes = z85Decode(text);
      } catch (e) {
        assert.ok(e instanceof RangeError && /exceeds 32 bits/.test(e.message), String(e));
        return;
      }
      assert.equal(z85Encode(bytes), text);
    }),
  );
});

test("libzmq's keys (zeromq.js curveKeyPair) decode to 32 bytes and encode back unchanged", () => {
  for (let i = 0; i < 20; i++) {
    const { publicKey, secretKey } = curveKeyPair();
    for (const key of [publicKey, secretKey]) {
      const raw = z85Decode(key);
      assert.equal(raw.length, 32);
      assert.equal(z85Encode(raw), key);
    }
  }
});

test('bad input is a RangeError that says what is wrong', () => {
  assert.throws(() => z85Encode(Buffer.alloc(3)), { name: 'RangeError', message: /3 bytes is not a multiple of 4/ });
  assert.throws(() => z85Decode('Hell'), { name: 'RangeError', message: /4 characters is not a multiple of 5/ });
  assert.throws(() => z85Decode('Hel"o'), { name: 'RangeError', message: /invalid character "\\"" at offset 3/ });
  assert.throws(() => z85Decode('Hello Worl'), { name: 'RangeError', message: /invalid character " " at offset 5/ });
  assert.throws(() => z85Decode('Helloé1234'), { name: 'RangeError', message: /invalid character "é" at offset 5/ });
  assert.throws(() => z85Decode('%nSc1'), { name: 'RangeError', message: /chunk "%nSc1" exceeds 32 bits/ });
  assert.throws(() => z85Decode('#####'), { name: 'RangeError', message: /exceeds 32 bits/ });
});
