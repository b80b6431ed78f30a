/**
 * lib/bus/zmtp.ts against libzmq (through zeromq.js) in both directions, against raw bytes
 * written by hand (ZeroMQ RFC 23), split at every possible point, and against peers that
 * break the protocol: each is cut, and the socket keeps serving the others. Then the seam
 * for security mechanisms (lib/bus/zmtp-mechanism.ts): a connection driven by a toy one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Dealer, Router } from 'zeromq';
import { DealerSocket, RouterSocket, type Frames } from '../../lib/bus/zmtp';
import { Connection, type ConnectionOptions } from '../../lib/bus/zmtp-connection';
import type { HandshakeStep, Mechanism, Unboxed } from '../../lib/bus/zmtp-mechanism';
import { decodeProperties } from '../../lib/bus/properties';
import { COMMAND, encodeCommand, encodeMessage, encodeMessageInto } from '../../lib/bus/zmtp-wire';

const WAIT_MS = 5000;

/** A queue of what a callback receives, awaited one at a time with a deadline. */
class Inbox<T> {
  private items: T[] = [];
  private waiters: Array<(item: T) => void> = [];
  push = (item: T): void => {
    const w = this.waiters.shift();
    if (w !== undefined) w(item);
    else this.items.push(item);
  };
  next(ms = WAIT_MS): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing arrived in ${ms} ms`)), ms);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }
  get size(): number {
    return this.items.length;
  }
}

async function router(
  t: TestContext,
  options: ConstructorParameters<typeof RouterSocket>[0] = {},
  endpoint = 'tcp://127.0.0.1:*',
): Promise<{ r: RouterSocket; inbox: Inbox<Frames>; endpoint: string }> {
  const r = new RouterSocket(options);
  const inbox = new Inbox<Frames>();
  r.onMessage = inbox.push;
  const bound = await r.bind(endpoint);
  t.after(() => r.close());
  return { r, inbox, endpoint: bound };
}

function dealer(
  t: TestContext,
  endpoint: string,
  options: ConstructorParameters<typeof DealerSocket>[0] = {},
): { d: DealerSocket; inbox: Inbox<Frames>; connected: Inbox<true>; lost: Inbox<true> } {
  const d = new DealerSocket(options);
  const inbox = new Inbox<Frames>();
  const connected = new Inbox<true>();
  const lost = new Inbox<true>();
  d.onMessage = inbox.push;
  d.onConnect = () => connected.push(true);
  d.onDisconnect = () => lost.push(true);
  d.connect(endpoint);
  t.after(() => d.close());
  return { d, inbox, connected, lost };
}

const b = (s: string): Buffer => Buffer.from(s);
const sizes = [0, 1, 255, 256, 4096, 4097, 300_000];
const payloads = (): Frames => sizes.map((n, i) => Buffer.alloc(n, i + 1));

// ---- raw bytes, as RFC 23 writes them ----

const GREETING = Buffer.concat([
  Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0]),
  Buffer.from('NULL'.padEnd(20, '\0')),
  Buffer.alloc(32),
]);

function readyCommand(props: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from([5]), b('READY')];
  for (const [k, v] of Object.entries(props)) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(Buffer.byteLength(v));
    parts.push(Buffer.from([k.length]), b(k), len, b(v));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x04, body.length]), body]);
}

function frameBytes(frames: Frames): Buffer {
  const out: Buffer[] = [];
  frames.forEach((f, i) => {
    const more = i < frames.length - 1 ? 1 : 0;
    if (f.length <= 255) out.push(Buffer.from([more, f.length]));
    else {
      const h = Buffer.alloc(9);
      h[0] = more | 2;
      h.writeBigUInt64BE(BigInt(f.length), 1);
      out.push(h);
    }
    out.push(f);
  });
  return Buffer.concat(out);
}

/** A raw TCP peer: resolves once connected; `closed` resolves when the other side cuts it. */
async function rawPeer(
  t: TestContext,
  endpoint: string,
): Promise<{ s: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
  assert.ok(m !== null);
  const s = net.connect(Number(m[2]), m[1]);
  t.after(() => s.destroy());
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  return { s, received: () => Buffer.concat(chunks), closed };
}

async function until(what: string, ok: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---- against libzmq ----

test('a zeromq.js DEALER talks to our ROUTER: routing ids, every frame size, replies routed back', async (t) => {
  const { r, inbox, endpoint } = await router(t);
  const named = new Dealer({ routingId: 'named-peer', linger: 0 });
  const anonymous = new Dealer({ linger: 0 });
  t.after(() => {
    named.close();
    anonymous.close();
  });
  named.connect(endpoint);
  anonymous.connect(endpoint);
  await named.send(payloads());
  const first = await inbox.next();
  assert.deepEqual(first[0], b('named-peer'));
  assert.deepEqual(first.slice(1), payloads());
  await anonymous.send([b('hi')]);
  const second = await inbox.next();
  assert.equal(second[0].length, 5);
  assert.equal(second[0][0], 0, 'generated routing ids start with a zero byte');
  assert.deepEqual(second.slice(1), [b('hi')]);
  // Replies go to the peer the first frame names; an unknown id is dropped.
  assert.equal(r.send([second[0], b('to anonymous')]), true);
  assert.equal(r.send([b('nobody'), b('lost')]), false);
  assert.equal(r.send([b('named-peer'), ...payloads()]), true);
  assert.deepEqual(await anonymous.receive(), [b('to anonymous')]);
  assert.deepEqual(await named.receive(), payloads());
});

test('our DEALER talks to a zeromq.js ROUTER: Identity, queued-before-connect, every frame size', async (t) => {
  const zr = new Router({ linger: 0 });
  t.after(() => zr.close());
  await zr.bind('tcp://127.0.0.1:*');
  const { d, inbox, connected } = dealer(t, String(zr.lastEndpoint), { routingId: b('our-dealer') });
  // Sent before the handshake: kept and delivered once connected.
  assert.equal(d.send([b('early')]), true);
  assert.deepEqual(await zr.receive(), [b('our-dealer'), b('early')]);
  await connected.next();
  d.send(payloads());
  assert.deepEqual(await zr.receive(), [b('our-dealer'), ...payloads()]);
  await zr.send([b('our-dealer'), b(''), b('back')]);
  assert.deepEqual(await inbox.next(), [b(''), b('back')]);
});

test('our DEALER and ROUTER over ipc://', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zmtp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { r, inbox, endpoint } = await router(t, {}, `ipc://${path.join(dir, 'bus.sock')}`);
  assert.equal(endpoint, `ipc://${path.join(dir, 'bus.sock')}`);
  const { d, inbox: back } = dealer(t, endpoint);
  d.send([b('over'), b('ipc')]);
  const got = await inbox.next();
  assert.deepEqual(got.slice(1), [b('over'), b('ipc')]);
  r.send([got[0], b('ok')]);
  assert.deepEqual(await back.next(), [b('ok')]);
});

