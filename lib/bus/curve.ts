/**
 * What the two sides of the CURVE mechanism share (ZeroMQ RFC 26 CurveZMQ, carried by ZMTP 3
 * as RFC 25 ZMTP-CURVE): the error every failure is reported with, the command bodies' layout
 * helpers, and the MESSAGE codec that boxes each frame once the handshake is done.
 *
 * The mechanism is a pure state machine over command bodies, the bytes of one ZMTP command
 * frame: name length, name, data (RFC 23 "Commands"). The connection writes what it is given
 * and passes on what it reads; it never sees a key. libzmq is the reference for every byte.
 */
import {
  heapArea,
  heapAreaBytes,
  heapBytes,
  KEY_BYTES,
  MAC_BYTES,
  NONCE_BYTES,
  openInPlace,
  sealInPlace,
} from './sodium';
import type { PeerProperties } from './properties';

/** The greeting's mechanism name (RFC 23 "The greeting"). */
export const CURVE_MECHANISM = 'CURVE';

/** Bits of a MESSAGE's flags octet (RFC 26 `payload-flags`; libzmq also carries COMMAND there). */
export const MESSAGE_MORE = 0x01;
/** The frame is a ZMTP command (PING, PONG, …), boxed like any message once the handshake is done. */
export const MESSAGE_COMMAND = 0x02;

export type CurveErrorCode =
  /** A command this state does not accept, or any use after a failure. */
  | 'CURVE_UNEXPECTED'
  /** A command of the wrong size or layout. */
  | 'CURVE_MALFORMED'
  /** A box that does not open, or opens to the wrong content (a wrong key, a tampered byte). */
  | 'CURVE_CRYPTO'
  /** A short nonce not above the last one received (a replay or reordering). */
  | 'CURVE_SEQUENCE'
  /** Metadata properties that do not parse. */
  | 'CURVE_METADATA'
  /** The server refused the client's long-term key; `reply` is the ERROR command to send it. */
  | 'CURVE_REFUSED'
  /** The server sent ERROR; the message has its reason. */
  | 'CURVE_PEER_ERROR';

/**
 * Every failure of the mechanism. After one the connection must be closed (RFC 26: the peer
 * "SHALL reject and disconnect"), after writing `reply` when there is one.
 */
export class CurveError extends Error {
  constructor(
    readonly code: CurveErrorCode,
    message: string,
    /** A command body to send the peer before closing (the server's ERROR). */
    readonly reply?: Buffer,
  ) {
    super(message);
    this.name = 'CurveError';
  }
}

/** What the handshake established about the peer. */
export interface CurvePeer {
  /** The peer's long-term public key: the client's C, as authorized (server side), or S (client side). */
  publicKey: Buffer;
  /** The peer's metadata (Socket-Type, Identity, …). */
  properties: PeerProperties;
}

/** The outcome of one handshake command. */
export interface CurveStep {
  /** Command bodies to send now, in order, each as one ZMTP command frame. */
  send: Buffer[];
  /** Set when this command completed the handshake. */
  ready?: CurvePeer;
}

/** One frame out of a MESSAGE. */
export interface CurveFrame {
  frame: Buffer;
  /** MESSAGE_MORE and MESSAGE_COMMAND bits. */
  flags: number;
}

/** `\x07MESSAGE`, then the 8-byte short nonce, then the box. */
const MESSAGE_NAME = Buffer.from('\x07MESSAGE', 'latin1');
const MESSAGE_HEAD = MESSAGE_NAME.length + 8;
const TWO_32 = 0x1_0000_0000;

/** The size of the MESSAGE command body boxing a frame of `frameBytes` octets. */
export function messageBytes(frameBytes: number): number {
  return MESSAGE_HEAD + 1 + frameBytes + MAC_BYTES;
}

/** `[name.length][name]`, the start of a command body. */
export function commandName(name: string): Buffer {
  return Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1')]);
}

/** The name of the command `body` holds, or undefined when it is too short to hold one. */
export function nameOf(body: Buffer): string | undefined {
  if (body.length < 1 || body.length < 1 + body[0]) return undefined;
  return body.toString('latin1', 1, 1 + body[0]);
}

/** A 24-byte nonce: `prefix` (ASCII) then `tail`. */
export function nonce(prefix: string, tail: Uint8Array): Buffer {
  const n = Buffer.allocUnsafe(NONCE_BYTES);
  n.write(prefix, 0, 'latin1');
  n.set(tail, prefix.length);
  return n;
}

