/**
 * lib/store/pg-arrays.ts without a server: the binary arrays hold every element's bytes behind its length
 * under the header PostgreSQL's `array_recv` reads; integer literals; and the answers read back as the
 * driver's general parser reads them. test/integration/pg-arrays.test.ts sends them to PostgreSQL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { types } from 'pg';
import { byteaArray, intArray, parseIntArray, parseTextArray, textArray } from '../../lib/store/pg-arrays';
import { binaryElements, elementType } from '../helpers/pg-params';

const nullableText = fc.option(fc.string({ unit: 'binary' }), { nil: null, freq: 5 });

test('a text[] holds each element as UTF-8, NULL as length -1, under a header for one dimension from 1', () => {
  fc.assert(
    fc.property(fc.array(nullableText, { maxLength: 40 }), (items) => {
      const param = textArray(items);
      assert.equal(param.readInt32BE(0), 1, 'one dimension');
      assert.equal(param.readInt32BE(4), items.includes(null) ? 1 : 0, 'whether any element is NULL');
      assert.equal(elementType(param), 25, 'text');
      assert.equal(param.readInt32BE(12), items.length);
      assert.equal(param.readInt32BE(16), 1, 'lower bound');
      const back = binaryElements(param).map((b) => (b === null ? null : b.toString('utf8')));
      // What a string becomes in UTF-8 (a lone surrogate is U+FFFD) is what the element holds.
      assert.deepEqual(
        back,
        items.map((s) => (s === null ? null : Buffer.from(s, 'utf8').toString('utf8'))),
      );
    }),
  );
  assert.deepEqual([...textArray([])], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test("a bytea[] holds each element's bytes as they are, a string's in UTF-8", () => {
  const element = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ unit: 'binary', maxLength: 100 }),
  );
  fc.assert(
    fc.property(fc.array(element, { maxLength: 30 }), (items) => {
      const param = byteaArray(items);
      assert.equal(elementType(param), 17, 'bytea');
      assert.equal(param.readInt32BE(4), 0, 'no NULL');
      assert.deepEqual(
        binaryElements(param),
        items.map((b) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b)),
      );
    }),
  );
});

test('integers go as their text literal; anything else is refused before it is sent', () => {
  assert.equal(intArray([]), '{}');
  assert.equal(intArray([1, -2, 0, Number.MAX_SAFE_INTEGER]), `{1,-2,0,${Number.MAX_SAFE_INTEGER}}`);
  for (const bad of [1.5, NaN, Infinity, 2 ** 53])
    assert.throws(() => intArray([1, bad]), /not a safe integer/, String(bad));
});

test('answers are read as the driver reads them, the plain ones without its parser', () => {
  const general = types.getTypeParser(1009 as Parameters<typeof types.getTypeParser>[0], 'text') as (
    s: string,
  ) => string[];
  // Elements as PostgreSQL's array_out writes them: quoted where they hold a separator, a quote, a backslash,
  // a brace or its white space (space, \t, \n, \r, \v, \f; not U+00A0 or U+2028), or are empty or read NULL.
  const written = (items: string[]): string =>
    `{${items
      .map((s) =>
        s === '' || /^null$/i.test(s) || /[{}",\\ \t\n\r\v\f]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s,
      )
      .join(',')}}`;
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 20 }), (items) => {
      const text = written(items);
      assert.deepEqual(parseTextArray(text), general(text));
      assert.deepEqual(parseTextArray(text), items);
    }),
  );
  assert.deepEqual(parseTextArray('{bench-1,bench-2}'), ['bench-1', 'bench-2']);
  assert.deepEqual(parseTextArray('{"a,b","c\\"d",e}'), ['a,b', 'c"d', 'e']);
  assert.deepEqual(parseTextArray(null), []);
  assert.throws(() => parseTextArray('{a,NULL,"x\\"y"}'), /NULL element/);
  assert.deepEqual(parseIntArray('{1,22,-3}'), [1, 22, -3]);
  assert.deepEqual(parseIntArray('{}'), []);
  assert.deepEqual(parseIntArray(null), []);
  assert.throws(() => parseIntArray('{1,NULL}'), /not an array of integers/);
  assert.throws(() => parseIntArray('1,2'), /not an array/);
});
