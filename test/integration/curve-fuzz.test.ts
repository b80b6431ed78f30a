/**
 * CURVE handshakes fuzzed at the real broker process (docs/PROTOCOL.md §15): each run opens a
 * connection and sends a real handshake with one step mutated (HELLO, INITIATE, the first
 * MESSAGE) or random commands; whatever it sends, the broker cuts that connection or carries on
 * with it, and keeps serving correct calls from admitted keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createClient } from '../../lib/bus/client';
import { encodeRequest } from '../../lib/bus/codec';
import { CurveClient } from '../../lib/bus/curve-client';
import { readCertificate } from '../../lib/bus/curve-cert';
import { EMPTY, MDPC01 } from '../../lib/bus/mdp';
import { waitForService } from '../helpers/bus';
import { initKeys, mechanismOf, peerEnv, startCurveBroker } from '../helpers/curve-mesh';
import { startNode } from '../helpers/proc';
import { COMMAND, greeting, RawZmtp } from '../helpers/zmtp-raw';

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'replace'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
);

function mutate(body: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(body);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] ^= 1 << m.bit;
      return out;
    case 'cut':
      return out.subarray(0, m.at % out.length);
    case 'extend':
      return Buffer.concat([out, m.bytes]);
    case 'replace':
      return Buffer.from(m.bytes);
  }
}

const STEPS = ['hello', 'initiate', 'message', 'garbage'] as const;

test('fuzzed CURVE handshakes at the broker: it keeps serving correct calls', async (t) => {
  const keys = initKeys(t);
  const broker = await startCurveBroker(t, keys);
  const bus = String(broker.endpoints.bus);
  const echo = await startNode('services/echo/main.js', { env: { AGORA_BUS_URL: bus, ...peerEnv(keys, 'echo') } });
  t.after(() => echo.stop('SIGKILL'));
  const good = createClient({ endpoint: bus, mechanism: await mechanismOf(keys, 'client'), timeoutMs: 5000 });
  t.after(() => good.close());
  await waitForService(good, 'echo', 10_000);
  const serverKey = (await readCertificate(`${keys.dir}/broker.key`)).publicKey;
  const own = await readCertificate(`${keys.dir}/client.key_secret`);
  let runs = 0;

  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...STEPS), mutation, async (step, m) => {
      runs++;
      const raw = await RawZmtp.connect(bus);
      try {
        raw.socket.write(greeting('CURVE', false));
        await raw.greeting();
        if (step === 'garbage') {
          raw.send(COMMAND, mutate(Buffer.from('\x05HELLO'), m));
        } else {
          const curve = new CurveClient({
            serverKey,
            publicKey: own.publicKey,
            secretKey: own.secretKey as Buffer,
            properties: { 'Socket-Type': Buffer.from('DEALER') },
          });
          const [hello] = curve.start();
          if (step === 'hello') raw.command(mutate(hello, m));
          else {
            raw.command(hello);
            const [initiate] = curve.onCommand((await raw.next()).body).send;
            if (step === 'initiate') raw.command(mutate(initiate, m));
            else {
              raw.command(initiate);
              curve.onCommand((await raw.next()).body);
              const frames = [EMPTY, MDPC01, Buffer.from('echo'), encodeRequest(7, 'echo', ['fuzz'])];
              const boxes = frames.map((f, i) => curve.encode(f, i < frames.length - 1 ? 1 : 0));
              boxes[0] = mutate(boxes[0], m);
              for (const box of boxes) raw.send(0, box);
            }
          }
        }
        // The broker cuts the connection, or answers, or waits for more: none of it stops it.
        await Promise.race([raw.closed, raw.next(300).catch(() => undefined)]);
      } catch {
        // The broker cut the connection before the step was sent: that is an answer too.
      } finally {
        raw.close();
      }
      assert.equal(await good.call('echo', 'echo', [runs]), runs);
    }),
    { numRuns: 60 },
  );
  assert.equal(broker.child.exitCode, null);
});
