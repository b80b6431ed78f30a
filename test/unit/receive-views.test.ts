/**
 * Received frames as views (lib/bus/zmtp-connection.ts `views`, the broker's ROUTER): the socket
 * hands out the frames where they lie in the buffer they were read into, and the broker copies
 * the body of every request it holds into a buffer of its own (lib/bus/broker.ts `ownCopy`), so
 * that a held request neither changes when that memory is written nor keeps it alive; clients and
 * workers (DEALER, also with views) copy the frames they keep (`keepFrame`), and a worker reads a request
 * body where it lies into params that hold no view of it (lib/bus/codec.ts `unpack` with `copy`).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ownCopy } from '../../lib/bus/broker';
import { encodeRequest, unpack } from '../../lib/bus/codec';
import { Command, EMPTY, MDPW01, REQUEST } from '../../lib/bus/mdp';
import { serve } from '../../lib/bus/worker';
import { within } from '../../lib/deadline';
import { createLogger } from '../../lib/log';
import { routerInbox } from '../helpers/router-inbox';
import { DealerSocket, RouterSocket, type Frames } from '../../lib/bus/zmtp';
import { keepFrame, RECEIVE_COPY_BELOW } from '../../lib/bus/zmtp-connection';

/** Frames of `sizes` bytes as views of one buffer, each filled with its index + 1, and that buffer. */
function views(sizes: number[]): { frames: Buffer[]; under: Buffer } {
  const under = Buffer.alloc(sizes.reduce((a, b) => a + b, 0) + 16);
  let at = 8;
  const frames = sizes.map((n, i) => {
    const f = under.subarray(at, at + n);
    f.fill(i + 1);
    at += n;
    return f;
  });
  return { frames, under };
}

test('a held body keeps its bytes when the buffer it was read into is written again', () => {
  for (const sizes of [[40, 25], [0, 7], [1], [300, 0, 4096]]) {
    const { frames, under } = views(sizes);
    const held = ownCopy(frames);
    under.fill(0xee);
    assert.equal(held.length, sizes.length);
    held.forEach((f, i) => {
      assert.deepEqual(f, Buffer.alloc(sizes[i], i + 1));
      assert.notEqual(f.buffer, under.buffer, 'a held frame shares the read buffer');
    });
  }
});

test('a held body over the copy limit keeps only its large frames as they are', () => {
  const { frames, under } = views([RECEIVE_COPY_BELOW + 1, 10]);
  const held = ownCopy(frames);
  assert.equal(held[0], frames[0]);
  under.fill(0xee, RECEIVE_COPY_BELOW + 20);
  assert.deepEqual(held[1], Buffer.alloc(10, 2));
});

async function pair(
  t: TestContext,
  receiveViews: boolean,
  knownFrames?: Buffer[],
): Promise<{ frames: Promise<Frames>; d: DealerSocket }> {
  const r = new RouterSocket(knownFrames === undefined ? { receiveViews } : { receiveViews, knownFrames });
  const frames = new Promise<Frames>((resolve) => (r.onMessage = resolve));
  const endpoint = await r.bind('tcp://127.0.0.1:*');
  const d = new DealerSocket();
  d.connect(endpoint);
  t.after(async () => {
    await d.close();
    r.close();
  });
  return { frames, d };
}

