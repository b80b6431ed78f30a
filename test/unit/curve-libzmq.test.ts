/**
 * The CURVE state machines (lib/bus/curve-client.ts, lib/bus/curve-server.ts) against libzmq's
 * own CURVE, through zeromq.js: our client over a hand-driven ZMTP connection to a zeromq.js
 * ROUTER with curveServer, and a zeromq.js DEALER to our server on a net.Server. Both ways a
 * multipart message crosses and comes back; a wrong server key, a refused client key and a
 * tampered box each end the connection, on both sides, with the error that names it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, test, type TestContext } from 'node:test';
import { capability, curveKeyPair, Dealer, Router, type Event } from 'zeromq';
import { CURVE_MECHANISM, CurveError, MESSAGE_MORE, type CurvePeer } from '../../lib/bus/curve';
import { CurveClient } from '../../lib/bus/curve-client';
import { CurveServer, REFUSED_REASON } from '../../lib/bus/curve-server';
import { boxKeyPair, sodiumReady, type KeyPair } from '../../lib/bus/sodium';
import { z85Decode, z85Encode } from '../../lib/bus/z85';
import { COMMAND, greeting, RawZmtp } from '../helpers/zmtp-raw';

const b = (s: string): Buffer => Buffer.from(s);
const DEALER_PROPS = { 'Socket-Type': b('DEALER'), Identity: b('our-client') };
const ROUTER_PROPS = { 'Socket-Type': b('ROUTER'), Identity: b('') };

before(async () => {
  await sodiumReady();
  assert.equal(capability.curve, true, 'this zeromq.js bundles libzmq with CURVE');
});

/** Raw z85 keys of zeromq.js as Buffers. */
function keyPair(): { z85: { publicKey: string; secretKey: string }; raw: KeyPair } {
  const z85 = curveKeyPair();
  return { z85, raw: { publicKey: z85Decode(z85.publicKey), secretKey: z85Decode(z85.secretKey) } };
}

/** A zeromq.js ROUTER with CURVE that echoes every message back with its routing id appended. */
async function echoRouter(t: TestContext, secretKey: string): Promise<{ router: Router; endpoint: string }> {
  const router = new Router({ curveServer: true, curveSecretKey: secretKey, linger: 0 });
  t.after(() => router.close());
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    for await (const [id, ...frames] of router) await router.send([id, ...frames, id]);
  })().catch(() => undefined); // ends with the socket
  return { router, endpoint: String(router.lastEndpoint) };
}

