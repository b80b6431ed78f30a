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
/** The text fields of `Meta`, each with its key's bytes. */
const TEXTS = (['reqId', 'caller', 'user'] as const).map((name) => [name, Buffer.from(name)] as const);
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

/** The value at `at` as text: undefined when it is not text, UNSURE when it is not valid UTF-8. */
function textAt(f: Buffer, at: number): string | undefined | typeof UNSURE {
  const bytes = stringAt(f, at);
  if (bytes === undefined) return undefined;
  const text = f.toString('utf8', bytes[0], bytes[1]);
  // Node's decoder puts U+FFFD where the bytes are wrong, and the full decoder decides (as msgpack-read.ts).
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
  if (tag >= 0x80 && tag <= 0x8f) [count, at] = [tag - 0x80, 1];
  else if (tag === 0xde && f.length >= 3) [count, at] = [f.readUInt16BE(1), 3];
  else return undefined;
  let deadline: number | undefined;
  let idempotent = false;
  const texts: Pick<Meta, 'reqId' | 'caller' | 'user'> = {};
  for (let i = 0; i < count; i++) {
    const key = stringAt(f, at);
    if (key === undefined) return undefined;
    const [start, end] = key;
    const valueAt = end;
    const next = skip(f, valueAt);
    if (next < 0) return undefined;
    if (sameAt(f, start, end, DEADLINE)) {
      const n = numberAt(f, valueAt);
      deadline = n !== undefined && Number.isFinite(n) ? n : undefined;
    } else if (sameAt(f, start, end, IDEMPOTENT)) {
      idempotent = f[valueAt] === 0xc3;
    } else if (sameAt(f, start, end, PROTO)) {
      return undefined;
    } else if (whole) {
      const field = TEXTS.find(([, name]) => sameAt(f, start, end, name));
      if (field !== undefined) {
        const value = textAt(f, valueAt);
        if (value === UNSURE) return undefined;
        texts[field[0]] = value;
      }
    }
    at = next;
  }
  if (at !== f.length) return undefined;
  if (!whole) return { deadline, idempotent };
  const meta: Meta = {};
  if (deadline !== undefined) meta.deadline = deadline;
  if (texts.reqId !== undefined) meta.reqId = texts.reqId;
  if (texts.caller !== undefined) meta.caller = texts.caller;
  if (idempotent) meta.idempotent = true;
  if (texts.user !== undefined) meta.user = texts.user;
  return meta;
}

/** The bytes of the string at `at` as [start, end), or undefined when no whole string starts there. */
function stringAt(f: Buffer, at: number): [number, number] | undefined {
  const tag = f[at];
  let length: number;
  let start: number;
  if (tag >= 0xa0 && tag <= 0xbf) [length, start] = [tag - 0xa0, at + 1];
  else if (tag === 0xd9 && at + 1 < f.length) [length, start] = [f[at + 1], at + 2];
  else if (tag === 0xda && at + 2 < f.length) [length, start] = [f.readUInt16BE(at + 1), at + 3];
  else return undefined;
  return start + length <= f.length ? [start, start + length] : undefined;
}

/** Where the scalar value at `at` ends; -1 for a value this reader leaves to the decoder, or one cut short. */
function skip(f: Buffer, at: number): number {
  if (at >= f.length) return -1;
  const tag = f[at];
  let end: number;
  if (tag <= 0x7f || tag >= 0xe0 || tag === 0xc0 || tag === 0xc2 || tag === 0xc3) end = at + 1;
  else if (tag >= 0xa0 && tag <= 0xbf) end = at + 1 + (tag - 0xa0);
  else if (tag === 0xd9 || tag === 0xda) return stringAt(f, at)?.[1] ?? -1;
  else if (tag >= 0xca && tag <= 0xd3) end = at + 1 + numberBytes(tag);
  else return -1;
  return end <= f.length ? end : -1;
}
