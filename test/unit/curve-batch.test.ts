/**
 * The MESSAGE codec's batches (lib/bus/curve.ts `sealFrames` and `open`, in place in
 * libsodium's heap): many frames of every size sealed in one call come out as ZMTP data frames
 * whose boxes libsodium-wrappers' own crypto_box_open_easy_afternm opens, with consecutive
 * short nonces; a tampered frame in the middle of a batch fails there and everything after it
 * fails too; frames opened out of order are refused; sessions interleaved and an area that
 * grows keep each session's key apart; the staged key is wiped by the end of the turn.
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { before, test } from 'node:test';
import {
  CurveError,
  MESSAGE_COMMAND,
  MESSAGE_MORE,
  nonce,
  readShortNonce,
  type CurveSession,
} from '../../lib/bus/curve';
import { CurveClient } from '../../lib/bus/curve-client';
import { CurveServer } from '../../lib/bus/curve-server';
import {
  boxKeyPair,
  boxOpenAfter,
  heapArea,
  heapAreaBytes,
  heapBytes,
  sodiumReady,
  type KeyPair,
} from '../../lib/bus/sodium';

const b = (s: string): Buffer => Buffer.from(s);

let serverKeys: KeyPair;
let clientKeys: KeyPair;

before(async () => {
  await sodiumReady();
  serverKeys = boxKeyPair();
  clientKeys = boxKeyPair();
});

/** A client and a server past their handshake. */
function pair(): { client: CurveClient; server: CurveServer } {
  const client = new CurveClient({
    serverKey: serverKeys.publicKey,
    ...clientKeys,
    properties: { 'Socket-Type': b('DEALER') },
  });
  const server = new CurveServer({ ...serverKeys, properties: { 'Socket-Type': b('ROUTER') } });
  const welcome = server.onCommand(client.start()[0]).send[0];
  const initiate = client.onCommand(welcome).send[0];
  const ready = server.onCommand(initiate).send[0];
  client.onCommand(ready);
  assert.ok(client.ready && server.ready);
  return { client, server };
}

/** The session's crypto_box_beforenm key (a protected field), to check its boxes independently. */
const sharedOf = (session: CurveSession): Buffer => (session as unknown as { shared: Buffer }).shared;

interface WireFrame {
  /** The ZMTP frame header's flags. */
  flags: number;
  /** Where its body starts and ends in the wire. */
  start: number;
  end: number;
}

/** The ZMTP frames of `wire` (RFC 23 "Framing"): short ones [flags][size], long ones [flags|LONG][8-byte size]. */
function frames(wire: Buffer): WireFrame[] {
  const out: WireFrame[] = [];
  let at = 0;
  while (at < wire.length) {
    const flags = wire[at];
    const long = (flags & 0x02) !== 0;
    const size = long ? Number(wire.readBigUInt64BE(at + 1)) : wire[at + 1];
    const start = at + (long ? 9 : 2);
    out.push({ flags, start, end: start + size });
    at = start + size;
  }
  assert.equal(at, wire.length, 'the wire ends with its last frame');
  return out;
}

/** Frames of every size around the codec's edges: empty, the copy loop's, a short header's limit, large. */
const SIZES = [0, 1, 5, 31, 32, 33, 100, 222, 223, 224, 1000, 4096, 20_000, 70_000];

test('many frames sealed in one call: data frames with no flags, boxes that libsodium itself opens, nonces in order', () => {
  const { client, server } = pair();
  client.encode(b('before')); // the batch goes on from the nonce this took
  const sent = Array.from({ length: 120 }, (_, i) => Buffer.alloc(SIZES[i % SIZES.length], i));
  const wire = client.sealFrames(sent);
  const found = frames(wire);
  assert.equal(found.length, sent.length);
  const shared = sharedOf(client);
  let previous = -1;
  found.forEach(({ flags, start, end }, i) => {
    // libzmq's encoding: the frame header has no MORE nor COMMAND; they travel inside the box.
    assert.equal(flags & ~0x02, 0, `frame ${i}: header flags`);
    assert.equal((flags & 0x02) !== 0, end - start > 255, `frame ${i}: LONG exactly when over 255 octets`);
    assert.equal(wire.toString('latin1', start, start + 8), '\x07MESSAGE');
    const short = readShortNonce(wire, start + 8);
    if (previous >= 0) assert.equal(short, previous + 1, `frame ${i}: the next short nonce`);
    previous = short;
    const plain = boxOpenAfter(
      wire.subarray(start + 16, end),
      nonce('CurveZMQMESSAGEC', wire.subarray(start + 8, start + 16)),
      shared,
    );
    assert.ok(plain !== undefined, `frame ${i}: libsodium-wrappers opens the box`);
    assert.equal(plain[0], i < sent.length - 1 ? MESSAGE_MORE : 0);
    assert.deepEqual(plain.subarray(1), sent[i]);
  });
  // Once the peer has opened a later nonce, the batch's frames are replays.
  server.decode(client.encode(b('x')));
  assert.throws(
    () => server.open(wire, found[0].start, found[0].end),
    (e: unknown) => e instanceof CurveError && e.code === 'CURVE_SEQUENCE',
  );
});

