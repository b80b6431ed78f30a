/**
 * The CURVE server (lib/bus/curve-server.ts) under random and mutated input: whatever a peer
 * sends, as handshake commands or as MESSAGE bodies, each call returns or throws a CurveError,
 * synchronously; nothing else escapes, and once it has failed it stays failed. Mutations start
 * from real commands so that they reach the deep checks (cookie, vouch, metadata, nonces), not
 * only the size checks.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { CurveError } from '../../lib/bus/curve';
import { CurveClient } from '../../lib/bus/curve-client';
import { CurveServer } from '../../lib/bus/curve-server';
import { decodeProperties } from '../../lib/bus/properties';
import { boxKeyPair, sodiumReady, type KeyPair } from '../../lib/bus/sodium';

let serverKeys: KeyPair;
let clientKeys: KeyPair;

before(async () => {
  await sodiumReady();
  serverKeys = boxKeyPair();
  clientKeys = boxKeyPair();
});

const newServer = (): CurveServer =>
  new CurveServer({
    ...serverKeys,
    properties: { 'Socket-Type': Buffer.from('ROUTER') },
    authorize: (key) => key.equals(clientKeys.publicKey),
  });

const newClient = (): CurveClient =>
  new CurveClient({
    serverKey: serverKeys.publicKey,
    ...clientKeys,
    properties: { 'Socket-Type': Buffer.from('DEALER') },
  });

/** One mutation of a byte string: flip bits, set a byte, cut, extend, splice random bytes, or keep it. */
type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'keep' };

const position = fc.nat({ max: 1000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: position }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: position, bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.constant({ kind: 'keep' as const }),
);

function mutate(body: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(body);
  const at = body.length === 0 ? 0 : ('at' in m ? m.at : 0) % body.length;
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) out[at] ^= m.bits;
      return out;
    case 'set':
      if (out.length > 0) out[at] = m.value;
      return out;
    case 'cut':
      return out.subarray(0, at);
    case 'extend':
      return Buffer.concat([out, m.extra]);
    case 'splice':
      out.set(m.bytes.subarray(0, out.length - at), at);
      return out;
    case 'keep':
      return out;
  }
}

/** Run `fn`; it must return or throw a CurveError. Answers whether it threw. */
function onlyCurveErrors(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (!(e instanceof CurveError)) throw new Error(`threw ${String(e)}, not a CurveError`, { cause: e });
    assert.match(e.code, /^CURVE_/);
    return true;
  }
}

/** Random bodies, some starting with a real command name so that they pass the name check. */
const randomBody = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
  fc
    .tuple(
      fc.constantFrom('\x05HELLO', '\x08INITIATE', '\x07MESSAGE', '\x05READY', '\x05ERROR'),
      fc.uint8Array({ maxLength: 400 }),
    )
    .map(([name, rest]) => Buffer.concat([Buffer.from(name, 'latin1'), rest])),
  // HELLO-shaped: the right size, version and padding, then a random key, nonce and box.
  fc
    .uint8Array({ minLength: 120, maxLength: 120 })
    .map((rest) => Buffer.concat([Buffer.from('\x05HELLO\x01\x00', 'latin1'), Buffer.alloc(72), Buffer.from(rest)])),
);

test('random command bodies, one after another: only CurveErrors, and failed stays failed', () => {
  fc.assert(
    fc.property(fc.array(randomBody, { minLength: 1, maxLength: 6 }), (bodies) => {
      const server = newServer();
      let failed = false;
      for (const body of bodies) {
        const threw = onlyCurveErrors(() => server.onCommand(body));
        if (failed) assert.ok(threw, 'a failed mechanism accepted a command');
        failed ||= threw;
      }
      assert.equal(server.ready, false);
    }),
    { numRuns: 300 },
  );
});

test('a real HELLO then INITIATE, each mutated: the handshake completes only when both are intact', () => {
  fc.assert(
    fc.property(fc.array(mutation, { maxLength: 3 }), fc.array(mutation, { maxLength: 3 }), (onHello, onInitiate) => {
      const client = newClient();
      const server = newServer();
      const hello = client.start()[0];
      const badHello = onHello.reduce(mutate, hello);
      let welcome: Buffer | undefined;
      if (onlyCurveErrors(() => (welcome = server.onCommand(badHello).send[0]))) {
        return assert.ok(!badHello.equals(hello), 'an intact HELLO was refused');
      }
      assert.ok(welcome !== undefined);
      let initiate: Buffer | undefined;
      // A mutated HELLO that still passed (same bytes) leads to a real WELCOME.
      if (onlyCurveErrors(() => (initiate = client.onCommand(welcome as Buffer).send[0]))) return;
      const badInitiate = onInitiate.reduce(mutate, initiate as Buffer);
      const threw = onlyCurveErrors(() => server.onCommand(badInitiate));
      assert.equal(threw, !badInitiate.equals(initiate as Buffer), 'INITIATE accepted iff intact');
      assert.equal(server.ready, !threw);
    }),
    { numRuns: 300 },
  );
});

test('after the handshake, mutated and random MESSAGE bodies: only CurveErrors, intact ones open', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.array(mutation, { maxLength: 2 })), { maxLength: 6 }),
      randomBody,
      (messages, noise) => {
        const client = newClient();
        const server = newServer();
        const welcome = server.onCommand(client.start()[0]).send[0];
        client.onCommand(server.onCommand(client.onCommand(welcome).send[0]).send[0]);
        let failed = false;
        for (const [frame, mutations] of messages) {
          const body = client.encode(Buffer.from(frame));
          const sent = mutations.reduce(mutate, body);
          const threw = onlyCurveErrors(() => assert.deepEqual(server.decode(sent).frame, Buffer.from(frame)));
          if (!failed && !threw) assert.ok(sent.equals(body), 'an altered MESSAGE opened');
          if (!failed && sent.equals(body)) assert.ok(!threw, 'an intact MESSAGE was refused');
          failed ||= threw;
        }
        onlyCurveErrors(() => server.decode(noise));
      },
    ),
    { numRuns: 200 },
  );
});

test('decodeProperties never throws: a Map that fills the input exactly, or undefined', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const props = decodeProperties(Buffer.from(bytes));
      if (props === undefined) return;
      let size = 0;
      for (const [name, value] of props) size += 1 + name.length + 4 + value.length;
      assert.ok(size <= bytes.length); // a repeated name keeps the last value
    }),
    { numRuns: 2000 },
  );
});
