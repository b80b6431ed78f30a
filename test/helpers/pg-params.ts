/**
 * The parameters lib/store/pg-arrays.ts makes, read back for tests that stand in for PostgreSQL: a binary
 * array's elements (as `array_recv` reads them), an integer array's literal, and an array written as
 * PostgreSQL writes plain elements as text.
 */
import { parseIntArray } from '../../lib/store/pg-arrays';

/** The elements of a one-dimensional binary array (null: a NULL element). */
export function binaryElements(param: unknown): Array<Buffer | null> {
  if (!Buffer.isBuffer(param)) throw new TypeError('not a binary array');
  if (param.readInt32BE(0) !== 1) throw new TypeError('not one dimension');
  const out: Array<Buffer | null> = [];
  let at = 20;
  for (let i = 0; i < param.readInt32BE(12); i++) {
    const n = param.readInt32BE(at);
    at += 4;
    if (n < 0) out.push(null);
    else {
      out.push(param.subarray(at, at + n));
      at += n;
    }
  }
  if (at !== param.length) throw new TypeError('bytes after the last element');
  return out;
}

/** The element type (pg_type.oid) a binary array names. */
export const elementType = (param: unknown): number => (param as Buffer).readUInt32BE(8);

/** The elements of a binary `text[]` (null: a NULL element). */
export const texts = (param: unknown): Array<string | null> =>
  binaryElements(param).map((b) => (b === null ? null : b.toString('utf8')));

/** The elements of an `int[]` parameter's text literal. */
export const ints = (param: unknown): number[] => parseIntArray(param as string);

/** An array of plain elements (no quoting needed) as PostgreSQL writes it as text. */
export const literal = (items: ReadonlyArray<string | number>): string => `{${items.join(',')}}`;