test('a batch round trip: every frame and its MORE flag; a command batch carries COMMAND on its last frame', () => {
  const { client, server } = pair();
  for (const [from, to] of [
    [client, server],
    [server, client],
  ] as const) {
    const sent = SIZES.map((n, i) => Buffer.alloc(n, 0x40 + i));
    const wire = from.sealFrames(sent);
    const got = frames(wire).map(({ start, end }) => to.open(wire, start, end));
    assert.deepEqual(
      got.map((f) => f.frame),
      sent,
    );
    assert.deepEqual(
      got.map((f) => f.flags),
      sent.map((_, i) => (i < sent.length - 1 ? MESSAGE_MORE : 0)),
    );
    const command = from.sealFrames([b('\x04PING\x00\x0actx')], 0, MESSAGE_COMMAND);
    const [only] = frames(command);
    assert.deepEqual(to.open(command, only.start, only.end), {
      frame: b('\x04PING\x00\x0actx'),
      flags: MESSAGE_COMMAND,
    });
  }
});

test('a tampered frame in the middle of a batch: the frames before it open, it fails, and so does every later one', () => {
  const { client, server } = pair();
  const sent = Array.from({ length: 7 }, (_, i) => Buffer.alloc(i * 10, i));
  const wire = client.sealFrames(sent);
  const found = frames(wire);
  wire[found[3].end - 1] ^= 0x01; // the last octet of the fourth box
  assert.deepEqual(server.open(wire, found[0].start, found[0].end).frame, sent[0]);
  assert.deepEqual(server.open(wire, found[1].start, found[1].end).frame, sent[1]);
  assert.deepEqual(server.open(wire, found[2].start, found[2].end).frame, sent[2]);
  assert.throws(
    () => server.open(wire, found[3].start, found[3].end),
    (e: unknown) => e instanceof CurveError && e.code === 'CURVE_CRYPTO',
  );
  assert.throws(
    () => server.open(wire, found[4].start, found[4].end),
    (e: unknown) => e instanceof CurveError && e.code === 'CURVE_UNEXPECTED',
  );
});

test('frames of a batch opened out of order, or twice, are refused', () => {
  const { client, server } = pair();
  const wire = client.sealFrames([b('one'), b('two'), b('three')]);
  const [one, two] = frames(wire);
  assert.deepEqual(server.open(wire, two.start, two.end).frame, b('two')); // a skipped nonce is allowed
  assert.throws(
    () => server.open(wire, one.start, one.end),
    (e: unknown) => e instanceof CurveError && e.code === 'CURVE_SEQUENCE',
  );
  const { client: c2, server: s2 } = pair();
  const again = c2.sealFrames([b('one'), b('two')]);
  const [first] = frames(again);
  s2.open(again, first.start, first.end);
  assert.throws(
    () => s2.open(again, first.start, first.end),
    (e: unknown) => e instanceof CurveError && e.code === 'CURVE_SEQUENCE',
  );
});

test("sessions interleaved, and an area that grows under a staged key, keep each session's key apart", () => {
  const a = pair();
  const c = pair();
  for (let round = 0; round < 3; round++) {
    // The same session boxes a small frame, then one larger than the area: the area is replaced
    // (perhaps at the same address) while that session's key is staged in it.
    const small = a.client.sealFrames([b('small')]);
    const big = Buffer.alloc(heapAreaBytes() + 1000, round);
    const large = a.client.sealFrames([big, b('a')]);
    const fromC = c.server.sealFrames([b('c'), Buffer.alloc(50_000, 2)]);
    const [s] = frames(small);
    const [l0, l1] = frames(large);
    const [c0, c1] = frames(fromC);
    assert.deepEqual(c.client.open(fromC, c0.start, c0.end).frame, b('c'));
    assert.deepEqual(a.server.open(small, s.start, s.end).frame, b('small'));
    assert.deepEqual(a.server.open(large, l0.start, l0.end).frame, big);
    assert.deepEqual(c.client.open(fromC, c1.start, c1.end).frame, Buffer.alloc(50_000, 2));
    assert.deepEqual(a.server.open(large, l1.start, l1.end).frame, b('a'));
  }
});

test('the key staged in libsodium heap is wiped by the end of the turn', async () => {
  const { client } = pair();
  client.sealFrames([b('x')]);
  const area = heapArea(0);
  const staged = (): Buffer => Buffer.from(heapBytes().subarray(area, area + 32));
  assert.deepEqual(staged(), sharedOf(client), 'staged for the turn');
  await nextTurn();
  assert.deepEqual(staged(), Buffer.alloc(32), 'wiped after it');
});
