/**
 * The server side of CURVE (ZeroMQ RFC 26; RFC 25 for ZMTP): it holds the long-term key pair
 * S, s, answers HELLO with WELCOME (its transient secret key sealed in a cookie only it can
 * open), checks INITIATE's cookie and vouch, asks `authorize` about the client's long-term key
 * C, and answers READY. The greeting's as-server field is 1.
 *
 *     const server = new CurveServer({ publicKey, secretKey, properties, authorize });
 *     server.onCommand(hello);      // → { send: [WELCOME] }
 *     server.onCommand(initiate);   // → { send: [READY], ready: { publicKey: C, properties } }
 *
 * Unlike CurveCP's stateless server, the cookie key and transient key live in this object,
 * one per connection, as in libzmq; the connection's handshake deadline bounds their life.
 */
import {
  assertKey,
  commandName,
  CurveError,
  CurveSession,
  errorCommand,
  nameOf,
  nonce,
  readShortNonce,
  type CurveStep,
} from './curve';
import { decodeProperties, encodeProperties, type PeerProperties, type Properties } from './properties';
import {
  box,
  boxAfter,
  boxKeyPair,
  boxOpen,
  boxOpenAfter,
  boxSharedKey,
  equal,
  isZero,
  randomBytes,
  secretBox,
  secretBoxOpen,
  wipe,
  type KeyPair,
} from './sodium';

export interface CurveServerOptions {
  /** Our long-term key pair S, s (32 bytes each). */
  publicKey: Buffer;
  secretKey: Buffer;
  /** Metadata sent in READY (Socket-Type, Identity, …). */
  properties: Properties;
  /**
   * Whether the client with long-term public key `clientKey` (and these properties) may
   * connect; by default every client may (RFC 26's first security model). A refused client
   * gets ERROR "400" (libzmq's answer when ZAP denies) and the connection must close.
   */
  authorize?: (clientKey: Buffer, properties: PeerProperties) => boolean;
}

/** The ERROR reason for a refused client: ZAP's status code for a failed authentication (RFC 27). */
export const REFUSED_REASON = '400';

const HELLO_BYTES = 200;
const INITIATE_MIN_BYTES = 257;
/** Where HELLO's fields start (RFC 26 `hello`). */
const HELLO_CLIENT = 80;
const HELLO_NONCE = 112;
const HELLO_BOX = 120;

export class CurveServer extends CurveSession {
  readonly asServer = true;
  private state: 'hello' | 'initiate' | 'done' = 'hello';
  /** The client's transient public key C'. */
  private clientTransient: Buffer | undefined;
  /** Our transient key pair S', s' and the cookie key, from WELCOME to INITIATE. */
  private transient: KeyPair | undefined;
  private cookieKey: Buffer | undefined;

  constructor(private readonly o: CurveServerOptions) {
    super('CurveZMQMESSAGES', 'CurveZMQMESSAGEC');
    assertKey(o.publicKey, 'the public key');
    assertKey(o.secretKey, 'the secret key');
    encodeProperties(o.properties); // a bad property name fails here, not mid-handshake
  }

  /** The commands to send once the greeting is exchanged: none, the client speaks first. */
  start(): Buffer[] {
    return [];
  }

  /** One handshake command from the client: HELLO, then INITIATE. Throws a CurveError for anything wrong. */
  onCommand(body: Buffer): CurveStep {
    if (this.failed) throw new CurveError('CURVE_UNEXPECTED', 'the mechanism has failed');
    const name = nameOf(body);
    if (name === 'HELLO' && this.state === 'hello') return this.onHello(body);
    if (name === 'INITIATE' && this.state === 'initiate') return this.onInitiate(body);
    throw this.fail('CURVE_UNEXPECTED', `unexpected command ${JSON.stringify(name ?? '')} while ${this.state}`);
  }

  protected override fail(code: CurveError['code'], message: string, reply?: Buffer): CurveError {
    this.forget();
    return super.fail(code, message, reply);
  }

  /** HELLO: version 1.0, zero padding, C', and Box [64 zeros](C'->S) under "CurveZMQHELLO---". */
  private onHello(body: Buffer): CurveStep {
    if (body.length !== HELLO_BYTES) throw this.fail('CURVE_MALFORMED', `HELLO is ${body.length} bytes`);
    if (body[6] !== 1 || body[7] !== 0) throw this.fail('CURVE_MALFORMED', `HELLO version ${body[6]}.${body[7]}`);
    if (!isZero(body.subarray(8, HELLO_CLIENT))) throw this.fail('CURVE_MALFORMED', 'HELLO padding is not zero');
    const clientTransient = Buffer.from(body.subarray(HELLO_CLIENT, HELLO_NONCE));
    const n = nonce('CurveZMQHELLO---', body.subarray(HELLO_NONCE, HELLO_BOX));
    const signature = boxOpen(body.subarray(HELLO_BOX), n, clientTransient, this.o.secretKey);
    if (signature === undefined || !isZero(signature))
      throw this.fail('CURVE_CRYPTO', 'HELLO signature does not open: wrong server key?');
    this.peerNonce = readShortNonce(body, HELLO_NONCE);
    this.clientTransient = clientTransient;
    this.state = 'initiate';
    return { send: [this.welcome(clientTransient)] };
  }