/** A short nonce as 8 network-order bytes. */
export function shortNonce(counter: number): Buffer {
  const n = Buffer.allocUnsafe(8);
  n.writeUInt32BE(Math.floor(counter / TWO_32), 0);
  n.writeUInt32BE(counter >>> 0, 4);
  return n;
}

/**
 * The 8-byte short nonce at `at` as a number. Above 2^53 it rounds, but monotonically, so
 * "greater than the last one" still never accepts a nonce that is not.
 */
export function readShortNonce(body: Buffer, at: number): number {
  return body.readUInt32BE(at) * TWO_32 + body.readUInt32BE(at + 4);
}

/** An ERROR command body (RFC 26 `error`): the reason, at most 255 octets. */
export function errorCommand(reason: string): Buffer {
  const text = Buffer.from(reason, 'latin1').subarray(0, 255);
  return Buffer.concat([commandName('ERROR'), Buffer.from([text.length]), text]);
}

/** The reason an ERROR command body gives, or undefined when it is malformed. */
export function errorReason(body: Buffer): string | undefined {
  if (body.length < 7 || body[6] > body.length - 7) return undefined;
  return body.toString('latin1', 7, 7 + body[6]);
}

export function assertKey(key: Buffer, what: string): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`${what} must be ${KEY_BYTES} bytes, not ${key.length}`);
}

/** ZMTP frame header flag of a frame whose size takes 8 octets (RFC 23 "Framing"). */
const LONG_FRAME = 0x02;
/** The MESSAGE flags octet's allowed bits. */
const MESSAGE_FLAGS = MESSAGE_MORE | MESSAGE_COMMAND;
/** Frames up to this size are copied into and out of libsodium's heap a byte at a time (cheaper than a view). */
const COPY_LOOP_BELOW = 32;

/** Copy `src[from, to)` into `heap` at `at`. */
function copyIn(heap: Uint8Array, at: number, src: Uint8Array, from: number, to: number): void {
  if (to - from < COPY_LOOP_BELOW) for (let i = from; i < to; i++) heap[at++] = src[i];
  else heap.set(src.subarray(from, to), at);
}

/** An empty frame: one for all, since no byte of it can change (a new one costs an ArrayBuffer each). */
const EMPTY = Buffer.alloc(0);

/** `heap[from, from + bytes)` as a new Buffer. */
function copyOut(heap: Uint8Array, from: number, bytes: number): Buffer {
  if (bytes === 0) return EMPTY;
  const out = Buffer.allocUnsafe(bytes);
  if (bytes < COPY_LOOP_BELOW) for (let i = 0; i < bytes; i++) out[i] = heap[from + i];
  else out.set(heap.subarray(from, from + bytes));
  return out;
}

/** Write `n` as 8 network-order octets into `heap` at `at`, and at `copy` too. */
function writeShortNonce(heap: Uint8Array, at: number, copy: number, n: number): void {
  let high = Math.floor(n / TWO_32);
  let low = n >>> 0;
  for (let i = 3; i >= 0; i--) {
    heap[at + i] = heap[copy + i] = high & 0xff;
    heap[at + 4 + i] = heap[copy + 4 + i] = low & 0xff;
    high >>>= 8;
    low >>>= 8;
  }
}

/** Whether `buf` holds `\x07MESSAGE` at `at`. */
function isMessage(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < MESSAGE_NAME.length; i++) if (buf[at + i] !== MESSAGE_NAME[i]) return false;
  return true;
}

/**
 * The head of the heap area (lib/bus/sodium.ts `heapArea`) while MESSAGEs are boxed or opened:
 * one session's shared key and the nonces it sends and receives with (each a 16-byte prefix
 * then the short nonce), then the boxes.
 */
const KEY_AT = 0;
const SEND_NONCE_AT = KEY_AT + KEY_BYTES;
const RECEIVE_NONCE_AT = SEND_NONCE_AT + NONCE_BYTES;
const BOXES_AT = RECEIVE_NONCE_AT + NONCE_BYTES;
const PREFIX_BYTES = 16;

/**
 * Which session's key is staged in the area's head, and at which address: a session boxing or
 * opening several frames in a row stages it once. The head is wiped at the end of the turn of
 * the event loop that staged it (and at once when the area moves or the session fails), so the
 * key stays in libsodium's heap no longer than the turn that used it.
 */
let stagedFor: CurveSession | undefined;
let stagedAt = -1;
let wipeQueued = false;

function wipeStaged(): void {
  wipeQueued = false;
  if (stagedAt >= 0) heapBytes().fill(0, stagedAt, stagedAt + BOXES_AT);
  stagedFor = undefined;
  stagedAt = -1;
}

