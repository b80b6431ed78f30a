/**
 * The answer of `/retrieve` (docs/API-LEGACY.md "Messages") written straight from the msgpack bytes of
 * `Messages.Retrieve`'s result, `{"messages": [{"messageid", "username", "message", "last_modified"}, …]}`,
 * without decoding it to objects: each text's UTF-8 bytes are copied as they are, escaped where JSON.stringify
 * escapes (a control character, a quote, a backslash). The bytes are exactly those of
 * `JSON.stringify({status: true, data})` with `data` the decoded messages' three fields; anything this cannot
 * vouch for (another key, order or type; a float; UTF-8 that is not well formed, as a lone surrogate's
 * encoding is; bytes after the value) answers undefined, and the caller decodes the result as usual.
 */

import { numberAt, numberBytes } from '../../lib/bus/msgpack-read';

const HEAD = Buffer.from('{"status":true,"data":[');
const TAIL = Buffer.from(']}');
const ID = Buffer.from('{"messageid":');
const NEXT_ID = Buffer.from(',{"messageid":');
const USERNAME = Buffer.from(',"username":');
const MESSAGE = Buffer.from(',"message":');
/** The keys as msgpack writes them (fixstr). */
const KEY_MESSAGES = Buffer.from('\xa8messages', 'latin1');
const KEY_ID = Buffer.from('\xa9messageid', 'latin1');
const KEY_USERNAME = Buffer.from('\xa8username', 'latin1');
const KEY_MESSAGE = Buffer.from('\xa7message', 'latin1');
const KEY_STAMP = Buffer.from('\xadlast_modified', 'latin1');

/** JSON.stringify's escape of each byte below 0x80 that it escapes; undefined for the others. */
const ESCAPES: Array<Buffer | undefined> = Array.from({ length: 0x80 }, (_, c) =>
  c < 0x20 || c === 0x22 || c === 0x5c ? Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1)) : undefined,
);
/** The longest escape (`\u00XX`). */
const MAX_ESCAPE = 6;
/** A text longer than this is copied by memcpy where it needs no escape; shorter ones byte by byte. */
const BULK = 64;

/** 10^0 .. 10^8: the number of digits of an integer below 10^9. */
const POWERS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
/** The size of the scratch buffer kept between answers. */
const SCRATCH_KEPT = 1 << 16;

/** The answer's bytes, or undefined (then decode `result` and answer from that). */
export function retrieveJson(result: Uint8Array): Buffer | undefined {
  return writer.run(result);
}

/**
 * Reads the result and writes the answer into a scratch buffer that grows as needed and is kept between
 * calls (all of one call happens synchronously), then copies the answer out.
 */
class Writer {
  private src: Buffer = Buffer.alloc(0);
  private at = 0;
  private out: Buffer = Buffer.allocUnsafeSlow(SCRATCH_KEPT);
  private to = 0;

