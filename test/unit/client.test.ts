/**
 * lib/bus/client.ts against a scripted broker (a zeromq.js ROUTER): behaviours a real broker
 * cannot be made to show on demand, such as an answer arriving after its request timed out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from 'zeromq';
import { createClient } from '../../lib/bus/client';
import { EMPTY, MDPC01, MMI_SERVICE } from '../../lib/bus/mdp';
import { isAgoraError } from '../../lib/errors';

test('a late MMI answer is taken by the request that timed out, not by the next one', async (t) => {
  const broker = new Router({ linger: 0 });
  await broker.bind('tcp://127.0.0.1:*');
  const client = createClient({ endpoint: String(broker.lastEndpoint) });
  t.after(() => {
    client.close();
    broker.close();
  });
  // 1. The first probe gets no answer in time.
  const first = client.hasService('echo', { timeoutMs: 100 });
  const [id1, , , service1, body1] = await broker.receive();
  assert.equal(service1.toString(), MMI_SERVICE);
  assert.equal(body1.toString(), 'echo');
  await assert.rejects(first, (err) => isAgoraError(err) && err.code === 'AGORA_ERR_BUS_TIMEOUT');
  // 2. A second probe; the broker answers the first one late ("404"), then the second ("200").
  const second = client.hasService('echo', { timeoutMs: 2000 });
  const [id2] = await broker.receive();
  assert.deepEqual(id2, id1);
  await broker.send([id1, EMPTY, MDPC01, service1, Buffer.from('404')]);
  await broker.send([id1, EMPTY, MDPC01, service1, Buffer.from('200')]);
  assert.equal(await second, true);
});