/**
 * The heap area with room for `bytes` after its head, with `session`'s key and nonce prefixes
 * staged there: its address.
 */
function stage(session: CurveSession, key: Buffer, send: Buffer, receive: Buffer, bytes: number): number {
  // Another session's key, or an area about to be replaced (perhaps by one at the same address): staged anew.
  if (stagedAt >= 0 && (stagedFor !== session || BOXES_AT + bytes > heapAreaBytes())) wipeStaged();
  let at: number;
  try {
    at = heapArea(BOXES_AT + bytes);
  } catch (e) {
    // The area is gone (freed, wiped): nothing is staged any more.
    stagedFor = undefined;
    stagedAt = -1;
    throw e;
  }
  if (stagedFor === session && stagedAt === at) return at;
  const heap = heapBytes();
  heap.set(key, at + KEY_AT);
  heap.set(send, at + SEND_NONCE_AT);
  heap.set(receive, at + RECEIVE_NONCE_AT);
  stagedFor = session;
  stagedAt = at;
  if (!wipeQueued) {
    wipeQueued = true;
    setImmediate(wipeStaged);
  }
  return at;
}

/**
 * One side's MESSAGE codec, and the short-nonce counters around it: ours counts every
 * command we box from 1 (HELLO, INITIATE, then MESSAGEs for the client; READY, then MESSAGEs
 * for the server), the peer's must only grow (RFC 26 "The HELLO Command").
 *
 * Boxes are made and opened in place in libsodium's heap (lib/bus/sodium.ts `heapArea`): a
 * whole message is laid out there with its wire bytes around each box and leaves in one copy;
 * a received frame is copied in once and its plain text out once. The shared key is staged
 * there for the turn of the event loop that uses it (`stage`).
 */
export abstract class CurveSession {
  /** The short nonce of the next command we box. */
  protected nextNonce = 1;
  /** The last short nonce the peer used. */
  protected peerNonce = 0;
  /** crypto_box_beforenm of the two transient keys, set during the handshake. */
  protected shared: Buffer | undefined;
  /** After a failure every call fails. */
  protected failed = false;
  private done = false;

  /** The first 16 octets of the nonces of the MESSAGEs we send and of those we receive. */
  private readonly sendPrefix: Buffer;
  private readonly receivePrefix: Buffer;

  constructor(
    /** "CurveZMQMESSAGEC" or "CurveZMQMESSAGES": the prefix of the nonces we send MESSAGEs with. */
    sendPrefix: string,
    receivePrefix: string,
  ) {
    this.sendPrefix = Buffer.from(sendPrefix, 'latin1');
    this.receivePrefix = Buffer.from(receivePrefix, 'latin1');
  }

  /** Whether the handshake is complete, so that MESSAGEs may flow. */
  get ready(): boolean {
    return this.done && !this.failed;
  }

  protected finish(): void {
    this.done = true;
  }

  /** Fail: record it, and give the error to throw. */
  protected fail(code: CurveErrorCode, message: string, reply?: Buffer): CurveError {
    this.failed = true;
    if (stagedFor === this) wipeStaged();
    if (this.shared !== undefined) this.shared.fill(0);
    return new CurveError(code, message, reply);
  }

  /** The next short nonce to send with, counted. */
  protected takeNonce(): Buffer {
    return shortNonce(this.nextNonce++);
  }

  /** Check that the peer's short nonce at `at` grows, and remember it. */
  protected acceptNonce(body: Buffer, at: number): void {
    const n = readShortNonce(body, at);
    if (n <= this.peerNonce) throw this.fail('CURVE_SEQUENCE', `short nonce ${n} does not follow ${this.peerNonce}`);
    this.peerNonce = n;
  }

  /**
   * Box one frame as a MESSAGE command body (RFC 26 `message`), to be sent as one ZMTP frame
   * with no flags (libzmq's encoding: MORE and COMMAND travel inside the box).
   */
  encode(frame: Uint8Array, flags = 0): Buffer {
    return this.seal([frame], 0, flags, false);
  }

  /**
   * Box `frames` from index `from` as MESSAGEs, each as the body of a ZMTP data frame with no
   * flags (RFC 25): the wire bytes of them all, in one Buffer. Every frame but the last carries
   * MESSAGE_MORE, the last `lastFlags`; each takes the next short nonce, in order.
   */
  sealFrames(frames: readonly Uint8Array[], from = 0, lastFlags = 0): Buffer {
    return this.seal(frames, from, lastFlags, true);
  }

