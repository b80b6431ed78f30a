/**
 * What the broker needs of a request's metadata frame (docs/PROTOCOL.md §7), its `deadline` and
 * `idempotent`, read from the frame's bytes without decoding the rest: no object, no string is
 * made for the other keys. A frame this reader is not sure of (nested values, bin, ext, a key
 * that is not a string, trailing bytes…) is decoded whole by `decodeMeta`, so that both answer
 * the same for every frame.
 */
import { decodeMeta } from './codec';
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
const PROTO = Buffer.from('__proto__');

/** `deadline` (a finite number) and `idempotent` (true) of a metadata frame, as `decodeMeta` reads them. */
export function peekRouteMeta(frame: Buffer | undefined): RouteMeta {
  if (frame === undefined || frame.length === 0) return NONE;
  const read = scan(frame);
  if (read !== undefined) return read;
  const meta = decodeMeta(frame);
  return { deadline: meta.deadline, idempotent: meta.idempotent === true };
}

/** The scan itself; undefined when the frame holds something it leaves to the full decoder. */
function scan(f: Buffer): RouteMeta | undefined {
  const tag = f[0];
  let count: number;
  let at: number;
  if (tag >= 0x80 && tag <= 0x8f) [count, at] = [tag - 0x80, 1];
  else if (tag === 0xde && f.length >= 3) [count, at] = [f.readUInt16BE(1), 3];
  else return undefined;
  let deadline: number | undefined;
  let idempotent = false;
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
    }
    at = next;
  }
  return at === f.length ? { deadline, idempotent } : undefined;
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
