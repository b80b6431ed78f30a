/**
 * lib/store/pg-arrays.ts against a throwaway PostgreSQL: what it sends is taken for the types the
 * statement gives, element for element (text in any script, NULLs, bytes with NUL, empty arrays), and
 * what the server writes back as text is read back the same.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Client } from 'pg';
import { byteaArray, intArray, parseIntArray, parseTextArray, textArray } from '../../lib/store/pg-arrays';
import { startPostgres } from '../helpers/backends';

test('PostgreSQL takes the arrays for their types and gives them back as sent', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const client = new Client({ connectionString: await pg.newDatabase() });
  await client.connect();
  try {
    await check(client);
  } finally {
    await client.end();
  }
});

async function check(client: Client): Promise<void> {
  const roundTrip = async (
    texts: Array<string | null>,
    bytes: Array<Buffer | string>,
    ints: number[],
  ): Promise<{ texts: Array<string | null>; bytes: Buffer[]; ints: number[]; plain: string[]; n: number }> => {
    const { rows } = await client.query<{
      t: Array<string | null>;
      b: Buffer[];
      i: string;
      plain: string;
      n: number;
    }>({
      name: 'round-trip',
      text: `SELECT $1::text[] AS t, $2::bytea[] AS b, $3::bigint[]::text AS i,
                    array_remove($1::text[], NULL)::text AS plain, cardinality($1::text[]) AS n`,
      values: [textArray(texts), byteaArray(bytes), intArray(ints)],
    });
    const [r] = rows;
    return { texts: r.t, bytes: r.b, ints: parseIntArray(r.i), plain: parseTextArray(r.plain), n: r.n };
  };
  const text = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\0'));
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.option(text, { nil: null, freq: 6 }), { maxLength: 12 }),
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
          fc.string({ maxLength: 20 }),
        ),
        {
          maxLength: 12,
        },
      ),
      fc.array(fc.maxSafeInteger(), { maxLength: 12 }),
      async (texts, bytes, ints) => {
        const back = await roundTrip(texts, bytes, ints);
        assert.deepEqual(back.texts, texts);
        // A string goes as its UTF-8 bytes (a message, NUL included: bytea takes any byte).
        assert.deepEqual(
          back.bytes,
          bytes.map((b) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b)),
        );
        assert.deepEqual(back.ints, ints);
        assert.deepEqual(
          back.plain,
          texts.filter((s) => s !== null),
        );
        assert.equal(back.n ?? 0, texts.length);
      },
    ),
    { numRuns: 150 },
  );
  const odd = ['', 'NULL', 'null', 'a,b', '"q"', 'back\\slash', '{x}', ' sp ', 'tab\t', 'é中😀'];
  const back = await roundTrip(
    odd,
    [Buffer.from([0, 1, 0, 255]), Buffer.alloc(0), 'a\0é'],
    [Number.MIN_SAFE_INTEGER, 0],
  );
  assert.deepEqual([back.texts, back.plain], [odd, odd]);
  assert.deepEqual(back.bytes, [Buffer.from([0, 1, 0, 255]), Buffer.alloc(0), Buffer.from('a\0é', 'utf8')]);
  // A NUL in a text element is refused by the server, as it is in every text PostgreSQL stores.
  await assert.rejects(roundTrip(['a\0b'], [], []), /invalid byte sequence|0x00/);
}
