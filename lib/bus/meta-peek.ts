/**
 * A request's metadata frame (docs/PROTOCOL.md §7) read from its bytes: what the broker needs of it, its
 * `deadline` and `idempotent`, without decoding the rest (no object, no string is made for the other
 * keys), and what a worker hands its handler, the whole `Meta`, without the general decoder's map of every
 * key. A frame this reader is not sure of (nested values, bin, ext, a key that is not a string, text that
 * is not UTF-8, trailing bytes…) is decoded whole by `decodeMeta`, so that both answer the same for every
 * frame.
 */
import { decodeMeta, type Meta } from './codec';
import { sameAt } from './mdp';
import { numberAt, numberBytes } from './msgpack-read';

/** The two fields the broker routes by. */
export interface RouteMeta {
  deadline: number | undefined;
  idempotent: boolean;
}

const NONE: RouteMeta = Object.freeze({ deadline: undefined, idempotent: false });
const DEADLINE = Buffer.from('deadline');
const IDEMPOTENT = Buffer.from('idempotent');
const REQ_ID = Buffer.from('reqId');
const CALLER = Buffer.from('caller');
const USER = Buffer.from('user');
const PROTO = Buffer.from('__proto__');

/** `deadline` (a finite number) and `idempotent` (true) of a metadata frame, as `decodeMeta` reads them. */
export function peekRouteMeta(frame: Buffer | undefined): RouteMeta {
  if (frame === undefined || frame.length === 0) return NONE;
  const read = scan(frame, false);
  if (read !== undefined) return read;
  const meta = decodeMeta(frame);
  return { deadline: meta.deadline, idempotent: meta.idempotent === true };
}

/** The `Meta` of a metadata frame, as `decodeMeta` reads it. */
export function peekMeta(frame: Buffer | undefined): Meta {
  if (frame === undefined || frame.length === 0) return {};
  return scan(frame, true) ?? decodeMeta(frame);
}

/** What `textAt` answers for text the full decoder is left to read. */
const UNSURE = null;

/**
 * Where the string `stringAt` last found starts (its end is what `stringAt` answers): a second result
 * kept here rather than in a new array per string.
 */
let textStart = 0;

/** The value at `at` as text: undefined when it is not text, UNSURE when it is not valid UTF-8. */
function textAt(f: Buffer, at: number): string | undefined | typeof UNSURE {
  const end = stringAt(f, at);
  if (end < 0) return undefined;
  const start = textStart;
  let ascii = true;
  for (let i = start; i < end && ascii; i++) ascii = f[i] < 0x80;
  // ASCII is the same in Latin-1, whose decoding is the cheaper; other text is UTF-8, where Node's decoder
  // puts U+FFFD where the bytes are wrong, and the full decoder decides (as msgpack-read.ts).
  if (ascii) return f.toString('latin1', start, end);
  const text = f.toString('utf8', start, end);
  return text.includes('\uFFFD') ? UNSURE : text;
}

/**
 * The scan itself: `deadline` and `idempotent`, and with `whole` the other keys of `Meta`, in the order
 * `decodeMeta` sets them; undefined when the frame holds something it leaves to the full decoder.
 */
function scan(f: Buffer, whole: true): Meta | undefined;
function scan(f: Buffer, whole: false): RouteMeta | undefined;
function scan(f: Buffer, whole: boolean): Meta | RouteMeta | undefined {
  const tag = f[0];
  let count: number;
  let at: number;
  if (tag >= 0x80 && tag <= 0x8f) {
    count = tag - 0x80;
    at = 1;
  } else if (tag === 0xde && f.length >= 3) {
    count = f.readUInt16BE(1);
    at = 3;
  } else return undefined;
  let deadline: number | undefined;
  let idempotent = false;
  let reqId: string | undefined;
  let caller: string | undefined;
  let user: string | undefined;
  for (let i = 0; i < count; i++) {
    const end = stringAt(f, at);
    if (end < 0) return undefined;
    const start = textStart;
    const next = skip(f, end);
    if (next < 0) return undefined;
    // The keys known here differ in length: the length picks the one key the bytes may be.
    switch (end - start) {
      case DEADLINE.length:
        if (sameAt(f, start, end, DEADLINE)) {
          const n = numberAt(f, end);
          deadline = n !== undefined && Number.isFinite(n) ? n : undefined;
        }
        break;
      case IDEMPOTENT.length:
        if (sameAt(f, start, end, IDEMPOTENT)) idempotent = f[end] === 0xc3;
        break;
      case PROTO.length:
        if (sameAt(f, start, end, PROTO)) return undefined;
        break;
      case REQ_ID.length:
      case CALLER.length:
      case USER.length:
        if (whole) {
          const name = sameAt(f, start, end, REQ_ID)
            ? 1
            : sameAt(f, start, end, CALLER)
              ? 2
              : sameAt(f, start, end, USER)
                ? 3
                : 0;
          if (name === 0) break;
          const value = textAt(f, end);
          if (value === UNSURE) return undefined;
          if (name === 1) reqId = value;
          else if (name === 2) caller = value;
          else user = value;
        }
        break;
    }
    at = next;
  }
  if (at !== f.length) return undefined;
  if (!whole) return { deadline, idempotent };
  const meta: Meta = {};
  if (deadline !== undefined) meta.deadline = deadline;
  if (reqId !== undefined) meta.reqId = reqId;
  if (caller !== undefined) meta.caller = caller;
  if (idempotent) meta.idempotent = true;
  if (user !== undefined) meta.user = user;
  return meta;
}

/** Where the string at `at` ends, its start left in `textStart`; -1 when no whole string starts there. */
function stringAt(f: Buffer, at: number): number {
  const tag = f[at];
  let length: number;
  let start: number;
  if (tag >= 0xa0 && tag <= 0xbf) {
    length = tag - 0xa0;
    start = at + 1;
  } else if (tag === 0xd9 && at + 1 < f.length) {
    length = f[at + 1];
    start = at + 2;
  } else if (tag === 0xda && at + 2 < f.length) {
    length = f.readUInt16BE(at + 1);
    start = at + 3;
  } else return -1;
  if (start + length > f.length) return -1;
  textStart = start;
  return start + length;
}

/** Where the scalar value at `at` ends; -1 for a value this reader leaves to the decoder, or one cut short. */
function skip(f: Buffer, at: number): number {
  if (at >= f.length) return -1;
  const tag = f[at];
  let end: number;
  if (tag <= 0x7f || tag >= 0xe0 || tag === 0xc0 || tag === 0xc2 || tag === 0xc3) end = at + 1;
  else if (tag >= 0xa0 && tag <= 0xbf) end = at + 1 + (tag - 0xa0);
  else if (tag === 0xd9 || tag === 0xda) return stringAt(f, at);
  else if (tag >= 0xca && tag <= 0xd3) end = at + 1 + numberBytes(tag);
  else return -1;
  return end <= f.length ? end : -1;
}
