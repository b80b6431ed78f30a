/**
 * ZMTP security mechanisms (ZeroMQ RFC 23 §"Authentication and confidentiality"): what a
 * mechanism decides during the handshake and does to every frame after it, behind one narrow
 * interface. A connection (lib/bus/zmtp-connection.ts) makes one per stream, names it in its
 * greeting, hands it the handshake's commands, and encodes and decodes through it; it asks
 * nothing else. NULL is the default; CURVE (RFC 25 over RFC 26's CurveZMQ)
 * (lib/bus/zmtp-curve.ts) fits the same shape: the client starts with HELLO, each side
 * answers a handshake command with the next one (WELCOME, INITIATE, READY) until the peer's
 * metadata is known, and after it every frame travels boxed in a MESSAGE, so it brings `box`,
 * `boxCommand` and `unbox` of its own.
 */
import { decodeProperties } from './properties';
import { encodeCommand, encodeMessage, type Frames } from './zmtp-wire';

/** The peer's metadata by lower-cased property name (Socket-Type, Identity, …). */
export type Metadata = Map<string, Buffer>;

/** What a command the peer sent during the handshake leads to. */
export interface HandshakeStep {
  /** Commands to write back, encoded (CURVE's WELCOME, INITIATE or READY; NULL has none). */
  reply?: Buffer;
  /** Set once the handshake is complete: the metadata the peer announced. */
  peer?: Metadata;
  /** With `peer`: the peer's authenticated long-term public key (CURVE; NULL has none). */
  peerKey?: Buffer;
  /** Write `reply` (CURVE's ERROR), then cut the connection: the handshake has failed. */
  close?: boolean;
}

/** A frame a mechanism opened: its flags (MORE, COMMAND, as in a frame header) and its body. */
export interface Unboxed {
  flags: number;
  body: Buffer;
}

/** The security mechanism of one connection. */
export interface Mechanism {
  /** The greeting's mechanism field (`NULL`, `CURVE`); a peer whose greeting names another is cut. */
  readonly name: string;
  /** The greeting's as-server field (CURVE: the side that holds the long-term key; NULL: false). */
  readonly asServer: boolean;
  /** The commands that open the handshake, written right after the greeting (NULL: READY; a CURVE client: HELLO). */
  start(): Buffer;
  /** A command the peer sent during the handshake; undefined is a protocol violation, which cuts the connection. */
  handshake(name: string, data: Buffer): HandshakeStep | undefined;
  /**
   * Encode one message for the wire once the handshake is done, `frames` from index `from`,
   * into `out`; answers the bytes added.
   */
  box(frames: Frames, from: number, out: Buffer[]): number;
  /** Encode a command sent after the handshake (PONG) the way `box` encodes frames. */
  boxCommand(name: string, data: Buffer): Buffer;
  /**
   * Open a frame received after the handshake, its body `buf[start, end)` where it lies in the
   * read chunk (valid during the call only); undefined when it does not open, which cuts the
   * connection. Absent when frames travel as they are (NULL): the connection then takes each
   * where it lies in the read chunk, with no call per frame.
   */
  readonly unbox?: (buf: Buffer, start: number, end: number) => Unboxed | undefined;
}

/** Makes the mechanism of one connection from the metadata it announces (encoded properties). */
export type MechanismFactory = (metadata: Buffer) => Mechanism;

/**
 * NULL (RFC 23 §"The NULL security mechanism"): no security. Each side sends READY with its
 * metadata and the handshake is done once the peer's READY has come; frames travel as they
 * are, so `box` is the plain message encoding and there is no `unbox`.
 */
export class NullMechanism implements Mechanism {
  readonly name = 'NULL';
  readonly asServer = false;
  readonly box = encodeMessage;
  readonly boxCommand = encodeCommand;

  constructor(private readonly metadata: Buffer) {}

  start(): Buffer {
    return encodeCommand('READY', this.metadata);
  }

  handshake(name: string, data: Buffer): HandshakeStep | undefined {
    if (name !== 'READY') return undefined;
    const peer = decodeProperties(data);
    return peer === undefined ? undefined : { peer };
  }
}

/** The NULL mechanism's factory, what sockets use unless told otherwise. */
export const nullMechanism: MechanismFactory = (metadata) => new NullMechanism(metadata);