  private seal(frames: readonly Uint8Array[], from: number, lastFlags: number, framed: boolean): Buffer {
    const shared = this.shared;
    if (!this.ready || shared === undefined) throw new CurveError('CURVE_UNEXPECTED', 'the handshake is not done');
    const last = frames.length - 1;
    let bytes = 0;
    for (let i = from; i <= last; i++) {
      const size = messageBytes(frames[i].length);
      bytes += (framed ? (size <= 255 ? 2 : 9) : 0) + size;
    }
    // The wire bytes after the area's head, each box made in place among them.
    const area = stage(this, shared, this.sendPrefix, this.receivePrefix, bytes);
    const heap = heapBytes();
    const key = area + KEY_AT;
    const nonceAt = area + SEND_NONCE_AT;
    const start = area + BOXES_AT;
    let at = start;
    for (let i = from; i <= last; i++) {
      const frame = frames[i];
      const size = messageBytes(frame.length);
      if (framed && size <= 255) {
        heap[at] = 0;
        heap[at + 1] = size;
        at += 2;
      } else if (framed) {
        heap[at] = LONG_FRAME;
        for (let b = 1; b <= 4; b++) heap[at + b] = 0;
        for (let b = 8, v = size; b >= 5; b--, v >>>= 8) heap[at + b] = v & 0xff;
        at += 9;
      }
      for (let b = 0; b < MESSAGE_NAME.length; b++) heap[at + b] = MESSAGE_NAME[b];
      writeShortNonce(heap, nonceAt + PREFIX_BYTES, at + MESSAGE_NAME.length, this.nextNonce++);
      const box = at + MESSAGE_HEAD;
      heap[box + MAC_BYTES] = (i < last ? MESSAGE_MORE : lastFlags) & MESSAGE_FLAGS;
      copyIn(heap, box + MAC_BYTES + 1, frame, 0, frame.length);
      sealInPlace(box, 1 + frame.length, nonceAt, key);
      at = box + MAC_BYTES + 1 + frame.length;
    }
    return copyOut(heap, start, at - start);
  }

  /** Open a MESSAGE command body into its frame and flags; throws a CurveError for anything else. */
  decode(body: Buffer): CurveFrame {
    return this.open(body, 0, body.length);
  }

  /**
   * `decode` of the MESSAGE command body `buf[start, end)` (a frame where it lies in the read
   * chunk); the frame it answers is a copy.
   */
  open(buf: Buffer, start: number, end: number): CurveFrame {
    const shared = this.shared;
    if (!this.ready || shared === undefined) throw this.fail('CURVE_UNEXPECTED', 'the handshake is not done');
    const length = end - start;
    if (length < MESSAGE_NAME.length || !isMessage(buf, start)) {
      const name = nameOf(buf.subarray(start, end)) ?? '';
      throw this.fail('CURVE_UNEXPECTED', `expected MESSAGE, got ${JSON.stringify(name)}`);
    }
    if (length < MESSAGE_HEAD + MAC_BYTES + 1) throw this.fail('CURVE_MALFORMED', 'MESSAGE is too short');
    const n = readShortNonce(buf, start + MESSAGE_NAME.length);
    if (n <= this.peerNonce) throw this.fail('CURVE_SEQUENCE', `short nonce ${n} does not follow ${this.peerNonce}`);
    // The short nonce after its prefix in the area's head, the box after the head.
    const boxBytes = length - MESSAGE_HEAD;
    const area = stage(this, shared, this.sendPrefix, this.receivePrefix, boxBytes);
    const heap = heapBytes();
    const nonceAt = area + RECEIVE_NONCE_AT;
    const box = area + BOXES_AT;
    copyIn(heap, nonceAt + PREFIX_BYTES, buf, start + MESSAGE_NAME.length, start + MESSAGE_HEAD);
    copyIn(heap, box, buf, start + MESSAGE_HEAD, end);
    if (!openInPlace(box, boxBytes, nonceAt, area + KEY_AT))
      throw this.fail('CURVE_CRYPTO', 'MESSAGE box does not open');
    const flags = heap[box + MAC_BYTES];
    if ((flags & ~MESSAGE_FLAGS) !== 0) throw this.fail('CURVE_MALFORMED', `MESSAGE flags ${flags} set reserved bits`);
    this.peerNonce = n;
    return { frame: copyOut(heap, box + MAC_BYTES + 1, boxBytes - MAC_BYTES - 1), flags };
  }
}
