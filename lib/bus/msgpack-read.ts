/**
 * A reader of the msgpack that bus bodies and metadata frames are made of (nil, booleans,
 * numbers, strings, arrays, maps with string keys), for lib/bus/codec.ts `unpack`: it answers what
 * @msgpack/msgpack's Decoder answers for the same bytes, in a fraction of its time (strings are
 * decoded by Node's native UTF-8 decoder, no decoder state is reset per frame). Anything else (bin,
 * ext, a key that is not a string, `__proto__` as a key, a string that is not valid UTF-8, bytes
 * cut short or left over) it leaves to that Decoder: it answers UNREAD, and the Decoder reads the
 * frame from its start.
 */

/** What `readMsgpack` answers for a frame it leaves to the full decoder. */
export const UNREAD: unique symbol = Symbol('unread');

const EMPTY = Buffer.alloc(0);
/** The frame being read (one at a time: the reader is synchronous and does not re-enter). */
let buf: Buffer = EMPTY;
let pos = 0;
/** Set once the frame holds something left to the full decoder; every reader returns at once then. */
let bad = false;

const KEY_PROTO = '__proto__';
/** Strings up to this many bytes (keys, names) are built here when ASCII: cheaper than a native call. */
const SHORT_STRING = 16;

/** The value the whole of `frame` encodes, or UNREAD. */
export function readMsgpack(frame: Uint8Array): unknown {
  if (frame.length === 0) return UNREAD;
  buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  pos = 0;
  bad = false;
  const value = read();
  const ok = !bad && pos === buf.length;
  buf = EMPTY;
  return ok ? value : UNREAD;
}

function fail(): undefined {
  bad = true;
  return undefined;
}

/** `n` more bytes are there. */
function has(n: number): boolean {
  return pos + n <= buf.length;
}

function read(): unknown {
  if (!has(1)) return fail();
  const tag = buf[pos++];
  if (tag <= 0x7f) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  if (tag <= 0x8f) return map(tag - 0x80);
  if (tag <= 0x9f) return array(tag - 0x90);
  if (tag <= 0xbf) return string(tag - 0xa0);
  if (tag >= 0xca && tag <= 0xd3) {
    const n = numberBytes(tag);
    if (!has(n)) return fail();
    pos += n;
    return numberAt(buf, pos - n - 1);
  }
  switch (tag) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xd9:
      return has(1) ? string(buf[pos++]) : fail();
    case 0xda:
      return has(2) ? string(buf.readUInt16BE((pos += 2) - 2)) : fail();
    case 0xdb:
      return has(4) ? string(buf.readUInt32BE((pos += 4) - 4)) : fail();
    case 0xdc:
      return has(2) ? array(buf.readUInt16BE((pos += 2) - 2)) : fail();
    case 0xdd:
      return has(4) ? array(buf.readUInt32BE((pos += 4) - 4)) : fail();
    case 0xde:
      return has(2) ? map(buf.readUInt16BE((pos += 2) - 2)) : fail();
    case 0xdf:
      return has(4) ? map(buf.readUInt32BE((pos += 4) - 4)) : fail();
    default:
      return fail(); // bin, ext, and 0xc1 (never used)
  }
}

function string(length: number, key = false): string | undefined {
  if (!has(length)) return fail();
  const start = pos;
  pos += length;
  if (length <= SHORT_STRING) {
    const ascii = key ? cachedKey(start, pos) : shortAscii(start, pos);
    if (ascii !== undefined) return ascii;
  }
  const s = buf.toString('utf8', start, pos);
  // Not valid UTF-8 (Node's decoder put U+FFFD where the bytes are wrong): left to the Decoder (a real
  // U+FFFD lands here too, decoded there alike). A leading byte order mark stays, as lib/bus/codec.ts keeps it.
  if (s.includes('\uFFFD')) return fail();
  return s;
}

/** Short keys seen, by a hash of their bytes: a few keys come again and again. */
const CACHE_SLOTS = 512;
const cachedBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(CACHE_SLOTS);
const cachedStrings: string[] = new Array<string>(CACHE_SLOTS);

/**
 * Bytes [start, end) of a map key as a string when they are all ASCII (then one byte is one character),
 * the one made the last time when they come again; else undefined.
 */
function cachedKey(start: number, end: number): string | undefined {
  let h = end - start;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= 0x80) return undefined;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = h & (CACHE_SLOTS - 1);
  const seen = cachedBytes[slot];
  if (seen !== undefined && seen.length === end - start) {
    let same = true;
    for (let i = 0; i < seen.length; i++) {
      if (seen[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedStrings[slot];
  }
  const s = buf.toString('latin1', start, end);
  // A copy of its own (not a slice of Node's pool, which it would keep alive).
  cachedBytes[slot] = new Uint8Array(buf.subarray(start, end));
  cachedStrings[slot] = s;
  return s;
}

/** Bytes [start, end) as a string when they are all ASCII; else undefined. */
function shortAscii(start: number, end: number): string | undefined {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

function array(size: number): unknown[] | undefined {
  // Every element takes a byte at least: a size beyond what is left is a frame cut short.
  if (!has(size)) return fail();
  const out = new Array<unknown>(size);
  for (let i = 0; i < size; i++) {
    out[i] = read();
    if (bad) return undefined;
  }
  return out;
}

function map(size: number): Record<string, unknown> | undefined {
  if (!has(size * 2)) return fail();
  const out: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) {
    // Keys are strings here; any other key is the Decoder's to judge.
    const tag = buf[pos];
    let key: unknown;
    if (tag >= 0xa0 && tag <= 0xbf) {
      pos++;
      key = string(tag - 0xa0, true);
    } else key = read();
    if (bad || typeof key !== 'string' || key === KEY_PROTO) return fail();
    out[key] = read();
    if (bad) return undefined;
  }
  return out;
}

/** How many bytes follow a float's or an integer's tag (0xca to 0xd3). */
export function numberBytes(tag: number): number {
  return tag === 0xca ? 4 : tag === 0xcb ? 8 : 1 << ((tag - 0xcc) & 3);
}

/**
 * The number whose tag is at `at` (its bytes known to be there), as the Decoder reads it; undefined when no
 * number starts there.
 */
export function numberAt(f: Buffer, at: number): number | undefined {
  const tag = f[at];
  if (tag <= 0x7f) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  switch (tag) {
    case 0xca:
      return f.readFloatBE(at + 1);
    case 0xcb:
      return f.readDoubleBE(at + 1);
    case 0xcc:
      return f[at + 1];
    case 0xcd:
      return f.readUInt16BE(at + 1);
    case 0xce:
      return f.readUInt32BE(at + 1);
    case 0xcf:
      return f.readUInt32BE(at + 1) * 0x1_0000_0000 + f.readUInt32BE(at + 5);
    case 0xd0:
      return f.readInt8(at + 1);
    case 0xd1:
      return f.readInt16BE(at + 1);
    case 0xd2:
      return f.readInt32BE(at + 1);
    case 0xd3:
      return f.readInt32BE(at + 1) * 0x1_0000_0000 + f.readUInt32BE(at + 5);
    default:
      return undefined;
  }
}
