/**
 * The body of every bus message: msgpack-RPC (https://github.com/msgpack-rpc/msgpack-rpc/blob/master/spec.md)
 *   request      [0, msgid, method, params]
 *   response     [1, msgid, error, result]
 *   notification [2, method, params]
 * and the optional metadata frame that follows it (a msgpack map, docs/PROTOCOL.md §7).
 * Integers up to 2^53−1 are written as msgpack integers (uint64/int64), never floats,
 * so a session key reaches a Python or Ruby worker as an integer.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { WireError } from '../errors';
import { readMsgpack, UNREAD } from './msgpack-read';

export const REQUEST_TYPE = 0;
export const RESPONSE_TYPE = 1;
export const NOTIFICATION_TYPE = 2;

/** Largest msgid; it wraps to 0 after this (msgpack-rpc: a 32-bit unsigned integer). */
export const MAX_MSGID = 0xffffffff;

export interface Request {
  type: 0;
  msgid: number;
  method: string;
  params: unknown[];
}
export interface Response {
  type: 1;
  msgid: number;
  error: unknown;
  result: unknown;
}
export interface Notification {
  type: 2;
  method: string;
  params: unknown[];
}
export type RpcMessage = Request | Response | Notification;

/** The metadata frame. Every field is optional; unknown fields are kept and ignored. */
export interface Meta {
  /** Absolute deadline, milliseconds since the Unix epoch. */
  deadline?: number;
  /** Request id born at the edge, for logs. */
  reqId?: string;
  /** Who calls: a service or process name. */
  caller?: string;
  /** The caller allows the broker to retry this call on another worker. */
  idempotent?: boolean;
  /**
   * The user the call is made for: the signed-in user on whose behalf the gateway calls a public
   * method (docs/PROTOCOL.md §14). Under CURVE the broker keeps it only from a key granted
   * act_for_users (docs/PROTOCOL.md §15); without CURVE it is what the caller says.
   */
  user?: string;
}

const encoder = new Encoder({ ignoreUndefined: true });

/** The Decoder decodes a string of more bytes than this with a TextDecoder. */
const TEXT_DECODER_ABOVE = 200;

/**
 * `decoder` with its strings kept whole. The Decoder reads a string of over TEXT_DECODER_ABOVE bytes with
 * a TextDecoder in its default mode, which drops a leading byte order mark (U+FEFF, bytes EF BB BF): a
 * message or a name that begins with one would reach its service without it. The mark is put back on
 * such a string, as it is on shorter ones and by lib/bus/msgpack-read.ts.
 */
function keepingByteOrderMarks(decoder: Decoder): Decoder {
  const inner = decoder as unknown as {
    pos: number;
    bytes: Uint8Array;
    decodeUtf8String(byteLength: number, headerOffset: number): string;
  };
  const decodeUtf8String = inner.decodeUtf8String.bind(inner);
  inner.decodeUtf8String = (byteLength: number, headerOffset: number): string => {
    const at = inner.pos + headerOffset;
    const bytes = inner.bytes;
    const s = decodeUtf8String(byteLength, headerOffset);
    const marked =
      byteLength > TEXT_DECODER_ABOVE && bytes[at] === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf;
    return marked ? `\uFEFF${s}` : s;
  };
  return decoder;
}

const decoder = keepingByteOrderMarks(new Decoder());

/**
 * msgpack-encode any value into a Buffer that shares no memory with the encoder: copied out of the
 * encoder's own buffer into one of Node's pool when small (the encoder's `encode` would make a new
 * ArrayBuffer for every message).
 */
