/**
 * CURVE as a ZMTP mechanism (ZeroMQ RFC 25 over RFC 26's CurveZMQ): the state machines of
 * lib/bus/curve-client.ts and lib/bus/curve-server.ts behind the Mechanism interface of
 * lib/bus/zmtp-mechanism.ts, so a connection secures itself with CURVE as it does with NULL.
 *
 * - The handshake's commands go as command frames; a failure that carries an ERROR command
 *   (a refused client key) writes it before the connection is cut.
 * - After it, every frame goes as a data frame with no wire flags, whose body is a MESSAGE
 *   boxing the frame with its MORE and COMMAND bits (libzmq's encoding); received frames are
 *   opened the same way, and one that does not open cuts the connection.
 * - The greeting's as-server octet is sent as our role but never read: libzmq always sends 0.
 *
 * libsodium must be loaded (`await sodiumReady()`, lib/bus/sodium.ts) before a factory made
 * here is first used.
 */
import { CurveError, CURVE_MECHANISM, MESSAGE_COMMAND, MESSAGE_MORE, type CurveStep } from './curve';
import { CurveClient } from './curve-client';
import { CurveServer } from './curve-server';
import { decodeProperties, type PeerProperties } from './properties';
import type { HandshakeStep, Mechanism, MechanismFactory, Unboxed } from './zmtp-mechanism';
import { COMMAND, LONG, MORE, type Frames } from './zmtp-wire';

/** A long-term key pair (32 bytes each). */
export interface CurveKeys {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** A command frame holding `body` (name length, name, data). */
function commandFrame(body: Buffer): Buffer {
  const head = body.length <= 255 ? Buffer.from([COMMAND, body.length]) : Buffer.alloc(9);
  if (body.length > 255) {
    head[0] = COMMAND | LONG;
    head.writeUInt32BE(body.length, 5);
  }
  return Buffer.concat([head, body]);
}

/** The CURVE mechanism of one connection, client or server side. */
class CurveMechanism implements Mechanism {
  readonly name = CURVE_MECHANISM;
  readonly asServer: boolean;
  /** The peer's long-term public key, once the handshake is done. */
  peerKey: Buffer | undefined;

  constructor(private readonly session: CurveClient | CurveServer) {
    this.asServer = session.asServer;
  }

  start(): Buffer {
    return Buffer.concat(this.session.start().map(commandFrame));
  }

  handshake(name: string, data: Buffer): HandshakeStep | undefined {
    const body = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), data]);
    let step: CurveStep;
    try {
      step = this.session.onCommand(body);
    } catch (e) {
      if (e instanceof CurveError && e.reply !== undefined) return { reply: commandFrame(e.reply), close: true };
      return undefined;
    }
    const reply = step.send.length > 0 ? Buffer.concat(step.send.map(commandFrame)) : undefined;
    if (step.ready === undefined) return { reply };
    this.peerKey = step.ready.publicKey;
    return { reply, peer: step.ready.properties, peerKey: step.ready.publicKey };
  }

  /** Every frame of the message boxed, with its data frame header, into one buffer. */
  box(frames: Frames, from: number, out: Buffer[]): number {
    const wire = this.session.sealFrames(frames, from);
    out.push(wire);
    return wire.length;
  }

  boxCommand(name: string, data: Buffer): Buffer {
    const command = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), data]);
    return this.session.sealFrames([command], 0, MESSAGE_COMMAND);
  }

  readonly unbox = (buf: Buffer, start: number, end: number): Unboxed | undefined => {
    try {
      const { frame: body, flags } = this.session.open(buf, start, end);
      return { body, flags: (flags & MESSAGE_MORE ? MORE : 0) | (flags & MESSAGE_COMMAND ? COMMAND : 0) };
    } catch {
      return undefined;
    }
  };
}

/** A CURVE client's factory: it knows the server's public key and holds its own key pair. */
export function curveClient(serverKey: Buffer, keys: CurveKeys): MechanismFactory {
  return (metadata) => {
    const properties = propertiesOf(metadata);
    return new CurveMechanism(new CurveClient({ serverKey, ...keys, properties }));
  };
}

/**
 * A CURVE server's factory: it holds its key pair, and `authorize` says whether a client's
 * long-term public key may complete the handshake (a refused one gets ERROR and is cut).
 */
export function curveServer(keys: CurveKeys, authorize: (clientKey: Buffer) => boolean): MechanismFactory {
  return (metadata) => {
    const properties = propertiesOf(metadata);
    return new CurveMechanism(new CurveServer({ ...keys, properties, authorize: (key) => authorize(key) }));
  };
}

/** The properties a connection announces, back from their encoding, as the CURVE state machines take them. */
function propertiesOf(metadata: Buffer): Record<string, Buffer> {
  const parsed: PeerProperties = decodeProperties(metadata) ?? new Map<string, Buffer>();
  const out: Record<string, Buffer> = {};
  for (const [name, value] of parsed) out[CANONICAL[name] ?? name] = value;
  return out;
}

/** The spelling libzmq sends, for the names our connections announce. */
const CANONICAL: Record<string, string> = { 'socket-type': 'Socket-Type', identity: 'Identity' };
