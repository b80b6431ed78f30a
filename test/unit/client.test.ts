/**
 * lib/bus/client.ts against a scripted broker (a zeromq.js ROUTER): behaviours a real broker
 * cannot be made to show on demand, such as an answer arriving after its request timed out, or a reply whose
 * msgid is written wider than it needs.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Router } from 'zeromq';
import { createClient } from '../../lib/bus/client';
import { decodeMessage, encodeResponse, pack } from '../../lib/bus/codec';
import { EMPTY, MDPC01, MMI_SERVICE } from '../../lib/bus/mdp';
import { AgoraError, isAgoraError } from '../../lib/errors';

/** A scripted broker (a zeromq.js ROUTER on a free port) and a client of it, both closed after the test. */
async function scripted(t: TestContext): Promise<{ broker: Router; client: ReturnType<typeof createClient> }> {
  const broker = new Router({ linger: 0 });
  await broker.bind('tcp://127.0.0.1:*');
  const client = createClient({ endpoint: String(broker.lastEndpoint) });
  t.after(() => {
    client.close();
    broker.close();
  });
  return { broker, client };
}

test('a late MMI answer is taken by the request that timed out, not by the next one', async (t) => {
  const { broker, client } = await scripted(t);
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

test('readResult reads a successful result from its bytes, whatever the msgid width; an error is decoded as usual', async (t) => {
  const { broker, client } = await scripted(t);
  const result = { messages: [{ messageid: 1, username: 'ann', message: 'hi' }] };
  const read: Buffer[] = [];
  const readResult = (bytes: Uint8Array): unknown => {
    read.push(Buffer.from(bytes));
    return 'read';
  };
  /** [1, msgid, error, result] with the msgid written in `width` bytes (0: a fixint). */
  const reply = (msgid: number, width: number, error: unknown, value: unknown): Buffer => {
    const id = width === 0 ? [msgid] : [[0xcc, 0xcd, 0, 0xce][width - 1], ...Array<number>(width - 1).fill(0), msgid];
    return Buffer.concat([Buffer.from([0x94, 0x01, ...id]), pack(error), pack(value)]);
  };
  for (const width of [0, 1, 2, 4]) {
    const call = client.call('Messages', 'Retrieve', [{}], { readResult });
    const [id, , , service, body] = await broker.receive();
    const msgid = (decodeMessage(body) as { msgid: number }).msgid;
    await broker.send([id, EMPTY, MDPC01, service, reply(msgid, width, null, result)]);
    assert.equal(await call, 'read');
    assert.deepEqual(read.pop(), pack(result), `msgid in ${width} bytes`);
  }
  const failing = client.call('Messages', 'Retrieve', [{}], { readResult });
  const [id, , , service, body] = await broker.receive();
  const msgid = (decodeMessage(body) as { msgid: number }).msgid;
  const error = new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', ['"x"']).toWire();
  await broker.send([id, EMPTY, MDPC01, service, reply(msgid, 0, error, null)]);
  await assert.rejects(failing, (err) => isAgoraError(err) && err.code === 'AGORA_ERR_CHANNEL_NOT_FOUND');
  assert.equal(read.length, 0, 'an error is not read as a result');
  const throwing = client.call('Messages', 'Retrieve', [{}], {
    readResult: () => {
      throw new Error('unreadable');
    },
  });
  const [id2, , , service2, body2] = await broker.receive();
  const msgid2 = (decodeMessage(body2) as { msgid: number }).msgid;
  await broker.send([id2, EMPTY, MDPC01, service2, reply(msgid2, 0, null, result)]);
  await assert.rejects(throwing, /unreadable/);
});

test('calls time out at their own deadlines, in any order, past the ones answered or failed before', async (t) => {
  const { broker, client } = await scripted(t);
  const start = Date.now();
  // Deadlines out of order: 400, 150 (answered), 250, 80 (answered), 300 ms; each call's settling is timed.
  const ms = [400, 150, 250, 80, 300];
  const settled = ms.map((timeoutMs, i) => {
    const deadline = start + timeoutMs;
    return client.call('echo', 'echo', [i], { deadline }).then(
      (value) => ({ i, value, at: Date.now(), deadline }),
      (err: unknown) => ({ i, err, at: Date.now(), deadline }),
    );
  });
  const ids = new Map<number, { route: Buffer; msgid: number }>();
  for (let n = 0; n < ms.length; n++) {
    const [route, , , , body] = await broker.receive();
    const request = decodeMessage(body);
    assert.equal(request.type, 0);
    if (request.type === 0) ids.set(request.params[0] as number, { route, msgid: request.msgid });
  }
  for (const i of [1, 3]) {
    const { route, msgid } = ids.get(i) ?? assert.fail(`call ${i} not received`);
    await broker.send([route, EMPTY, MDPC01, Buffer.from('echo'), encodeResponse(msgid, null, `answer ${i}`)]);
  }
  const results = await Promise.all(settled);
  assert.deepEqual(
    results.filter((r) => 'value' in r).map((r) => ('value' in r ? r.value : undefined)),
    ['answer 1', 'answer 3'],
  );
  const timedOut = results.filter((r) => 'err' in r).sort((a, b) => a.at - b.at);
  assert.deepEqual(
    timedOut.map((r) => r.i),
    [2, 4, 0],
  );
  for (const r of timedOut) {
    assert.ok('err' in r && isAgoraError(r.err) && r.err.code === 'AGORA_ERR_BUS_TIMEOUT', `call ${r.i}`);
    assert.ok(r.at >= r.deadline, `call ${r.i} timed out ${r.deadline - r.at} ms before its deadline`);
    assert.ok(r.at < r.deadline + 1000, `call ${r.i} timed out ${r.at - r.deadline} ms after its deadline`);
  }
  assert.equal(client.inFlight, 0);
});