/** The first event of `type` a zeromq.js socket reports, or a rejection after `ms`. */
function nextEvent<T extends Event['type']>(socket: Router | Dealer, type: T, ms = 5000): Promise<Event> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event in ${ms} ms`)), ms);
    socket.events.on(type, (event) => {
      clearTimeout(timer);
      resolve(event);
    });
  });
}

/** Our client through greeting and handshake on `raw`; answers the server's metadata. */
async function clientHandshake(raw: RawZmtp, client: CurveClient): Promise<CurvePeer> {
  raw.socket.write(greeting(CURVE_MECHANISM, false));
  // libzmq writes as-server 0 whatever its role (its zmtp_engine.cpp zeroes that octet): the
  // roles come from each side's configuration, never from the peer's greeting.
  const g = await raw.greeting();
  assert.equal(g.mechanism, 'CURVE');
  for (const body of client.start()) raw.command(body);
  for (;;) {
    const frame = await raw.next();
    assert.equal(frame.flags, COMMAND, 'handshake commands travel in command frames');
    const step = client.onCommand(frame.body);
    for (const body of step.send) raw.command(body);
    if (step.ready !== undefined) return step.ready;
  }
}

/** Send a multipart message as MESSAGE frames (no wire flags: MORE is inside each box, as libzmq sends). */
function sendMessage(raw: RawZmtp, session: CurveClient | CurveServer, frames: Buffer[]): void {
  frames.forEach((f, i) => raw.send(0, session.encode(f, i < frames.length - 1 ? MESSAGE_MORE : 0)));
}

async function receiveMessage(raw: RawZmtp, session: CurveClient | CurveServer): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (;;) {
    const wire = await raw.next();
    assert.equal(wire.flags, 0, 'libzmq sends MESSAGE in plain frames');
    const { frame, flags } = session.decode(wire.body);
    frames.push(frame);
    if ((flags & MESSAGE_MORE) === 0) return frames;
  }
}

function newClient(serverKey: Buffer, own: KeyPair = boxKeyPair()): CurveClient {
  return new CurveClient({ serverKey, ...own, properties: DEALER_PROPS });
}

test('our client and a zeromq.js CURVE ROUTER: handshake, Identity, messages of every size both ways', async (t) => {
  const server = keyPair();
  const { endpoint } = await echoRouter(t, server.z85.secretKey);
  const raw = await RawZmtp.connect(endpoint);
  t.after(() => raw.close());
  const client = newClient(server.raw.publicKey);
  const peer = await clientHandshake(raw, client);
  assert.deepEqual(peer.publicKey, server.raw.publicKey);
  assert.deepEqual(peer.properties.get('socket-type'), b('ROUTER'));
  for (const frames of [[b('hello'), b('world')], [Buffer.alloc(0)], [Buffer.alloc(300_000, 7), b('x')]]) {
    sendMessage(raw, client, frames);
    // The echo ends with the routing id libzmq took from our Identity property.
    assert.deepEqual(await receiveMessage(raw, client), [...frames, b('our-client')]);
  }
});

test('a zeromq.js CURVE DEALER and our server: handshake, the client key returned, messages both ways', async (t) => {
  const server = boxKeyPair();
  const client = keyPair();
  const peers: CurvePeer[] = [];
  const { endpoint } = await ourServer(t, { server, authorize: () => true, onReady: (p) => peers.push(p) });
  const dealer = zmqDealer(t, server.publicKey, client.z85, 'zmq-dealer');
  dealer.connect(endpoint);
  for (const frames of [[b('a'), b('b')], [Buffer.alloc(70_000, 1)]]) {
    await dealer.send(frames);
    assert.deepEqual(await dealer.receive(), frames);
  }
  assert.equal(peers.length, 1);
  assert.deepEqual(peers[0].publicKey, client.raw.publicKey);
  assert.deepEqual(peers[0].properties.get('socket-type'), b('DEALER'));
  assert.deepEqual(peers[0].properties.get('identity'), b('zmq-dealer'));
});

test('a wrong server key: libzmq cannot open our HELLO, and our server cannot open libzmq’s', async (t) => {
  const server = keyPair();
  const { router, endpoint } = await echoRouter(t, server.z85.secretKey);
  const failed = nextEvent(router, 'handshake:error:protocol');
  const raw = await RawZmtp.connect(endpoint);
  t.after(() => raw.close());
  const wrong = boxKeyPair().publicKey;
  await assert.rejects(clientHandshake(raw, newClient(wrong)), /connection closed before a frame/);
  const event = await failed;
  assert.equal(event.type === 'handshake:error:protocol' && event.error.code, 'ERR_ZMTP_CRYPTOGRAPHIC');

  const ours = boxKeyPair();
  const errors: CurveError[] = [];
  const { endpoint: ourEndpoint, failures } = await ourServer(t, { server: ours, onError: (e) => errors.push(e) });
  const dealer = zmqDealer(t, boxKeyPair().publicKey, keyPair().z85, 'lost');
  dealer.connect(ourEndpoint);
  await failures.next();
  assert.equal(errors[0].code, 'CURVE_CRYPTO');
});

test('a client key the authorize hook refuses: ERROR "400" reaches libzmq as an authentication failure', async (t) => {
  const server = boxKeyPair();
  const client = keyPair();
  const asked: Buffer[] = [];
  const errors: CurveError[] = [];
  const { endpoint, failures } = await ourServer(t, {
    server,
    authorize: (key) => {
      asked.push(key);
      return false;
    },
    onError: (e) => errors.push(e),
  });
  const dealer = zmqDealer(t, server.publicKey, client.z85, 'refused');
  const refused = nextEvent(dealer, 'handshake:error:auth');
  dealer.connect(endpoint);
  await failures.next();
  const event = await refused;
  assert.equal(event.type === 'handshake:error:auth' && event.error.status, Number(REFUSED_REASON));
  assert.deepEqual(asked[0], client.raw.publicKey);
  assert.equal(errors[0].code, 'CURVE_REFUSED');
});

test('a tampered box: libzmq drops our connection, and our client rejects libzmq’s WELCOME or MESSAGE', async (t) => {
  const server = keyPair();
  const { endpoint } = await echoRouter(t, server.z85.secretKey);
  // 1. A MESSAGE with one bit flipped in its box: libzmq cuts the connection and delivers nothing.
  // (No monitor on this ROUTER: with one, libzmq 4.3.5 reports ERR_ZMTP_CRYPTOGRAPHIC but then
  // only stops reading, leaving the connection open.)
  const raw = await RawZmtp.connect(endpoint);
  t.after(() => raw.close());
  const client = newClient(server.raw.publicKey);
  await clientHandshake(raw, client);
  sendMessage(raw, client, [b('fine')]);
  assert.deepEqual(await receiveMessage(raw, client), [b('fine'), b('our-client')]);
  const tampered = client.encode(b('tampered'));
  tampered[tampered.length - 1] ^= 1;
  raw.send(0, tampered);
  await assert.rejects(raw.next(), /connection closed before a frame/);
  // 2. libzmq's WELCOME with one bit flipped: our client refuses it.
  const raw2 = await RawZmtp.connect(endpoint);
  t.after(() => raw2.close());
  const client2 = newClient(server.raw.publicKey);
  raw2.socket.write(greeting(CURVE_MECHANISM, false));
  await raw2.greeting();
  for (const body of client2.start()) raw2.command(body);
  const welcome = (await raw2.next()).body;
  welcome[100] ^= 0x80;
  assert.throws(() => client2.onCommand(welcome), { name: 'CurveError', code: 'CURVE_CRYPTO' });
  // 3. libzmq's MESSAGE with one bit flipped: our client refuses it.
  const raw3 = await RawZmtp.connect(endpoint);
  t.after(() => raw3.close());
  const client3 = newClient(server.raw.publicKey);
  await clientHandshake(raw3, client3);
  sendMessage(raw3, client3, [b('echo me')]);
  const echoed = (await raw3.next()).body;
  echoed[20] ^= 4;
  assert.throws(() => client3.decode(echoed), { name: 'CurveError', code: 'CURVE_CRYPTO' });
});

// ---- our server on a net.Server, driven by hand ----

interface OurServerOptions {
  server: KeyPair;
  authorize?: (key: Buffer) => boolean;
  onReady?: (peer: CurvePeer) => void;
  onError?: (e: CurveError) => void;
}

/** Each failed connection pushes one item to `failures` (after onError). */
async function ourServer(
  t: TestContext,
  o: OurServerOptions,
): Promise<{ endpoint: string; failures: { next: () => Promise<void> } }> {
  const waiting: Array<() => void> = [];
  let failed = 0;
  const fail = (): void => {
    failed++;
    waiting.shift()?.();
  };
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    void serve(new RawZmtp(socket), o).then(
      () => undefined,
      (e: unknown) => {
        socket.destroy();
        if (e instanceof CurveError) {
          o.onError?.(e);
          fail();
        }
      },
    );
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  const port = (srv.address() as net.AddressInfo).port;
  const next = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (failed > 0) {
        failed--;
        return resolve();
      }
      const timer = setTimeout(() => reject(new Error('no failed connection in 5000 ms')), 5000);
      waiting.push(() => {
        failed--;
        clearTimeout(timer);
        resolve();
      });
    });
  return { endpoint: `tcp://127.0.0.1:${port}`, failures: { next } };
}

