/**
 * lib/bus/curve-client.ts and lib/bus/curve-server.ts against each other, in memory: the
 * handshake's command sizes and short nonces as ZeroMQ RFC 26 and libzmq lay them out, frames
 * and flags through MESSAGE, and a CurveError for every replayed, reordered, truncated,
 * extended or altered command (each byte of each handshake command flipped in turn).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { CurveError, MESSAGE_COMMAND, MESSAGE_MORE, readShortNonce, type CurveStep } from '../../lib/bus/curve';
import { CurveClient } from '../../lib/bus/curve-client';
import { CurveServer } from '../../lib/bus/curve-server';
import { boxKeyPair, sodiumReady, type KeyPair } from '../../lib/bus/sodium';

const b = (s: string): Buffer => Buffer.from(s);

let serverKeys: KeyPair;
let clientKeys: KeyPair;

before(async () => {
  await sodiumReady();
  serverKeys = boxKeyPair();
  clientKeys = boxKeyPair();
});

function newPair(authorize?: (key: Buffer) => boolean): { client: CurveClient; server: CurveServer } {
  const client = new CurveClient({
    serverKey: serverKeys.publicKey,
    ...clientKeys,
    properties: { 'Socket-Type': b('DEALER'), Identity: b('client-1') },
  });
  const server = new CurveServer({ ...serverKeys, properties: { 'Socket-Type': b('ROUTER') }, authorize });
  return { client, server };
}

/** The four handshake commands of one connection, and the pair, ready. */
function handshake(authorize?: (key: Buffer) => boolean): {
  client: CurveClient;
  server: CurveServer;
  hello: Buffer;
  welcome: Buffer;
  initiate: Buffer;
  ready: Buffer;
  steps: CurveStep[];
} {
  const { client, server } = newPair(authorize);
  const [hello] = client.start();
  const s1 = server.onCommand(hello);
  const c1 = client.onCommand(s1.send[0]);
  const s2 = server.onCommand(c1.send[0]);
  const c2 = client.onCommand(s2.send[0]);
  return {
    client,
    server,
    hello,
    welcome: s1.send[0],
    initiate: c1.send[0],
    ready: s2.send[0],
    steps: [s1, c1, s2, c2],
  };
}

function flipped(body: Buffer, at: number): Buffer {
  const copy = Buffer.from(body);
  copy[at] ^= 0x01;
  return copy;
}

function curveError(fn: () => unknown, code?: string): CurveError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CurveError, `a CurveError, not ${String(e)}`);
    if (code !== undefined) assert.equal(e.code, code, e.message);
    return e;
  }
  return assert.fail('no error');
}

test('the handshake: sizes, names, short nonces and metadata as RFC 26 and libzmq lay them out', () => {
  const { client, server, hello, welcome, initiate, ready, steps } = handshake();
  assert.equal(hello.length, 200);
  assert.deepEqual(hello.subarray(0, 8), Buffer.from('\x05HELLO\x01\x00', 'latin1'));
  assert.equal(welcome.length, 168);
  assert.deepEqual(welcome.subarray(0, 8), b('\x07WELCOME'));
  // 9 + cookie 96 + nonce 8 + box (16 + C 32 + vouch 96 + metadata)
  const metadata = 1 + 11 + 4 + 6 + (1 + 8 + 4 + 8);
  assert.equal(initiate.length, 257 + metadata);
  assert.deepEqual(initiate.subarray(0, 9), b('\x08INITIATE'));
  assert.equal(ready.length, 14 + 16 + (1 + 11 + 4 + 6));
  assert.deepEqual(ready.subarray(0, 6), b('\x05READY'));
  // The client counts HELLO 1, INITIATE 2, then MESSAGEs; the server READY 1, then MESSAGEs.
  assert.equal(readShortNonce(hello, 112), 1);
  assert.equal(readShortNonce(initiate, 105), 2);
  assert.equal(readShortNonce(ready, 6), 1);
  assert.equal(readShortNonce(client.encode(b('x')), 8), 3);
  assert.equal(readShortNonce(server.encode(b('x')), 8), 2);
  assert.ok(client.ready && server.ready);
  assert.deepEqual(steps[2].ready?.publicKey, clientKeys.publicKey);
  assert.deepEqual(
    steps[2].ready?.properties,
    new Map([
      ['socket-type', b('DEALER')],
      ['identity', b('client-1')],
    ]),
  );
  assert.deepEqual(steps[3].ready?.publicKey, serverKeys.publicKey);
  assert.deepEqual(steps[3].ready?.properties, new Map([['socket-type', b('ROUTER')]]));
  assert.deepEqual(steps[3].send, []);
});

test('frames and their MORE and COMMAND flags cross MESSAGE both ways, in order', () => {
  const { client, server } = handshake();
  const flags = fc.constantFrom(0, MESSAGE_MORE, MESSAGE_COMMAND, MESSAGE_MORE | MESSAGE_COMMAND);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 5000 }), flags), { maxLength: 8 }), (frames) => {
      for (const [from, to] of [
        [client, server],
        [server, client],
      ]) {
        for (const [frame, f] of frames) {
          const body = from.encode(Buffer.from(frame), f);
          assert.equal(body.length, 8 + 8 + 16 + 1 + frame.length);
          assert.deepEqual(body.subarray(0, 8), b('\x07MESSAGE'));
          assert.deepEqual(to.decode(body), { frame: Buffer.from(frame), flags: f });
        }
      }
    }),
  );
});

