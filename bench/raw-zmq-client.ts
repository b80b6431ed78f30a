/**
 * The transport ceiling's load: one DEALER sending [id][payload] (the payload msgpack-
 * encoded once, the same bytes every call) and matching each echo by its 4-byte id.
 * An answer counts when its bytes equal what was sent.
 */
import { encode } from '@msgpack/msgpack';
import { Dealer } from 'zeromq';
import { clientMain, PAYLOAD, type Connected, type LoadPlan } from './load';

async function connect(plan: LoadPlan): Promise<Connected> {
  const dealer = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  dealer.connect(plan.endpoint);
  const body = Buffer.from(encode(PAYLOAD));
  const waiting = new Map<number, (answer: Buffer) => void>();
  const outbox: Buffer[][] = [];
  let sending = false;
  let nextId = 0;

  // zeromq.js allows one send in progress per socket: a minimal pump.
  const pump = async (): Promise<void> => {
    sending = true;
    while (outbox.length > 0) await dealer.send(outbox.shift() as Buffer[]);
    sending = false;
  };
  const receive = async (): Promise<void> => {
    for await (const [id, answer] of dealer) {
      const resolve = waiting.get(id.readUInt32LE(0));
      if (resolve === undefined) continue;
      waiting.delete(id.readUInt32LE(0));
      resolve(answer);
    }
  };
  void receive().catch(() => undefined);

  const call = (): Promise<Buffer> =>
    new Promise((resolve) => {
      nextId = (nextId + 1) >>> 0;
      const id = Buffer.allocUnsafe(4);
      id.writeUInt32LE(nextId, 0);
      waiting.set(nextId, resolve);
      outbox.push([id, body]);
      if (!sending) void pump();
    });
  // Ready when the server has answered once.
  const first = await Promise.race([
    call(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('no echo in 10 s')), 10_000).unref()),
  ]);
  if (!(first as Buffer).equals(body)) throw new Error('the first echo differs from what was sent');
  return { call, check: (answer) => body.equals(answer as Buffer), close: () => dealer.close() };
}

clientMain('raw-zmq-client', connect);