// ---- raw bytes ----

test('a message split at any byte boundary arrives whole, in order', async (t) => {
  const { inbox, endpoint } = await router(t);
  const peer = await rawPeer(t, endpoint);
  peer.s.write(Buffer.concat([GREETING, readyCommand({ 'Socket-Type': 'DEALER', Identity: 'splitter' })]));
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      async (messages, cuts) => {
        const frames = messages.map((m) => m.map((f) => Buffer.from(f)));
        const bytes = Buffer.concat(frames.map(frameBytes));
        // Write in pieces of the drawn sizes, cycling, each its own TCP segment as far as Node goes.
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length];
          peer.s.write(bytes.subarray(at, at + n));
          at += n;
          if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        for (const want of frames) assert.deepEqual(await inbox.next(), [b('splitter'), ...want]);
      },
    ),
    { numRuns: 40 },
  );
});

test('our greeting and READY are what RFC 23 specifies, and PING gets PONG with its context', async (t) => {
  const { endpoint } = await router(t);
  const peer = await rawPeer(t, endpoint);
  peer.s.write(Buffer.concat([GREETING, readyCommand({ 'Socket-Type': 'DEALER', Identity: '' })]));
  const ready = readyCommand({ 'Socket-Type': 'ROUTER', Identity: '' });
  await until('greeting and READY', () => peer.received().length >= 64 + ready.length);
  assert.deepEqual(peer.received().subarray(0, 64), GREETING);
  assert.deepEqual(peer.received().subarray(64, 64 + ready.length), ready);
  // PING: name, 2-byte TTL, context.
  const ping = Buffer.concat([Buffer.from([4]), b('PING'), Buffer.from([0, 10]), b('ctx')]);
  peer.s.write(Buffer.concat([Buffer.from([0x04, ping.length]), ping]));
  const pong = Buffer.concat([Buffer.from([0x04, 8, 4]), b('PONG'), b('ctx')]);
  await until('PONG', () => peer.received().length >= 64 + ready.length + pong.length);
  assert.deepEqual(peer.received().subarray(64 + ready.length), pong);
});

