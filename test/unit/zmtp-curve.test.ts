/**
 * CURVE on the sockets (lib/bus/zmtp-curve.ts through lib/bus/zmtp.ts): our DEALER and ROUTER
 * with CURVE talk to each other and to libzmq's (zeromq.js) both ways, multipart and large
 * frames, through libzmq's heartbeat PINGs; the ROUTER reports each peer's authenticated key;
 * a refused key and a NULL peer never get a connection; the messages of one turn of the event
 * loop leave in one write, as NULL's do.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { before, test, type TestContext } from 'node:test';
import { curveKeyPair, Dealer, Router } from 'zeromq';
import { boxKeyPair, sodiumReady, type KeyPair } from '../../lib/bus/sodium';
import { z85Decode, z85Encode } from '../../lib/bus/z85';
import { DealerSocket, RouterSocket } from '../../lib/bus/zmtp';
import { curveClient, curveServer } from '../../lib/bus/zmtp-curve';
import { greeting, RawZmtp } from '../helpers/zmtp-raw';

const b = (s: string): Buffer => Buffer.from(s);

before(() => sodiumReady());

/** Our CURVE ROUTER that echoes every message back with its sender's key (Z85) appended. */
async function ourRouter(t: TestContext, server: KeyPair, allowed: (key: Buffer) => boolean): Promise<string> {
  const router = new RouterSocket({ mechanism: curveServer(server, allowed) });
  router.onMessage = (frames) => {
    const key = router.peerKey(frames[0]);
    router.send([...frames, b(key === undefined ? '-' : z85Encode(key))]);
  };
  t.after(() => router.close());
  return router.bind('tcp://127.0.0.1:*');
}

/** Our CURVE DEALER, connected once its handshake is done. */
async function ourDealer(t: TestContext, endpoint: string, serverKey: Buffer, own: KeyPair): Promise<DealerSocket> {
  const dealer = new DealerSocket({ mechanism: curveClient(serverKey, own), routingId: b('ours') });
  t.after(() => dealer.close());
  const connected = new Promise<void>((resolve) => (dealer.onConnect = resolve));
  dealer.connect(endpoint);
  await connected;
  return dealer;
}

function nextMessage(dealer: DealerSocket): Promise<Buffer[]> {
  return new Promise((resolve) => (dealer.onMessage = resolve));
}

const MESSAGES = [[b('hello'), b('world')], [Buffer.alloc(0)], [Buffer.alloc(300), b('x')], [Buffer.alloc(200_000, 9)]];

test('our CURVE DEALER and ROUTER: messages of every size both ways, and the peer key the ROUTER reports', async (t) => {
  const server = boxKeyPair();
  const client = boxKeyPair();
  const endpoint = await ourRouter(t, server, (key) => key.equals(client.publicKey));
  const dealer = await ourDealer(t, endpoint, server.publicKey, client);
  for (const frames of MESSAGES) {
    const reply = nextMessage(dealer);
    assert.ok(dealer.send(frames));
    assert.deepEqual(await reply, [...frames, b(z85Encode(client.publicKey))]);
  }
});

test('a zeromq.js CURVE DEALER (with heartbeats) and our CURVE ROUTER', async (t) => {
  const server = boxKeyPair();
  const client = curveKeyPair();
  const endpoint = await ourRouter(t, server, () => true);
  const dealer = new Dealer({
    curveServerKey: z85Encode(server.publicKey),
    curvePublicKey: client.publicKey,
    curveSecretKey: client.secretKey,
    heartbeatInterval: 20,
    heartbeatTimeout: 200,
    linger: 0,
  });
  t.after(() => dealer.close());
  dealer.connect(endpoint);
  for (const frames of MESSAGES) {
    await dealer.send(frames);
    assert.deepEqual(await dealer.receive(), [...frames, b(client.publicKey)]);
  }
  // Several heartbeat intervals (PINGs boxed as MESSAGE commands, answered PONG) and still connected.
  await new Promise((resolve) => setTimeout(resolve, 400));
  await dealer.send([b('still')]);
  assert.deepEqual(await dealer.receive(), [b('still'), b(client.publicKey)]);
});

test('our CURVE DEALER and a zeromq.js CURVE ROUTER (with heartbeats)', async (t) => {
  const server = curveKeyPair();
  const router = new Router({
    curveServer: true,
    curveSecretKey: server.secretKey,
    heartbeatInterval: 20,
    heartbeatTimeout: 200,
    linger: 0,
  });
  t.after(() => router.close());
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    for await (const [id, ...frames] of router) await router.send([id, ...frames, id]);
  })().catch(() => undefined);
  const dealer = await ourDealer(t, String(router.lastEndpoint), z85Decode(server.publicKey), boxKeyPair());
  for (const frames of MESSAGES) {
    const reply = nextMessage(dealer);
    dealer.send(frames);
    assert.deepEqual(await reply, [...frames, b('ours')]);
  }
  await new Promise((resolve) => setTimeout(resolve, 400));
  const reply = nextMessage(dealer);
  dealer.send([b('still')]);
  assert.deepEqual(await reply, [b('still'), b('ours')]);
});

test('a refused key gets ERROR and no connection; a NULL peer is cut at its greeting', async (t) => {
  const server = boxKeyPair();
  const asked: string[] = [];
  const endpoint = await ourRouter(t, server, (key) => {
    asked.push(z85Encode(key));
    return false;
  });
  const client = boxKeyPair();
  const dealer = new DealerSocket({ mechanism: curveClient(server.publicKey, client), reconnectMs: 10_000 });
  t.after(() => dealer.close());
  let connected = false;
  dealer.onConnect = () => (connected = true);
  dealer.connect(endpoint);
  const raw = await RawZmtp.connect(endpoint);
  t.after(() => raw.close());
  raw.socket.write(greeting('NULL', false));
  await raw.closed;
  while (asked.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(asked, [z85Encode(client.publicKey)]);
  assert.equal(connected, false);
});

test('CURVE messages sent in one turn of the event loop leave in one write, as NULL ones do', async (t) => {
  const server = boxKeyPair();
  const client = boxKeyPair();
  const endpoint = await ourRouter(t, server, () => true);
  const dealer = await ourDealer(t, endpoint, server.publicKey, client);
  const stream = (dealer as unknown as { conn: { stream: net.Socket } }).conn.stream;
  let writes = 0;
  const write = stream._write.bind(stream);
  const writev = stream._writev?.bind(stream);
  stream._write = (chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void): void => {
    writes++;
    write(chunk, encoding, done);
  };
  if (writev !== undefined) {
    stream._writev = (chunks, done): void => {
      writes++;
      writev(chunks, done);
    };
  }
  const replies: Buffer[][] = [];
  const all = new Promise<void>((resolve) => {
    dealer.onMessage = (frames) => {
      if (replies.push(frames) === 20) resolve();
    };
  });
  for (let i = 0; i < 20; i++) assert.ok(dealer.send([b(`call ${i}`), Buffer.alloc(i * 10)]));
  await all;
  assert.equal(writes, 1, 'the 20 messages of one turn left in one write');
  assert.deepEqual(
    replies.map((frames) => frames[0].toString()),
    Array.from({ length: 20 }, (_, i) => `call ${i}`),
  );
});