  /** WELCOME: Box [S' + cookie](S->C'), cookie = "COOKIE--" nonce + Box [C' + s'](cookie key). */
  private welcome(clientTransient: Buffer): Buffer {
    this.transient = boxKeyPair();
    this.cookieKey = randomBytes(32);
    const cookieTail = randomBytes(16);
    const cookie = secretBox(
      Buffer.concat([clientTransient, this.transient.secretKey]),
      nonce('COOKIE--', cookieTail),
      this.cookieKey,
    );
    const welcomeTail = randomBytes(16);
    const boxed = box(
      Buffer.concat([this.transient.publicKey, cookieTail, cookie]),
      nonce('WELCOME-', welcomeTail),
      clientTransient,
      this.o.secretKey,
    );
    return Buffer.concat([commandName('WELCOME'), welcomeTail, boxed]);
  }

  /** INITIATE: our cookie back, then Box [C + vouch + metadata](C'->S'); vouch = Box [C',S](C->S'). */
  private onInitiate(body: Buffer): CurveStep {
    if (body.length < INITIATE_MIN_BYTES) throw this.fail('CURVE_MALFORMED', `INITIATE is ${body.length} bytes`);
    const clientTransient = this.clientTransient as Buffer;
    const transient = this.transient as KeyPair;
    const cookie = secretBoxOpen(
      body.subarray(25, 105),
      nonce('COOKIE--', body.subarray(9, 25)),
      this.cookieKey as Buffer,
    );
    if (cookie === undefined) throw this.fail('CURVE_CRYPTO', 'INITIATE cookie does not open');
    if (!equal(cookie.subarray(0, 32), clientTransient) || !equal(cookie.subarray(32, 64), transient.secretKey))
      throw this.fail('CURVE_CRYPTO', 'INITIATE cookie is not ours');
    this.acceptNonce(body, 105);
    this.shared = boxSharedKey(clientTransient, transient.secretKey);
    if (this.shared === undefined) throw this.fail('CURVE_CRYPTO', 'the client transient key is unusable');
    const plain = boxOpenAfter(body.subarray(113), nonce('CurveZMQINITIATE', body.subarray(105, 113)), this.shared);
    if (plain === undefined) throw this.fail('CURVE_CRYPTO', 'INITIATE box does not open');
    const clientKey = Buffer.from(plain.subarray(0, 32));
    const vouch = boxOpen(
      plain.subarray(48, 128),
      nonce('VOUCH---', plain.subarray(32, 48)),
      clientKey,
      transient.secretKey,
    );
    if (vouch === undefined) throw this.fail('CURVE_CRYPTO', 'INITIATE vouch does not open');
    if (!equal(vouch.subarray(0, 32), clientTransient) || !equal(vouch.subarray(32, 64), this.o.publicKey))
      throw this.fail('CURVE_CRYPTO', 'INITIATE vouch is for another key');
    const properties = decodeProperties(plain.subarray(128));
    if (properties === undefined) throw this.fail('CURVE_METADATA', 'INITIATE metadata does not parse');
    if (this.o.authorize !== undefined && !this.o.authorize(clientKey, properties))
      throw this.fail('CURVE_REFUSED', 'client key refused', errorCommand(REFUSED_REASON));
    this.forget();
    this.state = 'done';
    this.finish();
    return { send: [this.readyCommand()], ready: { publicKey: clientKey, properties } };
  }

  /** READY: Box [metadata](S'->C') under "CurveZMQREADY---" and our first short nonce. */
  private readyCommand(): Buffer {
    const tail = this.takeNonce();
    const boxed = boxAfter(encodeProperties(this.o.properties), nonce('CurveZMQREADY---', tail), this.shared as Buffer);
    return Buffer.concat([commandName('READY'), tail, boxed]);
  }

  /** Drop the cookie key and transient secret: once INITIATE is done, or failed, nothing needs them. */
  private forget(): void {
    if (this.cookieKey !== undefined) wipe(this.cookieKey);
    if (this.transient !== undefined) wipe(this.transient.secretKey);
    this.cookieKey = undefined;
    this.transient = undefined;
  }
}
