/**
 * Property: whatever frames arrive, from whichever peers, the broker neither throws nor
 * stops; its counts stay consistent; and afterwards a real worker registers and a client's
 * call goes through it. Frames are random bytes, biased toward the real vocabulary of
 * RFC 7/MDP (headers MDPC01/MDPW01, command bytes 0..7, empty frames, msgpack-rpc bodies)
 * so that the generated traffic reaches deep into the broker's state machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Broker } from '../../lib/bus/broker';
import { encodeMeta, encodeRequest, encodeResponse } from '../../lib/bus/codec';
import { DISCONNECT, EMPTY, HEARTBEAT, MDPC01, MDPW01, READY, REPLY } from '../../lib/bus/mdp';
import { createLogger } from '../../lib/log';
import { Peer, uniqueId, waitMmi, type Frames } from '../helpers/mdp-peer';

const RUNS = 40;
const PEERS = 3;

const VOCABULARY: Buffer[] = [
  EMPTY,
  MDPC01,
  MDPW01,
  Buffer.from('MDPC02'),
  Buffer.from('MDPW0'),
  Buffer.from('fuzz'),
  Buffer.from('mmi.service'),
  Buffer.from('mmi.services'),
  Buffer.from('mmi.x'),
  encodeRequest(1, 'm', []),
  encodeRequest(0xffffffff, 'm', [null]),
  encodeResponse(1, null, 1),
  encodeMeta({ idempotent: true }),
  encodeMeta({ deadline: 0 }),
  encodeMeta({ deadline: Date.now() + 60_000 }),
  Buffer.from([0xc1]),
  Buffer.alloc(300, 0x61),
];

const byteFrame = fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b));
const commandFrame = fc.integer({ min: 0, max: 7 }).map((c) => Buffer.from([c]));
const frame = fc.oneof(
  { arbitrary: byteFrame, weight: 2 },
  { arbitrary: fc.constantFrom(...VOCABULARY), weight: 3 },
  { arbitrary: commandFrame, weight: 2 },
  { arbitrary: fc.constant(EMPTY), weight: 1 },
);

const message: fc.Arbitrary<Frames> = fc.oneof(
  // anything at all
  fc.array(frame, { minLength: 1, maxLength: 8 }),
  // a real envelope and header, then anything
  fc.tuple(fc.constantFrom(MDPC01, MDPW01), fc.array(frame, { maxLength: 6 })).map(([h, rest]) => [EMPTY, h, ...rest]),
  // a worker command byte 0..7, then anything
  fc.tuple(commandFrame, fc.array(frame, { maxLength: 5 })).map(([c, rest]) => [EMPTY, MDPW01, c, ...rest]),
  // a REPLY with a random client address and body
  fc.tuple(frame, frame).map(([client, body]) => [EMPTY, MDPW01, REPLY, client, EMPTY, body]),
  // well-formed messages that change the broker's state
  fc.constantFrom<Frames>(
    [EMPTY, MDPW01, READY, Buffer.from('fuzz')],
    [EMPTY, MDPW01, HEARTBEAT],
    [EMPTY, MDPW01, DISCONNECT],
    [EMPTY, MDPC01, Buffer.from('fuzz'), encodeRequest(7, 'm', [])],
    [EMPTY, MDPC01, Buffer.from('fuzz'), encodeRequest(8, 'm', []), encodeMeta({ idempotent: true })],
  ),
);

const scenario = fc.array(fc.record({ from: fc.integer({ min: 0, max: PEERS - 1 }), frames: message }), {
  minLength: 1,
  maxLength: 30,
});

/** Read until the answer to this peer's `mmi.service` probe, skipping whatever the broker sent before. */
async function probe(p: Peer): Promise<void> {
  await p.ask('mmi.service', 'fuzz');
  for (;;) {
    const m = await p.next();
    if (m.length === 4 && m[1].equals(MDPC01) && m[2].toString() === 'mmi.service') return;
  }
}

test('random frames from several peers never break the broker', async (t) => {
  const errors: string[] = [];
  const log = createLogger('test', 'error', { write: (line: string) => void errors.push(line) });
  const open = new Set<Peer>();
  let broker: Broker | undefined;
  const stop = (): void => {
    for (const p of open) p.close();
    open.clear();
    broker?.stop();
    broker = undefined;
  };
  t.after(stop);
  let run = 0;

  await fc.assert(
    fc.asyncProperty(scenario, async (messages) => {
      // A fresh broker per run, so that a counterexample replays (and shrinks) on its own.
      stop();
      run++;
      errors.length = 0;
      // Heartbeats fast enough to run within the test, with room for a loaded machine (the
      // real worker below must not be dropped for answering late).
      broker = new Broker({
        endpoint: 'tcp://127.0.0.1:*',
        heartbeatMs: 100,
        heartbeatLiveness: 5,
        maxBodyBytes: 256,
        queueMax: 4,
        log,
      });
      const endpoint = await broker.start();
      const peer = (prefix: string): Peer => {
        const p = new Peer(endpoint, uniqueId(prefix));
        open.add(p);
        return p;
      };
      // 1. Several peers send the generated traffic.
      const fuzzers = Array.from({ length: PEERS }, () => peer('fuzz'));
      for (const m of messages) await fuzzers[m.from].send(m.frames);
      // 2. Each peer's probe is answered after the broker has handled all it sent.
      await Promise.all(fuzzers.map(probe));
      assert.deepEqual(errors, [], 'the broker logged no handling failure');
      for (const s of broker.stats()) {
        assert.ok(s.idle <= s.slots, `idle within slots: ${JSON.stringify(s)}`);
        assert.ok(s.idle === 0 || s.queued === 0, `nothing queued while a worker idles: ${JSON.stringify(s)}`);
      }
      // 3. A real worker and client still make a round trip, and the heartbeat timer still runs.
      const service = `check-${run}`;
      const worker = peer('worker');
      const client = peer('client');
      worker.answerHeartbeats = true;
      await worker.ready(service);
      await waitMmi(client, service, '200');
      const body = encodeRequest(run, 'm', [run]);
      await client.ask(service, body);
      const r = await worker.request();
      assert.deepEqual(r.body, [body]);
      await worker.reply(r.client, encodeResponse(run, null, run));
      const res = await client.response(service);
      assert.deepEqual([res.msgid, res.error, res.result], [run, null, run]);
      await worker.waitHeartbeats(1);
    }),
    { numRuns: RUNS },
  );
});
