/**
 * What the two sides of the CURVE mechanism share (ZeroMQ RFC 26 CurveZMQ, carried by ZMTP 3
 * as RFC 25 ZMTP-CURVE): the error every failure is reported with, the command bodies' layout
 * helpers, and the MESSAGE codec that boxes each frame once the handshake is done.
 *
 * The mechanism is a pure state machine over command bodies, the bytes of one ZMTP command
 * frame: name length, name, data (RFC 23 "Commands"). The connection writes what it is given
 * and passes on what it reads; it never sees a key. libzmq is the reference for every byte.
 */
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES, openCopy, sealFlagged } from './sodium';
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

/**
 * One side's MESSAGE codec, and the short-nonce counters around it: ours counts every
 * command we box from 1 (HELLO, INITIATE, then MESSAGEs for the client; READY, then MESSAGEs
 * for the server), the peer's must only grow (RFC 26 "The HELLO Command").
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

  /** The 24-byte nonces of the MESSAGEs we send and receive: the prefix, then each one's short nonce. */
  private readonly sendNonce: Buffer;
  private readonly receiveNonce: Buffer;

  constructor(
    /** "CurveZMQMESSAGEC" or "CurveZMQMESSAGES": the prefix of the nonces we send MESSAGEs with. */
    sendPrefix: string,
    receivePrefix: string,
  ) {
    this.sendNonce = nonce(sendPrefix, Buffer.alloc(8));
    this.receiveNonce = nonce(receivePrefix, Buffer.alloc(8));
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
  encode(frame: Buffer, flags = 0): Buffer {
    const out = Buffer.allocUnsafe(messageBytes(frame.length));
    this.encodeInto(frame, flags, out, 0);
    return out;
  }

  /** `encode`, written into `out` from `at` (messageBytes(frame.length) octets); answers where it ends. */
  encodeInto(frame: Buffer, flags: number, out: Buffer, at: number): number {
    if (!this.ready || this.shared === undefined) throw new CurveError('CURVE_UNEXPECTED', 'the handshake is not done');
    const n = this.nextNonce++;
    this.sendNonce.writeUInt32BE(Math.floor(n / TWO_32), 16);
    this.sendNonce.writeUInt32BE(n >>> 0, 20);
    MESSAGE_NAME.copy(out, at);
    this.sendNonce.copy(out, at + MESSAGE_NAME.length, 16);
    sealFlagged(flags & (MESSAGE_MORE | MESSAGE_COMMAND), frame, this.sendNonce, this.shared, out, at + MESSAGE_HEAD);
    return at + messageBytes(frame.length);
  }

  /** Open a MESSAGE command body into its frame and flags; throws a CurveError for anything else. */
  decode(body: Buffer): CurveFrame {
    if (!this.ready || this.shared === undefined) throw this.fail('CURVE_UNEXPECTED', 'the handshake is not done');
    if (body.length < MESSAGE_NAME.length || !body.subarray(0, MESSAGE_NAME.length).equals(MESSAGE_NAME))
      throw this.fail('CURVE_UNEXPECTED', `expected MESSAGE, got ${JSON.stringify(nameOf(body) ?? '')}`);
    if (body.length < MESSAGE_HEAD + MAC_BYTES + 1) throw this.fail('CURVE_MALFORMED', 'MESSAGE is too short');
    const n = readShortNonce(body, MESSAGE_NAME.length);
    if (n <= this.peerNonce) throw this.fail('CURVE_SEQUENCE', `short nonce ${n} does not follow ${this.peerNonce}`);
    body.copy(this.receiveNonce, 16, MESSAGE_NAME.length, MESSAGE_HEAD);
    const plain = openCopy(body.subarray(MESSAGE_HEAD), this.receiveNonce, this.shared);
    if (plain === undefined) throw this.fail('CURVE_CRYPTO', 'MESSAGE box does not open');
    const flags = plain[0];
    if ((flags & ~(MESSAGE_MORE | MESSAGE_COMMAND)) !== 0)
      throw this.fail('CURVE_MALFORMED', `MESSAGE flags ${flags} set reserved bits`);
    this.peerNonce = n;
    return { frame: plain.subarray(1), flags };
  }
}
