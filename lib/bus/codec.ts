/**
 * The body of every bus message: msgpack-RPC (https://github.com/msgpack-rpc/msgpack-rpc/blob/master/spec.md)
 *   request      [0, msgid, method, params]
 *   response     [1, msgid, error, result]
 *   notification [2, method, params]
 * and the optional metadata frame that follows it (a msgpack map, docs/PROTOCOL.md).
 * Integers up to 2^53−1 are written as msgpack integers (uint64/int64), never floats,
 * so a session key reaches a Python or Ruby worker as an integer.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { WireError } from '../errors';

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
}

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** msgpack-encode any value into a Buffer that shares no memory with the encoder. */
export function pack(value: unknown): Buffer {
  const bytes = encoder.encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** msgpack-decode; throws on malformed input or trailing bytes. */
export function unpack(frame: Uint8Array): unknown {
  return decoder.decode(frame);
}

export function encodeRequest(msgid: number, method: string, params: unknown[]): Buffer {
  return pack([REQUEST_TYPE, msgid, method, params]);
}

export function encodeResponse(msgid: number, error: WireError | null, result: unknown): Buffer {
  return pack([RESPONSE_TYPE, msgid, error, error === null ? (result === undefined ? null : result) : null]);
}

export function encodeNotification(method: string, params: unknown[]): Buffer {
  return pack([NOTIFICATION_TYPE, method, params]);
}

/** Decode and check a msgpack-RPC message; throws a plain Error naming what is wrong. */
export function decodeMessage(frame: Uint8Array): RpcMessage {
  const m = unpack(frame);
  if (!Array.isArray(m)) throw new Error('body is not a msgpack array');
  switch (m[0]) {
    case REQUEST_TYPE:
      if (m.length !== 4 || !isMsgid(m[1]) || typeof m[2] !== 'string' || !Array.isArray(m[3])) throw new Error('request must be [0, msgid, method, params]');
      return { type: 0, msgid: m[1], method: m[2], params: m[3] };
    case RESPONSE_TYPE:
      if (m.length !== 4 || !isMsgid(m[1])) throw new Error('response must be [1, msgid, error, result]');
      return { type: 1, msgid: m[1], error: m[2], result: m[3] };
    case NOTIFICATION_TYPE:
      if (m.length !== 3 || typeof m[1] !== 'string' || !Array.isArray(m[2])) throw new Error('notification must be [2, method, params]');
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

export function encodeMeta(meta: Meta): Buffer {
  return pack(meta);
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
    return meta;
  } catch {
    return {};
  }
}

function isMsgid(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_MSGID;
}