export function pack(value: unknown): Buffer {
  const bytes = encoder.encodeSharedRef(value);
  const out = Buffer.allocUnsafe(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * msgpack-decode; throws on malformed input or trailing bytes. Most frames take lib/bus/msgpack-read.ts,
 * whose answer holds no view of the frame; the others take the Decoder, whose bins are views of the bytes
 * it reads: with `copy`, of a copy of the frame, so that a frame in a reused read buffer may be decoded.
 */
export function unpack(frame: Uint8Array, copy = false): unknown {
  const quick = readMsgpack(frame);
  if (quick !== UNREAD) return quick;
  return decodeFully(copy ? Buffer.from(frame) : frame);
}

/** The Decoder's answer for `frame`, strings kept whole (`keepingByteOrderMarks`): what `unpack` answers. */
export function decodeFully(frame: Uint8Array): unknown {
  return decoder.decode(frame);
}

export function encodeRequest(msgid: number, method: string, params: unknown[]): Buffer {
  const request = [REQUEST_TYPE, msgid, method, params];
  return packPlain(request) ?? pack(request);
}

/**
 * A response; msgid null only for an error answering a request whose msgid cannot be read (docs/PROTOCOL.md §6).
 * A `Packed` result is written as the bytes it holds.
 */
export function encodeResponse(msgid: number | null, error: WireError | null, result: unknown): Buffer {
  if (result instanceof Packed && error === null && msgid !== null) return packedResponse(msgid, result);
  const response = [RESPONSE_TYPE, msgid, error, error === null ? (result === undefined ? null : result) : null];
  return packPlain(response) ?? pack(response);
}

/**
 * A result encoded already: msgpack bytes in pieces, one after another, that a response carries as they are
 * instead of encoding a value (a reply made of items each encoded once and kept, lib/rpc/packed.ts).
 */
export class Packed {
  constructor(
    readonly chunks: readonly Uint8Array[],
    readonly byteLength: number,
  ) {}
}

/** A copy of `value`'s msgpack encoding in a buffer of its own, exactly its size: for keeping long. */
export function packOwn(value: unknown): Buffer {
  const bytes = encoder.encodeSharedRef(value);
  const out = Buffer.allocUnsafeSlow(bytes.length);
  out.set(bytes);
  return out;
}

/** The encoding of the one-entry map `{[key]: [items…]}`, each item given as its own encoding. */
export function packedMapOfList(key: string, items: readonly Uint8Array[]): Packed {
  const name = pack(key);
  const n = items.length;
  const head =
    n < 16
      ? Buffer.from([0x90 | n])
      : n < 0x10000
        ? Buffer.from([0xdc, n >>> 8, n & 0xff])
        : Buffer.from([0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  let size = 1 + name.length + head.length;
  for (let i = 0; i < n; i++) size += items[i].length;
  return new Packed([FIXMAP_ONE, name, head, ...items], size);
}

const FIXMAP_ONE = Buffer.from([0x81]);

/** `[1, msgid, nil, result]` around a packed result, in one buffer. */
function packedResponse(msgid: number, result: Packed): Buffer {
  // At most 1 + 1 + 9 + 1 bytes before the result: the msgid as the encoder writes a non-negative integer.
  const head = Buffer.allocUnsafe(12);
  head[0] = 0x94;
  head[1] = RESPONSE_TYPE;
  let at = writeUint(head, 2, msgid);
  head[at++] = 0xc0;
  const out = Buffer.allocUnsafe(at + result.byteLength);
  head.copy(out, 0, 0, at);
  for (const chunk of result.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export function encodeNotification(method: string, params: unknown[]): Buffer {
  return pack([NOTIFICATION_TYPE, method, params]);
}

/** Decode and check a msgpack-RPC message (`copy`: see `unpack`); throws a plain Error naming what is wrong. */
export function decodeMessage(frame: Uint8Array, copy = false): RpcMessage {
  const m = unpack(frame, copy);
  if (!Array.isArray(m)) throw new Error('body is not a msgpack array');
  switch (m[0]) {
    case REQUEST_TYPE:
      if (m.length !== 4 || !isMsgid(m[1]) || typeof m[2] !== 'string' || !Array.isArray(m[3]))
        throw new Error('request must be [0, msgid, method, params]');
      return { type: 0, msgid: m[1], method: m[2], params: m[3] };
    case RESPONSE_TYPE:
      if (m.length !== 4 || !isMsgid(m[1])) throw new Error('response must be [1, msgid, error, result]');
      return { type: 1, msgid: m[1], error: m[2], result: m[3] };
    case NOTIFICATION_TYPE:
      if (m.length !== 3 || typeof m[1] !== 'string' || !Array.isArray(m[2]))
        throw new Error('notification must be [2, method, params]');
      return { type: 2, method: m[1], params: m[2] };
    default:
      throw new Error('unknown msgpack-rpc message type');
  }
}

/** The msgid of a request body, or null when the body is not a msgpack-RPC request. */
export function peekMsgid(frame: Uint8Array | undefined): number | null {
  if (frame === undefined) return null;
  try {
    const m = decodeMessage(frame);
    return m.type === REQUEST_TYPE ? m.msgid : null;
  } catch {
    return null;
  }
}

/**
 * The msgid of a msgpack-RPC request (`type` 0) or response (`type` 1) read from its first
 * bytes, without decoding the rest: null when the frame does not start that way. The broker
 * reads every request and every reply from a worker with slots this way, so it stays cheap
 * whatever the size of the params or the result.
 */
export function peekId(frame: Uint8Array | undefined, type: typeof REQUEST_TYPE | typeof RESPONSE_TYPE): number | null {
  // fixarray of 4 (0x94), the type as a positive fixint, then the msgid.
  if (frame === undefined || frame.length < 4 || frame[0] !== 0x94 || frame[1] !== type) return null;
  const tag = frame[2];
  if (tag < 0x80) return tag; // positive fixint
  // uint 8/16/32/64 (0xcc..0xcf) or, as some encoders write non-negative ints, int 8/16/32/64 (0xd0..0xd3).
  const width = tag >= 0xcc && tag <= 0xcf ? 1 << (tag - 0xcc) : tag >= 0xd0 && tag <= 0xd3 ? 1 << (tag - 0xd0) : 0;
  if (width === 0 || frame.length < 3 + width + 1) return null;
  if (tag >= 0xd0 && frame[3] >= 0x80) return null; // negative
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + frame[3 + i];
  return value <= MAX_MSGID ? value : null;
}

/** What a worker offers in READY's optional options frame (docs/PROTOCOL.md §3). */
export interface ReadyOptions {
  /** Requests the worker socket holds at once. */
  slots: number;
}

/** Largest `slots` a worker may offer. */
export const MAX_SLOTS = 1024;

export function encodeReadyOptions(options: ReadyOptions): Buffer {
  return pack(options);
}

/** Decode READY's options frame: undefined when it is not a map or `slots` is not an integer in 1..MAX_SLOTS. */
export function decodeReadyOptions(frame: Uint8Array): ReadyOptions | undefined {
  const m = decodeOptionsMap(frame);
  if (m === undefined) return undefined;
  const slots = m.slots ?? 1;
  if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) return undefined;
  return { slots };
}

/**
 * The options frame a draining worker sends after HEARTBEAT, `{"slots": 0}` (Agora's
 * extension, docs/PROTOCOL.md §3): send this socket no more requests; it answers what it holds,
 * then says DISCONNECT.
 */
export const DRAIN_OPTIONS = pack({ slots: 0 });

/**
 * What a HEARTBEAT's options frame asks: 'drain' for `slots` 0, 'none' for a map that asks
 * nothing known today (other keys and values are reserved and ignored), undefined when the
 * frame is not a msgpack map.
 */
export function decodeHeartbeatOptions(frame: Uint8Array): 'drain' | 'none' | undefined {
  const m = decodeOptionsMap(frame);
  if (m === undefined) return undefined;
  return m.slots === 0 ? 'drain' : 'none';
}

/** A worker's options frame as a map; undefined when it is not a msgpack map. */
function decodeOptionsMap(frame: Uint8Array): Record<string, unknown> | undefined {
  try {
    const m = unpack(frame);
    return m === null || typeof m !== 'object' || Array.isArray(m) || m instanceof Uint8Array
      ? undefined
      : (m as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** The metadata frame: the bytes `pack(meta)` writes (`packPlain` when it can, the encoder otherwise). */
export function encodeMeta(meta: Meta): Buffer {
  return packPlain(meta) ?? pack(meta);
}

/** The keys of a call's metadata as msgpack fixstr, in the order `encodeCallMeta` writes them. */
const META_KEYS = (['deadline', 'reqId', 'caller', 'idempotent', 'user'] as const).map((k) => pack(k));

/**
 * A call's metadata frame without making its object: the bytes `encodeMeta` writes for `{deadline, reqId, caller,
 * idempotent, user}` made in that order, those undefined left out (and `idempotent` only when true), which is how
 * BusClient makes it. What `packPlain` would not write goes through that object and `encodeMeta`.
 */
export function encodeCallMeta(
  deadline: number,
  reqId: string | undefined,
  caller: string | undefined,
  idempotent: boolean,
  user: string | undefined,
): Buffer {
  let at = 1;
  let count = 0;
  const write = (key: number, value: string | number | true): void => {
    if (at < 0) return;
    count++;
    const k = META_KEYS[key];
    for (let i = 0; i < k.length; i++) scratch[at + i] = k[i];
    at = writePlain(value, at + k.length, 1);
  };
  write(0, deadline);
  if (reqId !== undefined) write(1, reqId);
  if (caller !== undefined) write(2, caller);
  if (idempotent) write(3, true);
  if (user !== undefined) write(4, user);
  if (at < 0) {
    const meta: Meta = { deadline };
    if (reqId !== undefined) meta.reqId = reqId;
    if (caller !== undefined) meta.caller = caller;
    if (idempotent) meta.idempotent = true;
    if (user !== undefined) meta.user = user;
    return encodeMeta(meta);
  }
  scratch[0] = 0x80 | count; // fixmap
  return copyOut(at);
}

/** Where `packPlain` writes before copying out; what would not fit is left to the encoder. */
const scratch = Buffer.allocUnsafe(4096);
/** The most one value writes at once (a str 8 of 255 characters with its header); past this, no room. */
const ROOM = scratch.length - 260;
/** Arrays and maps nested deeper than this are left to the encoder. */
const PLAIN_DEPTH = 4;

/**
 * A plain value as `pack` writes it, byte for byte, for a fraction of its cost (no encoder): null, a
 * boolean, an integer from 0 to 2^53 - 1, ASCII text of fewer than 256 characters, and arrays and plain
 * objects of fewer than 16 of these (an undefined element written as nil, an undefined property left
 * out, as the encoder does), up to 4 levels deep, 4 KB in all; undefined for anything else (other
 * text, negative or fractional numbers, binaries, dates, larger values), which the encoder writes.
 * A call's request, [0, msgid, method, [params]], and its metadata are usually such values.
 */
export function packPlain(value: unknown): Buffer | undefined {
  const end = writePlain(value, 0, 0);
  return end < 0 ? undefined : copyOut(end);
}

/** Below this many bytes a copy out of the scratch buffer is a loop: Buffer's `copy` costs more for so few. */
const COPY_LOOP_BELOW = 96;

/** The first `end` bytes of the scratch buffer, in a buffer of their own. */
function copyOut(end: number): Buffer {
  const out = Buffer.allocUnsafe(end);
  if (end < COPY_LOOP_BELOW) for (let i = 0; i < end; i++) out[i] = scratch[i];
  else scratch.copy(out, 0, 0, end);
  return out;
}

/** Write `value` into the scratch buffer at `at`: the offset after it, or -1 where it is not plain. */
function writePlain(value: unknown, at: number, depth: number): number {
  if (at > ROOM) return -1;
  switch (typeof value) {
    case 'string':
      return value.length < 256 ? writeAscii(scratch, at, value) : -1;
    case 'number':
      return Number.isSafeInteger(value) && value >= 0 ? writeUint(scratch, at, value) : -1;
    case 'boolean':
      scratch[at] = value ? 0xc3 : 0xc2;
      return at + 1;
    case 'object':
      if (value === null) {
        scratch[at] = 0xc0;
        return at + 1;
      }
      if (depth >= PLAIN_DEPTH) return -1;
      if (Array.isArray(value)) return writePlainArray(value as unknown[], at, depth);
      return isPlainObject(value) ? writePlainMap(value as Record<string, unknown>, at, depth) : -1;
    default:
      return -1;
  }
}

function writePlainArray(items: unknown[], at: number, depth: number): number {
  if (items.length > 15) return -1;
  scratch[at++] = 0x90 | items.length; // fixarray
  for (let i = 0; i < items.length && at >= 0; i++) {
    const item = items[i];
    if (item === undefined) scratch[at++] = 0xc0;
    else at = writePlain(item, at, depth + 1);
  }
  return at;
}

function writePlainMap(map: Record<string, unknown>, at: number, depth: number): number {
  const keys = Object.keys(map);
  // fixmap: its count, of the keys whose value is not undefined, is known once they are written.
  const head = at++;
  let count = 0;
  for (let i = 0; i < keys.length && at >= 0; i++) {
    const key = keys[i];
    const item = map[key];
    if (item === undefined) continue;
    if (++count > 15) return -1;
    at = writePlain(key, at, depth + 1);
    if (at >= 0) at = writePlain(item, at, depth + 1);
  }
  scratch[head] = 0x80 | count;
  return at;
}

/** An object the encoder writes as a map of its own keys (no extension type, such as a Date, applies). */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * fixstr or str 8, then the characters (fewer than 256), in one pass: the offset after, or -1 when one is not
 * ASCII (what was written then is left for the next value to write over).
 */
function writeAscii(out: Buffer, at: number, text: string): number {
  const n = text.length;
  if (n < 32) out[at++] = 0xa0 | n;
  else {
    out[at++] = 0xd9;
    out[at++] = n;
  }
  let all = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    all |= c;
    out[at++] = c;
  }
  return all > 0x7f ? -1 : at;
}

/** The smallest of positive fixint, uint 8, 16, 32 and 64, as the encoder picks; the offset after. */
function writeUint(out: Buffer, at: number, value: number): number {
  if (value < 0x80) out[at++] = value;
  else if (value < 0x100) {
    out[at++] = 0xcc;
    out[at++] = value;
  } else if (value < 0x10000) {
    out[at++] = 0xcd;
    out.writeUInt16BE(value, at);
    at += 2;
  } else if (value < 0x100000000) {
    out[at++] = 0xce;
    out.writeUInt32BE(value, at);
    at += 4;
  } else {
    out[at++] = 0xcf;
    out.writeUInt32BE(Math.floor(value / 0x100000000), at);
    out.writeUInt32BE(value % 0x100000000, at + 4);
    at += 8;
  }
  return at;
}

/** Decode a metadata frame; anything that is not a map yields `{}` (a frame we cannot read is ignored). */
export function decodeMeta(frame: Uint8Array | undefined): Meta {
  if (frame === undefined || frame.length === 0) return {};
  try {
    const m = unpack(frame);
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return {};
    const out = m as Record<string, unknown>;
    const meta: Meta = {};
    if (typeof out.deadline === 'number' && Number.isFinite(out.deadline)) meta.deadline = out.deadline;
    if (typeof out.reqId === 'string') meta.reqId = out.reqId;
    if (typeof out.caller === 'string') meta.caller = out.caller;
    if (out.idempotent === true) meta.idempotent = true;
    if (typeof out.user === 'string') meta.user = out.user;
    return meta;
  } catch {
    return {};
  }
}

/**
 * The metadata frame as the broker forwards it under CURVE (docs/PROTOCOL.md §15): `caller`
 * set to the name of the key that sent the call, `user` dropped unless `keepUser`; every other
 * key kept as it came. A frame that is absent or not a map becomes a map of these alone.
 */
export function vouchMeta(frame: Uint8Array | undefined, caller: string, keepUser: boolean): Buffer {
  let m: Record<string, unknown> = {};
  if (frame !== undefined && frame.length > 0) {
    try {
      const v = unpack(frame);
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
        // The usual frame, a small map (fixmap) with no caller and no user to drop: its bytes as
        // they came with the caller entry appended, instead of the map decoded and encoded again.
        const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(v, key);
        if (frame[0] >= FIXMAP && frame[0] < FIXMAP_LAST && !has('caller') && (keepUser || !has('user')))
          return withCaller(frame, caller);
        m = { ...(v as Record<string, unknown>) };
      }
    } catch {
      // not msgpack: replaced
    }
  }
  m.caller = caller;
  if (!keepUser) delete m.user;
  return pack(m);
}

/** msgpack fixmap: 0x80 | its number of entries (at most 15). */
const FIXMAP = 0x80;
const FIXMAP_LAST = 0x8f;
/** The `caller` entry (key, then value) encoded, by caller name: as many as the allow-list has names. */
const callerEntries = new Map<string, Buffer>();

/** The fixmap `frame` with one more entry, `caller`: its count plus one, its entries, then that entry. */
function withCaller(frame: Uint8Array, caller: string): Buffer {
  let entry = callerEntries.get(caller);
  if (entry === undefined) {
    entry = Buffer.concat([pack('caller'), pack(caller)]);
    callerEntries.set(caller, entry);
  }
  const out = Buffer.allocUnsafe(frame.length + entry.length);
  out[0] = frame[0] + 1;
  out.set(frame.subarray(1), 1);
  out.set(entry, frame.length);
  return out;
}

/**
 * The method a msgpack-RPC request `[0, msgid, method, params]` or notification
 * `[2, method, params]` names, read from its first bytes; undefined when the frame does not
 * start that way.
 */
export function peekMethod(frame: Uint8Array | undefined): string | undefined {
  if (frame === undefined || frame.length < 3) return undefined;
  let at: number;
  if (frame[0] === 0x94 && frame[1] === REQUEST_TYPE) {
    const tag = frame[2];
    if (tag < 0x80) at = 3;
    else if (tag >= 0xcc && tag <= 0xd3) at = 3 + (1 << ((tag - 0xcc) % 4));
    else return undefined;
  } else if (frame[0] === 0x93 && frame[1] === NOTIFICATION_TYPE) {
    at = 2;
  } else {
    return undefined;
  }
  const tag = frame[at];
  let length: number;
  let start: number;
  if (tag >= 0xa0 && tag <= 0xbf) [length, start] = [tag - 0xa0, at + 1];
  else if (tag === 0xd9 && frame.length > at + 1) [length, start] = [frame[at + 1], at + 2];
  else if (tag === 0xda && frame.length > at + 2) [length, start] = [(frame[at + 1] << 8) | frame[at + 2], at + 3];
  else return undefined;
  if (start + length > frame.length) return undefined;
  return Buffer.from(frame.buffer, frame.byteOffset + start, length).toString('utf8');
}

function isMsgid(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_MSGID;
}