test('a ROUTER with receiveViews hands out views of one read buffer; without, copies', async (t) => {
  for (const receiveViews of [true, false]) {
    const { frames, d } = await pair(t, receiveViews);
    d.send([Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')]);
    const [, a, b, c] = await frames;
    assert.deepEqual([a, b, c].map(String), ['abc', 'def', 'ghi']);
    // On the wire each 3-byte frame follows a 2-byte header: views lie 5 bytes apart in one buffer.
    const adjacent = a.buffer === b.buffer && b.byteOffset - a.byteOffset === 5 && c.byteOffset - b.byteOffset === 5;
    assert.equal(adjacent, receiveViews);
  }
});

test('keepFrame copies a small frame and keeps a large one as it is', () => {
  const { frames, under } = views([12, RECEIVE_COPY_BELOW + 1]);
  const small = keepFrame(frames[0]);
  const large = keepFrame(frames[1]);
  under.fill(0xee, 0, 30);
  assert.deepEqual(small, Buffer.alloc(12, 1));
  assert.notEqual(small.buffer, under.buffer);
  assert.equal(large, frames[1]);
});

/** A ROUTER of ours and a DEALER (with or without receiveViews) connected to it, closed after the test. */
async function dealerPair(
  t: TestContext,
  receiveViews: boolean,
): Promise<{ r: RouterSocket; got: Promise<Frames>; d: DealerSocket }> {
  const r = new RouterSocket();
  const got = new Promise<Frames>((resolve) => (r.onMessage = resolve));
  const endpoint = await r.bind('tcp://127.0.0.1:*');
  const d = new DealerSocket({ receiveViews });
  d.connect(endpoint);
  t.after(async () => {
    await d.close();
    r.close();
  });
  return { r, got, d };
}

test('a DEALER with receiveViews hands out views of one read buffer', async (t) => {
  const { r, got, d } = await dealerPair(t, true);
  const back = new Promise<Frames>((resolve) => (d.onMessage = resolve));
  d.send([Buffer.from('hi')]);
  const [id] = await got;
  r.send([id, Buffer.from('abc'), Buffer.from('def')]);
  const [a, b] = await back;
  assert.deepEqual([a, b].map(String), ['abc', 'def']);
  assert.ok(a.buffer === b.buffer && b.byteOffset - a.byteOffset === 5);
});

/** Frame `i` of the stream: its size varies from 1 byte to over two reads' worth, its bytes depend on i. */
function nth(i: number): Buffer {
  const size = [1, 7, 254, 256, 3000, 40_000, 70_000, 150_000][i % 8] + (i % 13);
  const f = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) f[j] = (i * 31 + j * 7) & 0xff;
  return f;
}

test('a DEALER reads into one reused buffer: frames kept from it, and messages and frames split over reads, keep their bytes', async (t) => {
  for (const receiveViews of [false, true]) {
    const { r, got, d } = await dealerPair(t, receiveViews);
    const count = 400;
    const kept: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      d.onMessage = (frames) => {
        for (const f of frames) kept.push(receiveViews ? keepFrame(f) : f);
        if (kept.length === count * 2) resolve();
      };
    });
    d.send([Buffer.from('hi')]);
    const [id] = await got;
    // Sent in one turn: the reads that carry them end and start anywhere within their frames.
    // A small frame first: where the read ends within the large one, it has been read already.
    for (let i = 0; i < count; i++) r.send([id, Buffer.from(`message ${i}`), nth(i)]);
    await within(all, 10_000, () => new Error(`${kept.length / 2} of ${count} messages arrived`));
    for (let i = 0; i < count; i++) {
      assert.equal(kept[2 * i].toString(), `message ${i}`);
      assert.ok(kept[2 * i + 1].equals(nth(i)), `frame ${i} of ${receiveViews ? 'views' : 'copies'} changed`);
    }
  }
});

test('a worker reads each request body where it lies: params its handler keeps do not change with the next read', async (t) => {
  const { broker, next } = routerInbox();
  const endpoint = await broker.bind('tcp://127.0.0.1:*');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  let called: () => void = () => undefined;
  const keep = async (params: unknown[]): Promise<unknown> => {
    calls++;
    called();
    await gate;
    return params;
  };
  const log = createLogger('test', 'error', { write: () => undefined });
  const pool = serve('keep', { keep }, { endpoint, concurrency: 8, log });
  t.after(async () => {
    await pool.close();
    broker.close();
  });
  const ready = await next();
  const id = ready[0];
  const client = Buffer.from([0, 1, 2, 3, 4]);
  const bin = (i: number): Buffer => Buffer.alloc(64, i + 1);
  // Four requests in one write, held by the handler; four more of the same sizes land in the same read buffer.
  const batch = (from: number): void => {
    for (let i = from; i < from + 4; i++) {
      const body = encodeRequest(i, 'keep', [bin(i), `text ${i}`, { bin: bin(i + 100) }]);
      broker.send([id, EMPTY, MDPW01, REQUEST, client, EMPTY, body]);
    }
  };
  const callsReach = async (n: number): Promise<void> => {
    while (calls < n) await new Promise<void>((resolve) => (called = resolve));
  };
  batch(0);
  await callsReach(4);
  batch(4);
  await callsReach(8);
  release();
  for (let n = 0; n < 8; n++) {
    const reply = await next();
    assert.equal(reply[3][0], Command.REPLY);
    const [, msgid, error, result] = unpack(reply[6]) as [number, number, unknown, unknown[]];
    assert.equal(error, null);
    assert.deepEqual(
      [Buffer.from(result[0] as Uint8Array), result[1], Buffer.from((result[2] as { bin: Uint8Array }).bin)],
      [bin(msgid), `text ${msgid}`, bin(msgid + 100)],
    );
  }
});

test('a frame with the bytes of one of knownFrames is handed out as that one; any other as before', async (t) => {
  const known: Buffer[] = [Buffer.from('MDPC01'), Buffer.from([3])];
  const { frames: got, d } = await pair(t, true, known);
  d.send([Buffer.from('MDPC01'), Buffer.from([3]), Buffer.from('MDPC02'), Buffer.from([3, 3]), Buffer.from('MDPC0')]);
  const [, header, command, ...others] = await got;
  assert.equal(header, known[0]);
  assert.equal(command, known[1]);
  assert.deepEqual(
    others.map((f) => f.toString('hex')),
    ['4d4450433032', '0303', '4d44504330'],
  );
  assert.ok(others.every((f) => !known.includes(f)));
});