/** One connection: greeting, handshake, then echo every message. */
async function serve(raw: RawZmtp, o: OurServerOptions): Promise<void> {
  raw.socket.write(greeting(CURVE_MECHANISM, true));
  const g = await raw.greeting();
  assert.equal(g.mechanism, 'CURVE');
  const server = new CurveServer({ ...o.server, properties: ROUTER_PROPS, authorize: o.authorize });
  for (;;) {
    const frame = await raw.next(60_000);
    assert.equal(frame.flags, COMMAND);
    try {
      const step = server.onCommand(frame.body);
      for (const body of step.send) raw.command(body);
      if (step.ready !== undefined) {
        o.onReady?.(step.ready);
        break;
      }
    } catch (e) {
      if (e instanceof CurveError && e.reply !== undefined) raw.command(e.reply);
      throw e;
    }
  }
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await receiveMessage(raw, server);
    } catch {
      return; // the peer left (or went quiet)
    }
    sendMessage(raw, server, frames);
  }
}

function zmqDealer(
  t: TestContext,
  serverKey: Buffer,
  own: { publicKey: string; secretKey: string },
  routingId: string,
): Dealer {
  const dealer = new Dealer({
    curveServerKey: z85Encode(serverKey),
    curvePublicKey: own.publicKey,
    curveSecretKey: own.secretKey,
    routingId,
    linger: 0,
  });
  t.after(() => dealer.close());
  return dealer;
}
