/**
 * The broker's `mmi.status` and `mmi.tail` (docs/PROTOCOL.md §16), spoken to by raw DEALERs:
 * counters per service, an event per call while a client tails, none after `stop`.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Broker } from '../../lib/bus/broker';
import type { BrokerStatus, TailEvent } from '../../lib/bus/broker-stats';
import { encodeMeta, encodeRequest, encodeResponse, unpack } from '../../lib/bus/codec';
import { EMPTY, MDPC01 } from '../../lib/bus/mdp';
import { createLogger } from '../../lib/log';
import { Peer, uniqueId, waitMmi } from '../helpers/mdp-peer';

async function setup(t: TestContext): Promise<{ broker: Broker; peer(prefix: string): Peer }> {
  const broker = new Broker({
    endpoint: 'tcp://127.0.0.1:*',
    heartbeatMs: 100,
    heartbeatLiveness: 3,
    maxBodyBytes: 64 * 1024,
    queueMax: 100,
    waitForWorkerMs: 0,
    log: createLogger('test', 'silent'),
  });
  const endpoint = await broker.start();
  const peers: Peer[] = [];
  t.after(() => {
    for (const p of peers) p.close();
    broker.stop();
  });
  return {
    broker,
    peer: (prefix) => {
      const p = new Peer(endpoint, uniqueId(prefix));
      peers.push(p);
      return p;
    },
  };
}

/** The body of the next message `peer` receives on `service`. */
async function nextOn(peer: Peer, service: string): Promise<Buffer> {
  for (;;) {
    const frames = await peer.next();
    if (frames[2].toString() === service) return frames[3];
  }
}

test('mmi.status counts calls, errors and latency per service; mmi.tail streams them until stop', async (t) => {
  const s = await setup(t);
  const w = s.peer('worker');
  await w.ready('echo');
  const c = s.peer('client');
  await waitMmi(c, 'echo', '200');
  const tailer = s.peer('tailer');

  // Tail echo only; the broker says so first.
  await tailer.send([EMPTY, MDPC01, 'mmi.tail', 'echo']);
  assert.deepEqual(unpack(await nextOn(tailer, 'mmi.tail')), { tailing: true, service: 'echo', leaseMs: 30_000 });

  await c.ask('echo', encodeRequest(1, 'say', ['a']), encodeMeta({ caller: 'me', reqId: 'r-1' }));
  const r1 = await w.request();
  await w.reply(r1.client, encodeResponse(1, null, 'a'));
  await c.ask('echo', encodeRequest(2, 'fail', []));
  const r2 = await w.request();
  await w.reply(r2.client, encodeResponse(2, { code: 'AGORA_ERR_INTERNAL', message: 'x' }, null));
  await c.ask('nobody', encodeRequest(3, 'm', [])); // answered by the broker, not an echo event

  const e1 = unpack(await nextOn(tailer, 'mmi.tail')) as TailEvent;
  assert.deepEqual(
    { ...e1, t: 0, ms: 0 },
    {
      t: 0,
      service: 'echo',
      method: 'say',
      caller: 'me',
      reqId: 'r-1',
      ms: 0,
      outcome: 'ok',
    },
  );
  assert.ok(typeof e1.ms === 'number' && e1.ms >= 0);
  const e2 = unpack(await nextOn(tailer, 'mmi.tail')) as TailEvent;
  assert.equal(e2.method, 'fail');
  assert.equal(e2.outcome, 'error');

  await c.send([EMPTY, MDPC01, 'mmi.status', '']);
  const status = unpack(await nextOn(c, 'mmi.status')) as BrokerStatus;
  assert.equal(status.tailers, 1);
  const echo = status.services.find((x) => x.name === 'echo');
  assert.deepEqual(
    { ...echo, rate: 0, p50: 0, p99: 0 },
    {
      name: 'echo',
      workers: 1,
      slots: 1,
      busy: 0,
      queued: 0,
      calls: 2,
      errors: 1,
      rate: 0,
      p50: 0,
      p99: 0,
    },
  );
  assert.equal(typeof echo?.p50, 'number');

  // After stop, a call makes no event: the next message the tailer gets is the next tail's answer.
  await tailer.send([EMPTY, MDPC01, 'mmi.tail', 'stop']);
  assert.deepEqual(unpack(await nextOn(tailer, 'mmi.tail')), { tailing: false });
  await c.ask('echo', encodeRequest(4, 'say', []));
  const r4 = await w.request();
  await w.reply(r4.client, encodeResponse(4, null, 'b'));
  await nextOn(c, 'echo');
  await tailer.send([EMPTY, MDPC01, 'mmi.tail', '']);
  assert.deepEqual(unpack(await nextOn(tailer, 'mmi.tail')), { tailing: true, service: null, leaseMs: 30_000 });

  // Tailing every service: the broker's own refusals are events too.
  await c.ask('nobody', encodeRequest(5, 'm', []));
  const e5 = unpack(await nextOn(tailer, 'mmi.tail')) as TailEvent;
  assert.deepEqual([e5.service, e5.method, e5.ms, e5.outcome], ['nobody', 'm', null, 'AGORA_ERR_BUS_NO_SERVICE']);
  assert.equal(s.broker.status().tailers, 1);
});