test('a replayed or reordered MESSAGE is a CURVE_SEQUENCE error', () => {
  const { client, server } = handshake();
  const first = client.encode(b('one'));
  const second = client.encode(b('two'));
  server.decode(first);
  server.decode(second);
  curveError(() => server.decode(first), 'CURVE_SEQUENCE');
  const again = handshake();
  const m1 = again.server.encode(b('one'));
  const m2 = again.server.encode(b('two'));
  again.client.decode(m2);
  curveError(() => again.client.decode(m1), 'CURVE_SEQUENCE');
});

test("a MESSAGE from the other direction does not open (each side's nonce prefix differs)", () => {
  const { client } = handshake();
  const own = client.encode(b('echo'));
  curveError(() => client.decode(own), 'CURVE_CRYPTO');
});

test('every byte of HELLO and INITIATE flipped: the server fails with a CurveError', () => {
  const { hello, initiate } = handshake();
  for (let at = 0; at < hello.length; at++) {
    curveError(() => newPair().server.onCommand(flipped(hello, at)));
  }
  for (let at = 0; at < initiate.length; at++) {
    // Replay the same client's exchange with a new server up to INITIATE, then alter it.
    const { client, server } = newPair();
    const welcome = server.onCommand(client.start()[0]).send[0];
    const good = client.onCommand(welcome).send[0];
    curveError(() => server.onCommand(flipped(good, at)));
  }
});

test('every byte of WELCOME and READY flipped: the client fails with a CurveError', () => {
  for (let at = 0; at < 168; at++) {
    const { client, server } = newPair();
    const welcome = server.onCommand(client.start()[0]).send[0];
    curveError(() => client.onCommand(flipped(welcome, at)));
  }
  const { ready } = handshake();
  for (let at = 0; at < ready.length; at++) {
    const { client, server } = newPair();
    const initiate = client.onCommand(server.onCommand(client.start()[0]).send[0]).send[0];
    const good = server.onCommand(initiate).send[0];
    curveError(() => client.onCommand(flipped(good, at)));
  }
});

test('truncated and extended commands are CURVE_MALFORMED', () => {
  const { hello, welcome, initiate, ready } = handshake();
  curveError(() => newPair().server.onCommand(hello.subarray(0, 199)), 'CURVE_MALFORMED');
  curveError(() => newPair().server.onCommand(Buffer.concat([hello, Buffer.alloc(1)])), 'CURVE_MALFORMED');
  const { client, server } = newPair();
  server.onCommand(client.start()[0]);
  curveError(() => server.onCommand(initiate.subarray(0, 256)), 'CURVE_MALFORMED');
  const c = newPair().client;
  c.start();
  curveError(() => c.onCommand(welcome.subarray(0, 167)), 'CURVE_MALFORMED');
  const p = newPair();
  p.client.onCommand(p.server.onCommand(p.client.start()[0]).send[0]);
  curveError(() => p.client.onCommand(ready.subarray(0, 29)), 'CURVE_MALFORMED');
});

test('commands out of order are CURVE_UNEXPECTED, and after any failure every call fails', () => {
  const { hello, initiate, welcome } = handshake();
  curveError(() => newPair().server.onCommand(initiate), 'CURVE_UNEXPECTED');
  const { server } = newPair();
  server.onCommand(hello);
  curveError(() => server.onCommand(hello), 'CURVE_UNEXPECTED');
  curveError(() => server.onCommand(initiate), 'CURVE_UNEXPECTED');
  curveError(() => server.decode(b('\x07MESSAGE')), 'CURVE_UNEXPECTED');
  const { client } = newPair();
  curveError(() => client.onCommand(welcome), 'CURVE_UNEXPECTED'); // before start()
  curveError(() => client.encode(b('early')), 'CURVE_UNEXPECTED');
  curveError(() => newPair().server.onCommand(Buffer.alloc(0)), 'CURVE_UNEXPECTED');
});

test("an INITIATE replayed to another connection: that server's cookie key does not open it", () => {
  const first = handshake();
  const { server } = newPair();
  server.onCommand(first.hello); // HELLO carries nothing secret: replaying it is allowed
  curveError(() => server.onCommand(first.initiate), 'CURVE_CRYPTO');
});

test('a client that has the wrong server key fails at HELLO', () => {
  const client = new CurveClient({ serverKey: boxKeyPair().publicKey, ...clientKeys, properties: {} });
  curveError(() => newPair().server.onCommand(client.start()[0]), 'CURVE_CRYPTO');
});

test('authorize sees the client key; a refusal answers ERROR "400", which the client reports', () => {
  const seen: Buffer[] = [];
  const { client, server } = newPair((key) => {
    seen.push(key);
    return false;
  });
  const initiate = client.onCommand(server.onCommand(client.start()[0]).send[0]).send[0];
  const refused = curveError(() => server.onCommand(initiate), 'CURVE_REFUSED');
  assert.deepEqual(seen, [clientKeys.publicKey]);
  assert.deepEqual(refused.reply, Buffer.from('\x05ERROR\x03400', 'latin1'));
  const peer = curveError(() => client.onCommand(refused.reply as Buffer), 'CURVE_PEER_ERROR');
  assert.match(peer.message, /"400"/);
  assert.equal(server.ready, false);
  curveError(() => server.encode(b('no')), 'CURVE_UNEXPECTED');
});

test('keys of the wrong size and bad property names are refused when the mechanism is made', () => {
  assert.throws(
    () => new CurveClient({ serverKey: Buffer.alloc(31), ...clientKeys, properties: {} }),
    /the server key must be 32 bytes, not 31/,
  );
  assert.throws(() => new CurveServer({ ...serverKeys, secretKey: Buffer.alloc(33), properties: {} }), /33/);
  assert.throws(
    () => new CurveServer({ ...serverKeys, properties: { 'bad name': b('') } }),
    /invalid ZMTP property name/,
  );
});
