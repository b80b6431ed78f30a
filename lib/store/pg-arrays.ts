/**
 * Arrays for the statements a PostgreSQL store runs at every request, in the forms that cost least on
 * both sides of the wire. The driver writes a JavaScript array as a text literal, quoting and escaping
 * every element (a bytea element as hex), which the server then parses back character by character:
 * at 21 appends a call, that was about a third of what this process spent on a call besides its round trip.
 * - `textArray` and `byteaArray`: PostgreSQL's binary array format (what `array_recv` reads). The driver
 *   sends a Buffer parameter as binary, and the server takes it for the type the statement gives the
 *   parameter (`$3::text[]`), the element type in the header included: each element's bytes as they are,
 *   behind its length.
 * - `intArray`: integers need no quoting, so their text literal is one join.
 * - `parseIntArray` and `parseTextArray`: an answer's array cast to text (`out_last::text`) read here,
 *   without the driver's general array parser.
 */
import { types } from 'pg';

/** The element types of the arrays sent here (pg_type.oid). */
const TEXT_OID = 25;
const BYTEA_OID = 17;

/** Header: dimensions, has-nulls flag, element type; then the one dimension's length and lower bound. */
const HEADER_BYTES = 20;

/** Each element's bytes behind its length (-1: NULL): a string's in UTF-8, a Buffer's as they are. */
function binaryArray(oid: number, items: ReadonlyArray<Buffer | string | null>): Buffer {
  let bytes = HEADER_BYTES;
  let nulls = 0;
  const sizes = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    sizes[i] = item === null ? -1 : typeof item === 'string' ? Buffer.byteLength(item, 'utf8') : item.length;
    if (item === null) nulls = 1;
    bytes += 4 + Math.max(0, sizes[i]);
  }
  const out = Buffer.allocUnsafe(bytes);
  out.writeInt32BE(1, 0);
  out.writeInt32BE(nulls, 4);
  out.writeUInt32BE(oid, 8);
  out.writeInt32BE(items.length, 12);
  out.writeInt32BE(1, 16);
  let at = HEADER_BYTES;
  for (let i = 0; i < items.length; i++) {
    out.writeInt32BE(sizes[i], at);
    at += 4;
    const item = items[i];
    if (item === null) continue;
    if (typeof item === 'string') out.write(item, at, 'utf8');
    else item.copy(out, at);
    at += sizes[i];
  }
  return out;
}

/** A `text[]` parameter (null: a NULL element), in the binary format. */
export function textArray(items: ReadonlyArray<string | null>): Buffer {
  return binaryArray(TEXT_OID, items);
}

/** A `bytea[]` parameter, in the binary format: each element's bytes as they are, a string's in UTF-8. */
export function byteaArray(items: ReadonlyArray<Buffer | string>): Buffer {
  return binaryArray(BYTEA_OID, items);
}

/** An `int[]` or `bigint[]` parameter of safe integers, as its text literal. */
export function intArray(items: readonly number[]): string {
  for (const n of items) if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${n}`);
  return `{${items.join(',')}}`;
}

/** A `bigint[]` answer cast to text (`{1,2,3}`, no NULL element) as numbers; NULL (null) as none. */
export function parseIntArray(text: string | null): number[] {
  if (text === null || text === '{}') return [];
  if (text[0] !== '{' || text[text.length - 1] !== '}') throw new TypeError(`not an array: ${text.slice(0, 40)}`);
  const out = text.slice(1, -1).split(',').map(Number);
  for (const n of out)
    if (!Number.isSafeInteger(n)) throw new TypeError(`not an array of integers: ${text.slice(0, 40)}`);
  return out;
}

/** The driver's parser of `text[]` (pg_type.oid 1009), which its type list does not name. */
const TEXT_ARRAY_OID = 1009 as Parameters<typeof types.getTypeParser>[0];
const parseTextArrayInGeneral = types.getTypeParser(TEXT_ARRAY_OID, 'text') as (text: string) => Array<string | null>;

/**
 * A `text[]` answer cast to text, no element NULL. PostgreSQL quotes an element that holds a comma, a
 * quote, a backslash, a brace, white space, or that is empty or reads NULL: without a quote or a
 * backslash anywhere, the elements are what lies between the commas; otherwise the driver's parser reads it.
 */
export function parseTextArray(text: string | null): string[] {
  if (text === null || text === '{}') return [];
  if (text.includes('"') || text.includes('\\'))
    return parseTextArrayInGeneral(text).map((s) => {
      if (s === null) throw new TypeError('a NULL element where none may be');
      return s;
    });
  return text.slice(1, -1).split(',');
}
