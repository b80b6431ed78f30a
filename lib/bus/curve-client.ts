/**
 * The client side of CURVE (ZeroMQ RFC 26; RFC 25 for ZMTP): it knows the server's long-term
 * public key S, sends HELLO, answers WELCOME with INITIATE (vouching for its transient key
 * with its long-term key C), and is ready at READY. The greeting's as-server field is 0.
 *
 *     const client = new CurveClient({ serverKey, publicKey, secretKey, properties });
 *     write(client.start());                       // [HELLO]
 *     const step = client.onCommand(body);         // WELCOME → { send: [INITIATE] }
 *     …                                            // READY → { send: [], ready: { publicKey, properties } }
 *     client.encode(frame, flags); client.decode(messageBody);
 */
import { assertKey, commandName, CurveError, CurveSession, errorReason, nameOf, nonce, type CurveStep } from './curve';
import { decodeProperties, encodeProperties, type Properties } from './properties';
import { box, boxAfter, boxKeyPair, boxOpen, boxOpenAfter, boxSharedKey, randomBytes, wipe } from './sodium';

export interface CurveClientOptions {
  /** The server's long-term public key S (32 bytes). */
  serverKey: Buffer;
  /** Our long-term key pair C, c (32 bytes each). */
  publicKey: Buffer;
  secretKey: Buffer;
  /** Metadata sent in INITIATE (Socket-Type, Identity, …). */
  properties: Properties;
}

const HELLO_BYTES = 200;
const WELCOME_BYTES = 168;
const READY_MIN_BYTES = 30;
/** libzmq's 72 octets of anti-amplification padding, so that HELLO is 200 octets (RFC 26 `hello`). */
const HELLO_PADDING = 72;

export class CurveClient extends CurveSession {
  readonly asServer = false;
  private state: 'start' | 'welcome' | 'ready' | 'done' = 'start';
  /** Our transient key pair C', c'. */
  private readonly transient = boxKeyPair();

  constructor(private readonly o: CurveClientOptions) {
    super('CurveZMQMESSAGEC', 'CurveZMQMESSAGES');
    assertKey(o.serverKey, 'the server key');
    assertKey(o.publicKey, 'the public key');
    assertKey(o.secretKey, 'the secret key');
    encodeProperties(o.properties); // a bad property name fails here, not mid-handshake
  }

  /** The commands to send once the greeting is exchanged: [HELLO]. */
  start(): Buffer[] {
    if (this.state !== 'start' || this.failed) throw new CurveError('CURVE_UNEXPECTED', 'the handshake has started');
    this.state = 'welcome';
    // Box [64 zeros](C'->S), nonce "CurveZMQHELLO---" + short nonce.
    const tail = this.takeNonce();
    const signature = box(
      Buffer.alloc(64),
      nonce('CurveZMQHELLO---', tail),
      this.o.serverKey,
      this.transient.secretKey,
    );
    const hello = Buffer.concat([
      commandName('HELLO'),
      Buffer.from([1, 0]), // version 1.0
      Buffer.alloc(HELLO_PADDING),
      this.transient.publicKey,
      tail,
      signature,
    ]);
    if (hello.length !== HELLO_BYTES) throw new Error(`HELLO is ${hello.length} bytes`);
    return [hello];
  }

  /** One handshake command from the server: WELCOME, READY or ERROR. Throws a CurveError for anything wrong. */
  onCommand(body: Buffer): CurveStep {
    if (this.failed) throw new CurveError('CURVE_UNEXPECTED', 'the mechanism has failed');
    const name = nameOf(body);
    if (name === 'ERROR' && (this.state === 'welcome' || this.state === 'ready')) {
      const reason = errorReason(body);
      if (reason === undefined) throw this.fail('CURVE_MALFORMED', 'malformed ERROR');
      throw this.fail('CURVE_PEER_ERROR', `the server refused the handshake: ${JSON.stringify(reason)}`);
    }
    if (name === 'WELCOME' && this.state === 'welcome') return this.onWelcome(body);
    if (name === 'READY' && this.state === 'ready') return this.onReady(body);
    throw this.fail('CURVE_UNEXPECTED', `unexpected command ${JSON.stringify(name ?? '')} while ${this.state}`);
  }

  /** WELCOME: open Box [S' + cookie](S->C'), answer INITIATE. */
  private onWelcome(body: Buffer): CurveStep {
    if (body.length !== WELCOME_BYTES) throw this.fail('CURVE_MALFORMED', `WELCOME is ${body.length} bytes`);
    const n = nonce('WELCOME-', body.subarray(8, 24));
    const plain = boxOpen(body.subarray(24), n, this.o.serverKey, this.transient.secretKey);
    if (plain === undefined) throw this.fail('CURVE_CRYPTO', 'WELCOME box does not open: wrong server key?');
    const serverTransient = plain.subarray(0, 32);
    const cookie = plain.subarray(32, 128);
    this.shared = boxSharedKey(serverTransient, this.transient.secretKey);
    if (this.shared === undefined) throw this.fail('CURVE_CRYPTO', 'the server transient key is unusable');
    this.state = 'ready';
    return { send: [this.initiate(serverTransient, cookie)] };
  }

  /** INITIATE: the cookie, then Box [C + vouch + metadata](C'->S'), vouch = Box [C',S](C->S'). */
  private initiate(serverTransient: Buffer, cookie: Buffer): Buffer {
    const vouchTail = randomBytes(16);
    const vouch = box(
      Buffer.concat([this.transient.publicKey, this.o.serverKey]),
      nonce('VOUCH---', vouchTail),
      serverTransient,
      this.o.secretKey,
    );
    const plain = Buffer.concat([this.o.publicKey, vouchTail, vouch, encodeProperties(this.o.properties)]);
    const tail = this.takeNonce();
    const boxed = boxAfter(plain, nonce('CurveZMQINITIATE', tail), this.shared as Buffer);
    return Buffer.concat([commandName('INITIATE'), cookie, tail, boxed]);
  }

  /** READY: Box [metadata](S'->C'); the handshake is done. */
  private onReady(body: Buffer): CurveStep {
    if (body.length < READY_MIN_BYTES) throw this.fail('CURVE_MALFORMED', `READY is ${body.length} bytes`);
    this.acceptNonce(body, 6);
    const plain = boxOpenAfter(
      body.subarray(14),
      nonce('CurveZMQREADY---', body.subarray(6, 14)),
      this.shared as Buffer,
    );
    if (plain === undefined) throw this.fail('CURVE_CRYPTO', 'READY box does not open');
    const properties = decodeProperties(plain);
    if (properties === undefined) throw this.fail('CURVE_METADATA', 'READY metadata does not parse');
    this.state = 'done';
    wipe(this.transient.secretKey);
    this.finish();
    return { send: [], ready: { publicKey: this.o.serverKey, properties } };
  }
}