test('peers that break the protocol are cut; the ROUTER keeps serving', async (t) => {
  const { r, inbox, endpoint } = await router(t, { maxFrameBytes: 1000 });
  const ok = (props: Record<string, string> = { 'Socket-Type': 'DEALER' }): Buffer =>
    Buffer.concat([GREETING, readyCommand(props)]);
  const cases: Array<[string, Buffer]> = [
    ['a bad signature', Buffer.concat([Buffer.from([0x00]), GREETING.subarray(1)])],
    ['ZMTP 2', Buffer.concat([GREETING.subarray(0, 10), Buffer.from([2]), GREETING.subarray(11)])],
    [
      'the PLAIN mechanism',
      Buffer.concat([GREETING.subarray(0, 12), Buffer.from('PLAIN'.padEnd(20, '\0')), GREETING.subarray(32)]),
    ],
    ['an incompatible socket type', ok({ 'Socket-Type': 'PUB' })],
    ['no socket type', ok({ Identity: 'x' })],
    ['a message before READY', Buffer.concat([GREETING, frameBytes([b('early')])])],
    ['a frame over the size limit', Buffer.concat([ok(), frameBytes([Buffer.alloc(1001)])])],
    ['a 64-bit size over 2^32', Buffer.concat([ok(), Buffer.from([0x02, 0, 0, 0, 1, 0, 0, 0, 0])])],
    ['reserved flag bits', Buffer.concat([ok(), Buffer.from([0x10, 1, 0x41])])],
    ['an Identity starting with a zero byte', ok({ 'Socket-Type': 'DEALER', Identity: '\0abc' })],
    [
      'truncated READY properties',
      Buffer.concat([GREETING, Buffer.from([0x04, 8, 5]), b('READY'), Buffer.from([11, 0x53])]),
    ],
  ];
  for (const [what, bytes] of cases) {
    const peer = await rawPeer(t, endpoint);
    peer.s.write(bytes);
    await Promise.race([
      peer.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not cut`)), WAIT_MS)),
    ]);
  }
  // A second connection claiming an Identity in use is refused (libzmq does the same).
  const first = await rawPeer(t, endpoint);
  first.s.write(Buffer.concat([ok({ 'Socket-Type': 'DEALER', Identity: 'taken' }), frameBytes([b('first')])]));
  assert.deepEqual(await inbox.next(), [b('taken'), b('first')]);
  const second = await rawPeer(t, endpoint);
  second.s.write(ok({ 'Socket-Type': 'DEALER', Identity: 'taken' }));
  await second.closed;
  // After all that, a well-behaved peer is served.
  const { d, inbox: back } = dealer(t, endpoint);
  d.send([b('still there?')]);
  const got = await inbox.next();
  r.send([got[0], b('yes')]);
  assert.deepEqual(await back.next(), [b('yes')]);
});

test('a DEALER reconnects to a ROUTER restarted on the same port', async (t) => {
  const first = await router(t);
  const { d, inbox, connected, lost } = dealer(t, first.endpoint, { reconnectMs: 20 });
  await connected.next();
  d.send([b('one')]);
  assert.deepEqual((await first.inbox.next()).slice(1), [b('one')]);
  first.r.close();
  await lost.next();
  assert.equal(d.connected, false);
  // Sent while no connection is up: kept, then delivered to the new ROUTER.
  d.send([b('two')]);
  const second = new RouterSocket();
  const secondInbox = new Inbox<Frames>();
  second.onMessage = secondInbox.push;
  t.after(() => second.close());
  await second.bind(first.endpoint);
  await connected.next();
  const two = await secondInbox.next();
  assert.deepEqual(two.slice(1), [b('two')]);
  second.send([two[0], b('welcome back')]);
  assert.deepEqual(await inbox.next(), [b('welcome back')]);
});

test('close with linger delivers what was sent last; close without it does not wait', async (t) => {
  const { inbox, endpoint } = await router(t);
  const { d, connected } = dealer(t, endpoint);
  await connected.next();
  d.send([b('last words'), Buffer.alloc(200_000, 7)]);
  await d.close(1000);
  const got = await inbox.next();
  assert.deepEqual(got.slice(1), [b('last words'), Buffer.alloc(200_000, 7)]);
  assert.equal(d.send([b('after close')]), false);
});

test(
  'a peer that never finishes its greeting is cut once handshakeMs has passed; one that finished in time is not',
  { timeout: WAIT_MS },
  async (t) => {
    // Only setTimeout is mocked: the handshake clock. Sockets and their events are real.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const HANDSHAKE_MS = 250;
    const { inbox, endpoint } = await router(t, { handshakeMs: HANDSHAKE_MS });
    // 1. Two peers connect; each hears the ROUTER's greeting, so its handshake clock runs.
    const greeted = (p: { s: net.Socket; received: () => Buffer }): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (p.received().length < GREETING.length) return;
          p.s.off('data', check);
          resolve();
        };
        p.s.on('data', check);
        check();
      });
    const silent = await rawPeer(t, endpoint);
    const prompt = await rawPeer(t, endpoint);
    await Promise.all([greeted(silent), greeted(prompt)]);
    let silentCut = false;
    void silent.closed.then(() => (silentCut = true));
    // 2. One tick short of the limit: `silent` sends half a greeting and stops; `prompt` finishes
    //    its handshake and its message arrives.
    t.mock.timers.tick(HANDSHAKE_MS - 1);
    silent.s.write(GREETING.subarray(0, 32));
    prompt.s.write(
      Buffer.concat([
        GREETING,
        readyCommand({ 'Socket-Type': 'DEALER', Identity: 'prompt' }),
        frameBytes([b('in time')]),
      ]),
    );
    assert.deepEqual(await inbox.next(), [b('prompt'), b('in time')]);
    assert.equal(silentCut, false, 'cut before its time');
    // 3. The limit: the silent peer's connection is closed by the ROUTER (the real close event).
    t.mock.timers.tick(1);
    await silent.closed;
    // 4. The handshaken one is never cut by that clock: it is still served long after.
    t.mock.timers.tick(60_000);
    prompt.s.write(frameBytes([b('later')]));
    assert.deepEqual(await inbox.next(), [b('prompt'), b('later')]);
  },
);

// ---- the mechanism seam ----

/**
 * A toy mechanism (no security: it flips every bit) shaped like CURVE: the client opens with
 * HELLO, the server answers WELCOME, each carrying its metadata; after that every frame
 * travels as a BOX command holding [flags][body, bits flipped]. It notes the commands it opens.
 */
class FlipMechanism implements Mechanism {
  readonly name = 'X-FLIP';
  readonly opened: string[] = [];

  constructor(
    readonly asServer: boolean,
    private readonly metadata: Buffer,
  ) {}

  start(): Buffer {
    return this.asServer ? Buffer.alloc(0) : encodeCommand('HELLO', this.metadata);
  }

  handshake(name: string, data: Buffer): HandshakeStep | undefined {
    if (name !== (this.asServer ? 'HELLO' : 'WELCOME')) return undefined;
    const peer = decodeProperties(data);
    if (peer === undefined) return undefined;
    return this.asServer ? { reply: encodeCommand('WELCOME', this.metadata), peer } : { peer };
  }

  box(frames: Frames, from: number, out: Buffer[]): number {
    let bytes = 0;
    for (let i = from; i < frames.length; i++) {
      const boxed = this.seal(i < frames.length - 1 ? 0x01 : 0, frames[i]);
      out.push(boxed);
      bytes += boxed.length;
    }
    return bytes;
  }

  boxCommand(name: string, data: Buffer): Buffer {
    return this.seal(COMMAND, Buffer.concat([Buffer.from([name.length]), b(name), data]));
  }

  readonly unbox = (buf: Buffer, start: number, end: number): Unboxed | undefined => {
    const frame = buf.subarray(start, end);
    if (frame.toString('latin1', 1, 4) !== 'BOX' || frame.length < 5) return undefined;
    const body = flip(frame.subarray(5));
    if (frame[4] & COMMAND) this.opened.push(body.toString('latin1', 1, 1 + body[0]));
    return { flags: frame[4], body };
  };

  private seal(flags: number, body: Buffer): Buffer {
    return encodeCommand('BOX', Buffer.concat([Buffer.from([flags]), flip(body)]));
  }
}

const flip = (bytes: Buffer): Buffer => Buffer.from(bytes.map((x) => x ^ 0xff));

test('a connection runs the handshake and every frame through its mechanism', async (t) => {
  // 1. A server and a client connection over TCP, each with its own toy mechanism.
  const mechanisms = new Map<'ROUTER' | 'DEALER', FlipMechanism>();
  const options = (type: 'ROUTER' | 'DEALER', inbox: Inbox<Frames>, ready: Inbox<Buffer>): ConnectionOptions => ({
    type,
    routingId: b(type === 'DEALER' ? 'client' : ''),
    maxFrameBytes: 1 << 20,
    handshakeMs: WAIT_MS,
    mechanism: (metadata) => {
      const m = new FlipMechanism(type === 'ROUTER', metadata);
      mechanisms.set(type, m);
      return m;
    },
    onReady: (_c, identity) => {
      ready.push(identity);
      return true;
    },
    onMessage: (_c, frames) => inbox.push(frames),
    onClose: () => undefined,
  });
  const serverInbox = new Inbox<Frames>();
  const serverReady = new Inbox<Buffer>();
  const accepted = new Inbox<Connection>();
  const server = net.createServer((s) => accepted.push(new Connection(s, options('ROUTER', serverInbox, serverReady))));
  t.after(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const clientInbox = new Inbox<Frames>();
  const clientReady = new Inbox<Buffer>();
  const wire: Buffer[] = [];
  const stream = net.connect(port, '127.0.0.1');
  stream.on('data', (chunk: Buffer) => wire.push(chunk));
  const client = new Connection(stream, options('DEALER', clientInbox, clientReady));
  t.after(() => client.destroy());
  // 2. HELLO and WELCOME carried each side's metadata: the server knows the client's Identity.
  assert.deepEqual(await serverReady.next(), b('client'));
  assert.deepEqual(await clientReady.next(), b(''));
  const peer = await accepted.next();
  t.after(() => peer.destroy());
  // 3. Messages both ways, boxed and unboxed: frames, their order and their MORE flags survive.
  const message = [b('one'), Buffer.alloc(300, 7), b('')];
  client.send(message);
  assert.deepEqual(await serverInbox.next(), message);
  peer.send([b('back'), b('again')]);
  assert.deepEqual(await clientInbox.next(), [b('back'), b('again')]);
  assert.ok(!Buffer.concat(wire).includes(b('again')), 'a frame crossed the wire unboxed');
  // 4. A PING boxed by the client is opened by the server, which answers a boxed PONG.
  const ping = Buffer.concat([Buffer.from([0, 10]), b('ctx')]);
  const [clientMechanism, serverMechanism] = [mechanisms.get('DEALER'), mechanisms.get('ROUTER')];
  assert.ok(clientMechanism !== undefined && serverMechanism !== undefined);
  stream.write(clientMechanism.boxCommand('PING', ping));
  await until('PONG', () => clientMechanism.opened.includes('PONG'));
  assert.deepEqual(serverMechanism.opened, ['PING']);
});

test('what one turn sends arrives whole and in order, also while the socket holds an earlier write', async (t) => {
  const { inbox, endpoint } = await router(t);
  const { d, connected } = dealer(t, endpoint);
  await connected.next();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const small = (n: number, tag: string): Frames[] =>
    Array.from({ length: n }, (_, i) => [b(''), b(`${tag}-${i}`), Buffer.alloc(i % 300, i % 251)]);
  const sent: Frames[] = [];
  const send = (frames: Frames): void => {
    assert.equal(d.send(frames), true);
    sent.push(frames);
  };
  // One turn: small messages (encoded in place), a large one (by reference) among them, small ones again.
  for (const m of small(150, 'a')) send(m);
  send([b('big'), Buffer.alloc(300_000, 7)]);
  for (const m of small(150, 'b')) send(m);
  await turn();
  // A write the kernel cannot take at once, then two turns of small messages while it is still held.
  send([b('huge'), Buffer.alloc(16 * 1024 * 1024, 9)]);
  await turn();
  for (const m of small(100, 'c')) send(m);
  await turn();
  for (const m of small(100, 'd')) send(m);
  for (const expected of sent) assert.deepEqual((await inbox.next()).slice(1), expected);
});

test('a message encoded in place is the bytes encodeMessage writes, or nothing when it does not fit', () => {
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.integer({ min: 0, max: 5000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
  );
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 3 }), (raw, skip) => {
      const frames = raw.map((f) => Buffer.from(f));
      const from = Math.min(skip, frames.length - 1);
      const parts: Buffer[] = [];
      encodeMessage(frames, from, parts);
      const expected = Buffer.concat(parts);
      const buf = Buffer.alloc(expected.length + 10, 0xee);
      const end = encodeMessageInto(frames, from, buf, 10);
      if (frames.slice(from).some((f) => f.length > 4096)) return assert.equal(end, -1);
      assert.equal(end, 10 + expected.length);
      assert.deepEqual(buf.subarray(10, end), expected);
      assert.equal(encodeMessageInto(frames, from, buf, 11), -1, 'one byte short: nothing written');
      assert.deepEqual(buf.subarray(10, end), expected);
    }),
  );
});

test('a ROUTER takes a message of 1024 frames besides the routing id it adds, and cuts a peer that sends more', async (t) => {
  const { inbox, endpoint } = await router(t);
  const { d, connected, lost } = dealer(t, endpoint);
  await connected.next();
  const frames = (n: number): Frames => Array.from({ length: n }, (_, i) => b(String(i)));
  d.send(frames(1024));
  const got = await inbox.next();
  assert.equal(got.length, 1025);
  assert.deepEqual(got.slice(1), frames(1024));
  d.send(frames(1025));
  await lost.next();
  assert.equal(inbox.size, 0);
});