  run(src: Uint8Array): Buffer | undefined {
    this.src = Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.length);
    this.at = 0;
    this.to = 0;
    const ok = this.walk();
    this.src = EMPTY;
    const answer = ok ? Buffer.allocUnsafe(this.to) : undefined;
    if (answer !== undefined) this.out.copy(answer, 0, 0, this.to);
    // A scratch buffer grown for one large answer is not kept.
    if (this.out.length > SCRATCH_KEPT) this.out = Buffer.allocUnsafeSlow(SCRATCH_KEPT);
    return answer;
  }

  private walk(): boolean {
    const src = this.src;
    if (src.length < 1 || src[0] !== 0x81) return false;
    this.at = 1;
    if (!this.key(KEY_MESSAGES)) return false;
    const n = this.header(0x90, 0xdc, 0xdd);
    if (n < 0) return false;
    this.put(HEAD);
    for (let i = 0; i < n; i++) {
      if (this.header(0x80, 0xde, 0xdf) !== 4 || !this.key(KEY_ID)) return false;
      const id = this.integer();
      if (id === undefined || !this.key(KEY_USERNAME)) return false;
      this.put(i === 0 ? ID : NEXT_ID);
      this.number(id);
      this.put(USERNAME);
      if (!this.text() || !this.key(KEY_MESSAGE)) return false;
      this.put(MESSAGE);
      if (!this.text() || !this.key(KEY_STAMP) || this.integer() === undefined) return false;
      this.room(1);
      this.out[this.to++] = 0x7d; // }
    }
    this.put(TAIL);
    return this.at === src.length;
  }

  /** Make sure `n` more bytes fit in the scratch buffer. */
  private room(n: number): void {
    if (this.to + n <= this.out.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.out.length * 2, this.to + n));
    this.out.copy(grown, 0, 0, this.to);
    this.out = grown;
  }

  private put(bytes: Buffer): void {
    this.room(bytes.length);
    const out = this.out;
    let to = this.to;
    for (let i = 0; i < bytes.length; i++) out[to++] = bytes[i];
    this.to = to;
  }

  /** An integer as JSON.stringify writes it (its decimal digits). */
  private number(value: number): void {
    if (value < 0 || value >= 1e9) {
      const digits = String(value);
      this.room(digits.length);
      this.to += this.out.write(digits, this.to, 'latin1');
      return;
    }
    this.room(9);
    let width = 1;
    while (width < 9 && value >= POWERS[width]) width++;
    const out = this.out;
    let rest = value;
    for (let k = this.to + width - 1; k >= this.to; k--) {
      const tenth = (rest / 10) | 0;
      out[k] = 0x30 + rest - tenth * 10;
      rest = tenth;
    }
    this.to += width;
  }

  /** The next bytes are `expected` (a key): skip them. */
  private key(expected: Buffer): boolean {
    const { src, at } = this;
    if (at + expected.length > src.length) return false;
    for (let i = 0; i < expected.length; i++) if (src[at + i] !== expected[i]) return false;
    this.at = at + expected.length;
    return true;
  }

  /** The count of an array or map header (fix form from `fix`, 16- and 32-bit forms), or -1. */
  private header(fix: number, wide16: number, wide32: number): number {
    const { src, at } = this;
    if (at >= src.length) return -1;
    const tag = src[at];
    if (tag >= fix && tag <= fix + 15) {
      this.at = at + 1;
      return tag - fix;
    }
    const width = tag === wide16 ? 2 : tag === wide32 ? 4 : 0;
    if (width === 0 || at + 1 + width > src.length) return -1;
    this.at = at + 1 + width;
    return readUint(src, at + 1, width);
  }

  /** A msgpack integer of at most 2^53−1 in magnitude (as the decoder reads it, exactly), or undefined. */
  private integer(): number | undefined {
    const { src, at } = this;
    if (at >= src.length) return undefined;
    const tag = src[at];
    const fixed = tag < 0x80 || tag >= 0xe0;
    if (!fixed && !(tag >= 0xcc && tag <= 0xd3)) return undefined;
    const end = at + 1 + (fixed ? 0 : numberBytes(tag));
    if (end > src.length) return undefined;
    const value = numberAt(src, at);
    if (value === undefined || !Number.isSafeInteger(value)) return undefined;
    this.at = end;
    return value;
  }

  /** A msgpack string written as a JSON string; false when it is no string or its UTF-8 is not well formed. */
  private text(): boolean {
    const { src, at } = this;
    if (at >= src.length) return false;
    const tag = src[at];
    let start: number;
    let length: number;
    if (tag >= 0xa0 && tag <= 0xbf) {
      start = at + 1;
      length = tag - 0xa0;
    } else if (tag >= 0xd9 && tag <= 0xdb) {
      const width = 1 << (tag - 0xd9);
      if (at + 1 + width > src.length) return false;
      start = at + 1 + width;
      length = readUint(src, at + 1, width);
    } else return false;
    const end = start + length;
    if (end > src.length) return false;
    this.at = end;
    this.room(2 + length * MAX_ESCAPE);
    const out = this.out;
    let to = this.to;
    out[to++] = 0x22;
    let from = start;
    for (let i = start; i < end;) {
      const b = src[i];
      if (b >= 0x80) {
        const n = sequence(src, i, end);
        if (n === 0) return false;
        i += n;
        continue;
      }
      const escape = ESCAPES[b];
      if (escape === undefined) {
        i++;
        continue;
      }
      to = copy(src, from, i, out, to);
      for (let k = 0; k < escape.length; k++) out[to++] = escape[k];
      from = ++i;
    }
    to = copy(src, from, end, out, to);
    out[to++] = 0x22;
    this.to = to;
    return true;
  }
}

const EMPTY = Buffer.alloc(0);
const writer = new Writer();

/** Copy src[from..end) to out at `to`; where it ends in out. */
function copy(src: Uint8Array, from: number, end: number, out: Buffer, to: number): number {
  if (end - from > BULK) {
    out.set(src.subarray(from, end), to);
    return to + end - from;
  }
  for (let i = from; i < end; i++) out[to++] = src[i];
  return to;
}

function readUint(src: Uint8Array, at: number, width: number): number {
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + src[at + i];
  return value;
}

/** Whether src[i] is a UTF-8 continuation byte in lo..hi (within `end`). */
function cont(src: Uint8Array, i: number, end: number, lo = 0x80, hi = 0xbf): boolean {
  return i < end && src[i] >= lo && src[i] <= hi;
}

/**
 * The length of the well-formed UTF-8 sequence (of a character from U+0080, not a surrogate) that starts at
 * `i`, or 0 (the Unicode Standard's table of well-formed byte sequences).
 */
function sequence(src: Uint8Array, i: number, end: number): number {
  const b = src[i];
  if (b >= 0xc2 && b <= 0xdf) return cont(src, i + 1, end) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return cont(src, i + 1, end, lo, hi) && cont(src, i + 2, end) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(src, i + 1, end, lo, hi) && cont(src, i + 2, end) && cont(src, i + 3, end) ? 4 : 0;
  }
  return 0;
}
