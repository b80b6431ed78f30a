/**
 * The broker in-process, spoken to frame by frame by raw ZeroMQ DEALERs playing client and
 * worker (RFC 7/MDP 0.2, RFC 8/MMI, docs/PROTOCOL.md). Every MDP command, every error the
 * broker answers, heartbeat expiry and malformed traffic. Readiness is always a signal (a
 * frame received, an MMI answer, the broker's counts); the only timed waits are where the
 * property is time itself (a deadline passing) and they are short.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Broker, type BrokerOptions, type ServiceStats } from '../../lib/bus/broker';
import {
  DRAIN_OPTIONS,
  encodeMeta,
  encodeNotification,
  encodeRequest,
  encodeResponse,
  pack,
  unpack,
} from '../../lib/bus/codec';
import { Command, DISCONNECT, EMPTY, HEARTBEAT, MDPC01, MDPW01, READY, REPLY, REQUEST } from '../../lib/bus/mdp';
import { createLogger } from '../../lib/log';
import { describe, isDisconnect, Peer, uniqueId, WAIT_MS, waitMmi, type Frames } from '../helpers/mdp-peer';

const HEARTBEAT_MS = 100;
const LIVENESS = 3;

interface Setup {
  broker: Broker;
  endpoint: string;
  /** A new DEALER, closed after the test. */
  peer(prefix?: string): Peer;
  /** A worker that sent READY for `service` (offering `slots`, when given) and that the broker has registered. */
  worker(service: string, options?: { answerHeartbeats?: boolean; slots?: number }): Promise<Peer>;
  /** Poll the broker's counts until `ok` holds, within WAIT_MS. */
  until(service: string, ok: (s: ServiceStats) => boolean): Promise<ServiceStats>;
}

async function setup(t: TestContext, options: Partial<BrokerOptions> = {}): Promise<Setup> {
  const broker = new Broker({
    endpoint: 'tcp://127.0.0.1:*',
    heartbeatMs: HEARTBEAT_MS,
    heartbeatLiveness: LIVENESS,
    maxBodyBytes: 64 * 1024,
    queueMax: 100,
    log: createLogger('test', 'silent'),
    ...options,
  });
  const endpoint = await broker.start();
  const peers: Peer[] = [];
  t.after(() => {
    for (const p of peers) p.close();
    broker.stop();
  });
  const peer = (prefix = 'peer'): Peer => {
    const p = new Peer(endpoint, uniqueId(prefix));
    peers.push(p);
    return p;
  };
  const until = async (service: string, ok: (s: ServiceStats) => boolean): Promise<ServiceStats> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const s = broker.stats().find((x) => x.name === service) ?? {
        name: service,
        workers: 0,
        slots: 0,
        idle: 0,
        queued: 0,
      };
      if (ok(s)) return s;
      if (Date.now() > deadline)
        assert.fail(`broker counts for ${service} never satisfied the condition; last ${JSON.stringify(s)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const worker = async (service: string, opts: { answerHeartbeats?: boolean; slots?: number } = {}): Promise<Peer> => {
    const w = peer('worker');
    w.answerHeartbeats = opts.answerHeartbeats ?? true;
    const before = broker.stats().find((x) => x.name === service)?.workers ?? 0;
    if (opts.slots === undefined) await w.ready(service);
    else await w.send([EMPTY, MDPW01, READY, service, pack({ slots: opts.slots })]);
    await until(service, (s) => s.workers > before);
    return w;
  };
  return { broker, endpoint, peer, worker, until };
}

/** A broker error response: exactly one body frame holding [1, msgid, {code, message}, nil]. */
function rpcError(body: Frames): { msgid: unknown; code: string; message: string } {
  assert.equal(body.length, 1, 'one body frame');
  const m = unpack(body[0]) as unknown[];
  assert.ok(Array.isArray(m) && m.length === 4, `a msgpack-rpc response, got ${JSON.stringify(m)}`);
  assert.equal(m[0], 1);
  assert.equal(m[3], null);
  const error = m[2] as { code: string; message: string };
  assert.equal(typeof error.code, 'string');
  assert.equal(typeof error.message, 'string');
  return { msgid: m[1], code: error.code, message: error.message };
}

/** The msgid of the msgpack-RPC request in a REQUEST's body. */
function msgidOf(body: Frames): number {
  return (unpack(body[0]) as [number, number])[1];
}

const ok = (msgid: number, result: unknown = 'ok'): Buffer => encodeResponse(msgid, null, result);

test('READY, then a request reaches the worker as REQUEST with the client envelope and the body and meta frames unchanged; the REPLY reaches the client', async (t) => {
  const s = await setup(t);
  const w = await s.worker('echo');
  const c = s.peer('client');
  const body = encodeRequest(1, 'Echo', ['hi', 2 ** 53 - 1]);
  const meta = encodeMeta({ reqId: 'r-1', caller: 'broker.test', deadline: Date.now() + 60_000 });

  await c.ask('echo', body, meta);
  assert.deepEqual(await w.next(), [EMPTY, MDPW01, REQUEST, Buffer.from(c.id), EMPTY, body, meta]);

  const reply = encodeResponse(1, null, ['hi', 2 ** 53 - 1]);
  await w.reply(Buffer.from(c.id), reply);
  assert.deepEqual(await c.next(), [EMPTY, MDPC01, Buffer.from('echo'), reply]);

  // Without a meta frame the REQUEST carries the body alone.
  const body2 = encodeRequest(2, 'Echo', []);
  await c.ask('echo', body2);
  assert.deepEqual(await w.next(), [EMPTY, MDPW01, REQUEST, Buffer.from(c.id), EMPTY, body2]);
});

test('two workers of one service both get work', async (t) => {
  const s = await setup(t);
  const w1 = await s.worker('twin');
  const w2 = await s.worker('twin');
  const c = s.peer('client');
  await c.ask('twin', encodeRequest(1, 'm', []));
  await c.ask('twin', encodeRequest(2, 'm', []));
  const [r1, r2] = await Promise.all([w1.request(), w2.request()]);
  assert.deepEqual([msgidOf(r1.body), msgidOf(r2.body)].sort(), [1, 2]);
  await w2.reply(r2.client, ok(msgidOf(r2.body)));
  await w1.reply(r1.client, ok(msgidOf(r1.body)));
  const got = [(await c.response('twin')).msgid, (await c.response('twin')).msgid];
  assert.deepEqual(got.sort(), [1, 2]);
  // Both are idle again.
  await s.until('twin', (x) => x.idle === 2);
});

/** Three slots: three requests reach one socket, the fourth queues; replies in any order. */
async function threeSlots(t: TestContext): Promise<void> {
  const s = await setup(t);
  const w = await s.worker('multi', { slots: 3 });
  assert.deepEqual(await s.until('multi', () => true), { name: 'multi', workers: 1, slots: 3, idle: 3, queued: 0 });
  const c = s.peer('client');
  for (const id of [1, 2, 3, 4]) await c.ask('multi', encodeRequest(id, 'm', [id]));
  const held = [await w.request(), await w.request(), await w.request()];
  assert.deepEqual(
    held.map((r) => msgidOf(r.body)),
    [1, 2, 3],
  );
  assert.deepEqual(await s.until('multi', (x) => x.queued === 1), {
    name: 'multi',
    workers: 1,
    slots: 3,
    idle: 0,
    queued: 1,
  });
  // 1. The second request is answered first: its slot takes the queued fourth.
  await w.reply(held[1].client, ok(2, 'two'));
  assert.deepEqual(await c.response('multi'), { type: 1, msgid: 2, error: null, result: 'two' });
  const fourth = await w.request();
  assert.equal(msgidOf(fourth.body), 4);
  // 2. A REPLY whose msgid the worker does not hold is dropped, and frees nothing.
  await w.reply(held[1].client, ok(2, 'again'));
  await w.reply(held[1].client, ok(99, 'never asked'));
  // 3. The others, out of order; each reaches the client with its own msgid.
  await w.reply(fourth.client, ok(4, 'four'));
  await w.reply(held[0].client, ok(1, 'one'));
  await w.reply(held[2].client, ok(3, 'three'));
  const rest = [await c.response('multi'), await c.response('multi'), await c.response('multi')];
  assert.deepEqual(
    rest.map((r) => [r.msgid, r.result]),
    [
      [4, 'four'],
      [1, 'one'],
      [3, 'three'],
    ],
  );
  assert.deepEqual(await s.until('multi', (x) => x.idle === 3), {
    name: 'multi',
    workers: 1,
    slots: 3,
    idle: 3,
    queued: 0,
  });
}

/** Each REPLY frees its own slot, whichever client and whatever body it answers. */
async function eachReplyFreesItsSlot(t: TestContext): Promise<void> {
  const s = await setup(t);
  const w = await s.worker('keys', { slots: 5 });
  await s.until('keys', (x) => x.idle === 5);
  const a = s.peer('client');
  const b = s.peer('client');
  // 1. Five requests held at once: msgid 1 from each client; from `a` two notifications and a
  //    body with no msgid to read (workers answer it AGORA_ERR_BUS_BAD_MESSAGE, msgid nil).
  await a.ask('keys', encodeRequest(1, 'm', ['a']));
  await b.ask('keys', encodeRequest(1, 'm', ['b']));
  await a.ask('keys', encodeNotification('n', []));
  await a.ask('keys', encodeNotification('n', []));
  await a.ask('keys', Buffer.from([0xc1]));
  const held = await Promise.all(Array.from({ length: 5 }, () => w.request()));
  await s.until('keys', (x) => x.idle === 0);
  const aId = held.find((r) => r.body[0][0] === 0xc1)?.client ?? assert.fail('the unreadable body was not held');
  const bId = held.find((r) => !r.client.equals(aId))?.client ?? assert.fail('b held nothing');
  // 2. The answers, in an order unlike the requests'; each reaches its own client.
  await w.reply(bId, ok(1, 'b'));
  await w.reply(
    aId,
    encodeResponse(null, { code: 'AGORA_ERR_BUS_BAD_MESSAGE', message: 'Malformed bus message' }, null),
  );
  await w.reply(aId, EMPTY);
  await w.reply(aId, ok(1, 'a'));
  await w.reply(aId, EMPTY);
  assert.deepEqual(await b.response('keys'), { type: 1, msgid: 1, error: null, result: 'b' });
  const bad = unpack((await a.answer('keys'))[0]) as unknown[];
  assert.deepEqual(bad.slice(0, 2), [1, null]);
  assert.deepEqual(
    (await a.answer('keys')).map((f) => f.length),
    [0],
  );
  assert.deepEqual(await a.response('keys'), { type: 1, msgid: 1, error: null, result: 'a' });
  assert.deepEqual(
    (await a.answer('keys')).map((f) => f.length),
    [0],
  );
  // 3. Every slot is free again: nothing was freed twice or left behind.
  assert.deepEqual(await s.until('keys', (x) => x.idle === 5), {
    name: 'keys',
    workers: 1,
    slots: 5,
    idle: 5,
    queued: 0,
  });
}

test('a worker whose READY offers slots holds that many requests at once (docs/PROTOCOL.md §3)', async (t) => {
  await t.test('three slots: three requests reach one socket, the fourth queues; replies in any order', threeSlots);

  await t.test('a notification held in a slot is freed by an empty REPLY', async (t) => {
    const s = await setup(t);
    const w = await s.worker('note', { slots: 2 });
    await s.until('note', (x) => x.idle === 2);
    const c = s.peer('client');
    await c.ask('note', encodeNotification('tick', []));
    const r = await w.request();
    await s.until('note', (x) => x.idle === 1);
    await w.reply(r.client, EMPTY);
    await s.until('note', (x) => x.idle === 2);
  });

  await t.test(
    'each REPLY frees its own slot: one msgid from two clients, notifications and unreadable bodies of one client',
    eachReplyFreesItsSlot,
  );

  await t.test('every request held by a lost worker is rescued or failed', async (t) => {
    const s = await setup(t);
    const w = await s.worker('fragile', { slots: 2, answerHeartbeats: false });
    await s.until('fragile', (x) => x.idle === 2);
    const c = s.peer('client');
    await c.ask('fragile', encodeRequest(1, 'm', []));
    await c.ask('fragile', encodeRequest(2, 'm', []));
    await w.request();
    await w.request();
    const lost = [rpcError(await c.answer('fragile', WAIT_MS)), rpcError(await c.answer('fragile', WAIT_MS))];
    assert.deepEqual(
      lost.map((e) => [e.msgid, e.code]),
      [
        [1, 'AGORA_ERR_BUS_WORKER_LOST'],
        [2, 'AGORA_ERR_BUS_WORKER_LOST'],
      ],
    );
  });

  for (const [what, options] of [
    ['not a msgpack map', Buffer.from('slots=3')],
    ['slots 0', pack({ slots: 0 })],
    ['slots over 1024', pack({ slots: 1025 })],
    ['fractional slots', pack({ slots: 1.5 })],
  ] as const) {
    await t.test(`a READY options frame with ${what} gets DISCONNECT and registers nothing`, async (t) => {
      const s = await setup(t);
      const w = s.peer('worker');
      await w.send([EMPTY, MDPW01, READY, 'badopts', options]);
      assert.ok(isDisconnect(await w.next()));
      assert.equal(await s.peer('client').mmi('badopts'), '404');
    });
  }
});

test('while every worker is busy requests queue, and are served in order as the worker replies', async (t) => {
  const s = await setup(t);
  const w = await s.worker('one');
  const c = s.peer('client');
  for (const id of [1, 2, 3]) await c.ask('one', encodeRequest(id, 'm', [id]));
  const first = await w.request();
  assert.equal(msgidOf(first.body), 1);
  assert.deepEqual(await s.until('one', (x) => x.queued === 2), {
    name: 'one',
    workers: 1,
    slots: 1,
    idle: 0,
    queued: 2,
  });
  let current = first;
  for (const id of [1, 2, 3]) {
    assert.equal(msgidOf(current.body), id);
    await w.reply(current.client, ok(id, id * 10));
    const res = await c.response('one');
    assert.deepEqual([res.msgid, res.error, res.result], [id, null, id * 10]);
    if (id < 3) current = await w.request();
  }
  await s.until('one', (x) => x.idle === 1 && x.queued === 0);
});

test("a full queue answers AGORA_ERR_BUS_QUEUE_FULL with the request's own msgid", async (t) => {
  const s = await setup(t, { queueMax: 1 });
  const w = await s.worker('small');
  const c = s.peer('client');
  await c.ask('small', encodeRequest(1, 'm', [])); // served
  await c.ask('small', encodeRequest(2, 'm', [])); // queued
  await c.ask('small', encodeRequest(3, 'm', [])); // refused
  const refused = rpcError(await c.answer('small'));
  assert.equal(refused.code, 'AGORA_ERR_BUS_QUEUE_FULL');
  assert.equal(refused.msgid, 3);
  assert.equal(refused.message, 'Too many requests waiting for small');
  // The two accepted ones are still served, in order.
  const r1 = await w.request();
  await w.reply(r1.client, ok(1));
  assert.equal((await c.response('small')).msgid, 1);
  const r2 = await w.request();
  assert.equal(msgidOf(r2.body), 2);
});

const WAIT_FOR_WORKER_MS = 200;

test('a request without deadline for a service without workers waits waitForWorkerMs for one, then gets AGORA_ERR_BUS_NO_SERVICE; a body that is not a msgpack-rpc request gets msgid nil', async (t) => {
  const s = await setup(t, { waitForWorkerMs: WAIT_FOR_WORKER_MS });
  const c = s.peer('client');
  const asked = Date.now();
  await c.ask('nobody', encodeRequest(42, 'm', []));
  assert.equal(await c.mmi('nobody'), '404', 'mmi.service answers at once while the request waits');
  const e = rpcError(await c.answer('nobody'));
  const waited = Date.now() - asked;
  assert.deepEqual([e.msgid, e.code, e.message], [42, 'AGORA_ERR_BUS_NO_SERVICE', 'No worker serves nobody']);
  assert.ok(waited >= WAIT_FOR_WORKER_MS - 5, `answered after ${waited} ms, before the wait ended`);

  const bodies = [
    Buffer.from('not msgpack at all'),
    pack({ a: 1 }),
    encodeNotification('m', []),
    pack([0, -1, 'm', []]),
    Buffer.from([0xc1]),
  ];
  for (const body of bodies) await c.ask('nobody', body);
  await s.until('nobody', (x) => x.queued === bodies.length);
  for (const body of bodies) {
    const n = rpcError(await c.answer('nobody'));
    assert.equal(n.msgid, null, `body 0x${body.toString('hex')}`);
    assert.equal(n.code, 'AGORA_ERR_BUS_NO_SERVICE');
  }
  assert.equal(c.pending, 0);
});

test('waitForWorkerMs 0: a request without deadline for a service without workers gets AGORA_ERR_BUS_NO_SERVICE at once', async (t) => {
  const s = await setup(t, { waitForWorkerMs: 0 });
  const c = s.peer('client');
  await c.ask('nobody', encodeRequest(1, 'm', []));
  const e = rpcError(await c.answer('nobody', 1000));
  assert.deepEqual([e.msgid, e.code], [1, 'AGORA_ERR_BUS_NO_SERVICE']);
  assert.equal(s.broker.stats().find((x) => x.name === 'nobody')?.queued ?? 0, 0);
});

test('a request sent before its worker registers is served by it once it does, whatever the wait left', async (t) => {
  const s = await setup(t, { waitForWorkerMs: 60_000 });
  const c = s.peer('client');
  await c.ask('later', encodeRequest(1, 'm', []));
  await c.ask('later', encodeRequest(2, 'm', []), encodeMeta({ deadline: Date.now() + 60_000 }));
  await s.until('later', (x) => x.workers === 0 && x.queued === 2);
  assert.equal(c.pending, 0, 'no answer while no worker is registered');
  const w = await s.worker('later');
  for (const msgid of [1, 2]) {
    const r = await w.request();
    assert.equal(msgidOf(r.body), msgid);
    await w.reply(r.client, ok(msgid));
    assert.equal((await c.response('later')).msgid, msgid);
  }
});

test('a request with a deadline for a service without workers gets AGORA_ERR_BUS_NO_SERVICE just before that deadline', async (t) => {
  const s = await setup(t, { waitForWorkerMs: 60_000 });
  const c = s.peer('client');
  const asked = Date.now();
  const deadline = asked + 400;
  await c.ask('nobody', encodeRequest(7, 'm', []), encodeMeta({ deadline }));
  const e = rpcError(await c.answer('nobody'));
  const answered = Date.now();
  assert.deepEqual([e.msgid, e.code], [7, 'AGORA_ERR_BUS_NO_SERVICE']);
  // Answered a tenth of the time left (here 40 ms) before the deadline: not sooner.
  assert.ok(answered >= deadline - 40 - 5, `answered ${deadline - answered} ms before the deadline`);
  // A deadline already within that margin is answered at once.
  await c.ask('nobody', encodeRequest(8, 'm', []), encodeMeta({ deadline: Date.now() + 10 }));
  assert.deepEqual(rpcError(await c.answer('nobody', 1000)).code, 'AGORA_ERR_BUS_NO_SERVICE');
});

test('requests waiting for a first worker count against queueMax: beyond it, AGORA_ERR_BUS_QUEUE_FULL at once', async (t) => {
  const s = await setup(t, { queueMax: 2, waitForWorkerMs: 60_000 });
  const c = s.peer('client');
  for (const msgid of [1, 2, 3]) await c.ask('full', encodeRequest(msgid, 'm', []));
  const e = rpcError(await c.answer('full', 1000));
  assert.deepEqual([e.msgid, e.code], [3, 'AGORA_ERR_BUS_QUEUE_FULL']);
  assert.equal((await s.until('full', (x) => x.queued === 2)).workers, 0);
  // The two that fit are served by the first worker to come.
  const w = await s.worker('full');
  for (const msgid of [1, 2]) {
    const r = await w.request();
    assert.equal(msgidOf(r.body), msgid);
    await w.reply(r.client, ok(msgid));
    assert.equal((await c.response('full')).msgid, msgid);
  }
});

test('a body over maxBodyBytes answers AGORA_ERR_BUS_TOO_LARGE and never reaches the worker; so does a reply over it', async (t) => {
  const s = await setup(t, { maxBodyBytes: 1024 });
  const w = await s.worker('big');
  const c = s.peer('client');

  // 1. One body frame too big.
  await c.ask('big', encodeRequest(9, 'm', [Buffer.alloc(2000)]));
  const e = rpcError(await c.answer('big'));
  assert.deepEqual([e.msgid, e.code], [9, 'AGORA_ERR_BUS_TOO_LARGE']);
  // 2. Body and meta frames together too big (the limit is on their sum).
  await c.ask('big', encodeRequest(10, 'm', [Buffer.alloc(900)]), encodeMeta({ reqId: 'x'.repeat(200) }));
  assert.deepEqual(rpcError(await c.answer('big')).code, 'AGORA_ERR_BUS_TOO_LARGE');
  // 3. The next request the worker sees is the next normal one.
  await c.ask('big', encodeRequest(11, 'm', []));
  const r = await w.request();
  assert.equal(msgidOf(r.body), 11);
  // 4. A reply too big: the client gets TOO_LARGE with its request's msgid, and the worker is idle again.
  await w.reply(r.client, encodeResponse(11, null, Buffer.alloc(2000)));
  const e2 = rpcError(await c.answer('big'));
  assert.deepEqual([e2.msgid, e2.code], [11, 'AGORA_ERR_BUS_TOO_LARGE']);
  await s.until('big', (x) => x.idle === 1);
  await c.ask('big', encodeRequest(12, 'm', []));
  const r2 = await w.request();
  await w.reply(r2.client, ok(12));
  assert.equal((await c.response('big')).msgid, 12);
});

test('heartbeats', async (t) => {
  await t.test('the broker sends [""][MDPW01][HEARTBEAT] to a registered worker', async (t) => {
    const s = await setup(t);
    const w = await s.worker('beat', { answerHeartbeats: false });
    // Peer counts a message as a heartbeat only if it is exactly these three frames.
    await w.waitHeartbeats(2);
    assert.equal(w.pending, 0, 'nothing but heartbeats was sent to the worker');
  });

  await t.test('a worker silent after READY is dropped after liveness x interval, not before', async (t) => {
    const s = await setup(t);
    const c = s.peer('client');
    const w = s.peer('worker');
    const sent = Date.now();
    await w.ready('silent');
    await waitMmi(c, 'silent', '200');
    await waitMmi(c, 'silent', '404', WAIT_MS);
    const elapsed = Date.now() - sent;
    assert.ok(elapsed >= HEARTBEAT_MS * LIVENESS, `dropped after ${elapsed} ms, before ${HEARTBEAT_MS * LIVENESS} ms`);
    // 2. Now unknown to the broker: its next HEARTBEAT is answered with DISCONNECT.
    await w.send([EMPTY, MDPW01, HEARTBEAT]);
    assert.ok(isDisconnect(await w.next()));
  });

  await t.test('a worker that sends its own HEARTBEATs stays registered', async (t) => {
    const s = await setup(t);
    const c = s.peer('client');
    const w = await s.worker('beating', { answerHeartbeats: false });
    const timer = setInterval(() => void w.send([EMPTY, MDPW01, HEARTBEAT]), HEARTBEAT_MS);
    t.after(() => clearInterval(timer));
    // Ten broker ticks (> 3 x liveness window): an expired worker gets no more heartbeats.
    await w.waitHeartbeats(10, WAIT_MS);
    assert.equal(await c.mmi('beating'), '200');
  });

  await t.test("a stall of the broker is not the workers' silence: only silence it was awake for counts", async (t) => {
    // The heartbeat clock is mocked (setInterval and Date); sockets are real. Node runs a late
    // timer before reading the sockets, so a tick coming after a stall has not yet read what
    // the workers sent meanwhile.
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
    const s = await setup(t);
    await s.worker('stalled', { answerHeartbeats: false });
    // 1. The broker's loop stalls for ten liveness windows, then its tick runs: the worker stays.
    t.mock.timers.setTime(Date.now() + 10 * HEARTBEAT_MS * LIVENESS);
    t.mock.timers.tick(HEARTBEAT_MS);
    assert.equal(s.broker.stats().find((x) => x.name === 'stalled')?.workers, 1, "dropped for the broker's own stall");
    // 2. Silence the broker is awake for still counts: liveness intervals on, the worker is gone.
    t.mock.timers.tick(HEARTBEAT_MS * (LIVENESS - 1));
    assert.equal(s.broker.stats().find((x) => x.name === 'stalled')?.workers, 1, 'dropped before liveness x interval');
    t.mock.timers.tick(HEARTBEAT_MS);
    assert.equal(s.broker.stats().find((x) => x.name === 'stalled')?.workers ?? 0, 0, 'a silent worker was kept');
  });

  await t.test("a worker that only answers the broker's heartbeats stays registered", async (t) => {
    const s = await setup(t);
    const c = s.peer('client');
    const w = await s.worker('answering', { answerHeartbeats: true });
    await w.waitHeartbeats(10, WAIT_MS);
    assert.equal(await c.mmi('answering'), '200');
    // And it still serves.
    await c.ask('answering', encodeRequest(1, 'm', []));
    const r = await w.request();
    await w.reply(r.client, ok(1));
    assert.equal((await c.response('answering')).msgid, 1);
  });
});

test('worker commands from unknown or misbehaving workers', async (t) => {
  await t.test('HEARTBEAT or REPLY from an unknown worker is answered with DISCONNECT', async (t) => {
    const s = await setup(t);
    const stranger = s.peer('stranger');
    await stranger.send([EMPTY, MDPW01, HEARTBEAT]);
    assert.deepEqual(await stranger.next(), [EMPTY, MDPW01, DISCONNECT]);
    await stranger.send([EMPTY, MDPW01, REPLY, 'someone', EMPTY, ok(1)]);
    assert.deepEqual(await stranger.next(), [EMPTY, MDPW01, DISCONNECT]);
    // DISCONNECT from a stranger is ignored: the next thing it receives answers its MMI query.
    await stranger.send([EMPTY, MDPW01, DISCONNECT]);
    assert.equal(await stranger.mmi('anything'), '404');
  });

  await t.test('a second READY gets DISCONNECT and removes the worker', async (t) => {
    const s = await setup(t);
    const c = s.peer('client');
    const w = await s.worker('twice');
    await w.ready('twice');
    assert.ok(isDisconnect(await w.next()));
    assert.equal(await c.mmi('twice'), '404');
  });

  await t.test('DISCONNECT from a worker removes it', async (t) => {
    const s = await setup(t);
    const w = await s.worker('leaving');
    await w.send([EMPTY, MDPW01, DISCONNECT]);
    // The same socket asks: the broker handles its messages in order.
    assert.equal(await w.mmi('leaving'), '404');
  });

  await t.test('an unknown command byte from a registered worker gets DISCONNECT and removes it', async (t) => {
    const s = await setup(t);
    for (const command of [0x00, Command.REQUEST, 0x06, 0x07, 0xff]) {
      const w = await s.worker('odd');
      await w.send([EMPTY, MDPW01, Buffer.from([command])]);
      assert.ok(isDisconnect(await w.next()), `command 0x${command.toString(16)}`);
      assert.equal(await w.mmi('odd'), '404');
    }
  });

  await t.test('a REPLY for an unknown client address breaks nothing; a following call succeeds', async (t) => {
    const s = await setup(t);
    const w = await s.worker('stray');
    const c = s.peer('client');
    // 1. An unsolicited REPLY from an idle worker, to nobody. Its own MMI query after it
    //    proves the broker has handled it (one peer's messages are handled in order).
    await w.reply(Buffer.from('nobody-has-this-address'), ok(77));
    assert.equal(await w.mmi('stray'), '200');
    // 2. A normal call works.
    await c.ask('stray', encodeRequest(1, 'm', []));
    const r = await w.request();
    await w.reply(r.client, ok(1));
    assert.equal((await c.response('stray')).msgid, 1);
    // 3. The stray REPLY did not make the worker idle twice: a second request waits while it is busy.
    await w.reply(Buffer.from('nobody-has-this-address'), ok(78));
    assert.equal(await w.mmi('stray'), '200');
    await c.ask('stray', encodeRequest(2, 'm', []));
    await c.ask('stray', encodeRequest(3, 'm', []));
    const r2 = await w.request();
    assert.equal(msgidOf(r2.body), 2);
    await c.ask('mmi.services', '');
    const stats = (unpack((await c.answer('mmi.services'))[0]) as ServiceStats[]).find((x) => x.name === 'stray');
    assert.deepEqual(stats, { name: 'stray', workers: 1, slots: 1, idle: 0, queued: 1 });
    // 4. The reply to the real client address after a REPLY to a wrong one still arrives.
    await w.reply(r2.client, ok(2));
    assert.equal((await c.response('stray')).msgid, 2);
    const r3 = await w.request();
    assert.equal(msgidOf(r3.body), 3);
  });

  await t.test(
    'after an unsolicited REPLY and a DISCONNECT, the removed worker is never handed a request',
    async (t) => {
      const s = await setup(t);
      const gone = await s.worker('stale');
      // 1. An idle worker replies to nothing, then leaves.
      await gone.reply(Buffer.from('nobody'), ok(1));
      await gone.send([EMPTY, MDPW01, DISCONNECT]);
      assert.equal(await gone.mmi('stale'), '404');
      // 2. A new worker registers; the call must reach it, not the departed one.
      const fresh = await s.worker('stale');
      const c = s.peer('client');
      await c.ask('stale', encodeRequest(2, 'm', []));
      const r = await fresh.request();
      await fresh.reply(r.client, ok(2));
      assert.equal((await c.response('stale')).msgid, 2);
      assert.equal(gone.pending, 0);
    },
  );

  await t.test(
    'a malformed REPLY from a busy worker removes it and the client gets AGORA_ERR_BUS_WORKER_LOST',
    async (t) => {
      const s = await setup(t);
      const w = await s.worker('sloppy');
      const c = s.peer('client');
      await c.ask('sloppy', encodeRequest(5, 'm', []));
      const r = await w.request();
      await w.send([EMPTY, MDPW01, REPLY, r.client, 'not-empty', ok(5)]);
      assert.ok(isDisconnect(await w.next()));
      const e = rpcError(await c.answer('sloppy'));
      assert.deepEqual([e.msgid, e.code], [5, 'AGORA_ERR_BUS_WORKER_LOST']);
    },
  );
});

test('queued requests of a service that lost its last worker go to the next worker to register', async (t) => {
  const s = await setup(t, { waitForWorkerMs: 60_000 });
  const w = await s.worker('restarted');
  const c = s.peer('client');
  await c.ask('restarted', encodeRequest(1, 'm', []));
  await c.ask('restarted', encodeRequest(2, 'm', []));
  await w.request();
  await s.until('restarted', (x) => x.queued === 1);
  w.close(); // its connection closes while it holds request 1
  const lost = rpcError(await c.answer('restarted'));
  assert.deepEqual([lost.msgid, lost.code], [1, 'AGORA_ERR_BUS_WORKER_LOST']);
  await s.until('restarted', (x) => x.workers === 0 && x.queued === 1);
  assert.equal(c.pending, 0, 'request 2 waits');
  const next = await s.worker('restarted');
  const again = await next.request();
  assert.equal(msgidOf(again.body), 2);
  await next.reply(again.client, ok(2));
  assert.equal((await c.response('restarted')).msgid, 2);
});

test('a worker lost during a call', async (t) => {
  await t.test('by DISCONNECT: the client gets AGORA_ERR_BUS_WORKER_LOST with its msgid', async (t) => {
    const s = await setup(t);
    const w = await s.worker('fragile');
    const c = s.peer('client');
    await c.ask('fragile', encodeRequest(5, 'm', []));
    await w.request();
    await w.send([EMPTY, MDPW01, DISCONNECT]);
    const e = rpcError(await c.answer('fragile'));
    assert.deepEqual(
      [e.msgid, e.code, e.message],
      [5, 'AGORA_ERR_BUS_WORKER_LOST', 'The worker serving fragile went away during the call'],
    );
  });

  await t.test('by heartbeat expiry: the client gets AGORA_ERR_BUS_WORKER_LOST', async (t) => {
    const s = await setup(t);
    const w = await s.worker('hung');
    const c = s.peer('client');
    await c.ask('hung', encodeRequest(6, 'm', []));
    await w.request();
    w.answerHeartbeats = false; // 1. it hangs from now on
    const e = rpcError(await c.answer('hung', WAIT_MS));
    assert.deepEqual([e.msgid, e.code], [6, 'AGORA_ERR_BUS_WORKER_LOST']);
    assert.equal(await c.mmi('hung'), '404');
  });

  await t.test(
    'queued requests of a service that lost its last worker wait for the next one, then get AGORA_ERR_BUS_NO_SERVICE',
    async (t) => {
      const s = await setup(t, { waitForWorkerMs: WAIT_FOR_WORKER_MS });
      const w = await s.worker('last');
      const c = s.peer('client');
      await c.ask('last', encodeRequest(1, 'm', []));
      await c.ask('last', encodeRequest(2, 'm', []));
      await w.request();
      await s.until('last', (x) => x.queued === 1);
      const left = Date.now();
      await w.send([EMPTY, MDPW01, DISCONNECT]);
      const lost = rpcError(await c.answer('last'));
      const queued = rpcError(await c.answer('last'));
      const waited = Date.now() - left;
      assert.deepEqual([lost.msgid, lost.code], [1, 'AGORA_ERR_BUS_WORKER_LOST']);
      assert.deepEqual([queued.msgid, queued.code], [2, 'AGORA_ERR_BUS_NO_SERVICE']);
      assert.ok(waited >= WAIT_FOR_WORKER_MS - 5, `the queued request was answered after ${waited} ms`);
    },
  );

  for (const how of ['DISCONNECT', 'heartbeat expiry'] as const) {
    await t.test(
      `an idempotent call is re-sent to the second worker after ${how}, and the client gets its reply`,
      async (t) => {
        const s = await setup(t);
        const w1 = await s.worker('retry');
        const w2 = await s.worker('retry');
        const c = s.peer('client');
        const body = encodeRequest(8, 'm', ['again']);
        const meta = encodeMeta({ idempotent: true, reqId: 'r-8' });
        await c.ask('retry', body, meta);
        // 1. The oldest idle worker gets it.
        const first = await w1.request();
        assert.deepEqual(first.body, [body, meta]);
        // 2. It dies.
        if (how === 'DISCONNECT') await w1.send([EMPTY, MDPW01, DISCONNECT]);
        else w1.answerHeartbeats = false;
        // 3. The second worker gets the same frames, and its reply reaches the client.
        const second = await w2.request();
        assert.deepEqual(second.client, Buffer.from(c.id));
        assert.deepEqual(second.body, [body, meta]);
        await w2.reply(second.client, ok(8, 'again'));
        const res = await c.response('retry');
        assert.deepEqual([res.msgid, res.error, res.result], [8, null, 'again']);
        assert.equal(w1.pending, 0);
      },
    );
  }

  await t.test(
    'a request still held by a worker that says DISCONNECT never ran: another worker serves it',
    async (t) => {
      const s = await setup(t);
      const w1 = await s.worker('crossed');
      const w2 = await s.worker('crossed');
      const c = s.peer('client');
      const body = encodeRequest(9, 'post', ['once']); // no idempotent metadata
      await c.ask('crossed', body);
      const first = await w1.request();
      assert.deepEqual(first.body, [body]);
      // 1. The REQUEST crossed w1's DISCONNECT on the wire: w1 drops it (docs/PROTOCOL.md §3).
      await w1.send([EMPTY, MDPW01, DISCONNECT]);
      // 2. The broker hands the same frames to w2, whose reply reaches the client.
      const second = await w2.request();
      assert.deepEqual(second.body, [body]);
      await w2.reply(second.client, ok(9, 'served'));
      const res = await c.response('crossed');
      assert.deepEqual([res.msgid, res.error, res.result], [9, null, 'served']);
    },
  );

  await t.test('an idempotent call with no other worker gets AGORA_ERR_BUS_WORKER_LOST', async (t) => {
    const s = await setup(t);
    const w = await s.worker('alone');
    const c = s.peer('client');
    await c.ask('alone', encodeRequest(3, 'm', []), encodeMeta({ idempotent: true }));
    await w.request();
    await w.send([EMPTY, MDPW01, DISCONNECT]);
    const e = rpcError(await c.answer('alone'));
    assert.deepEqual([e.msgid, e.code], [3, 'AGORA_ERR_BUS_WORKER_LOST']);
  });
});

/** Ask the broker for no more requests (HEARTBEAT options `{"slots": 0}`). */
const drain = (w: Peer): Promise<void> => w.send([EMPTY, MDPW01, HEARTBEAT, DRAIN_OPTIONS]);

/** A draining worker gets no new request, what it holds is still routed, DISCONNECT removes it. */
async function drainingWorkerGetsNoRequest(t: TestContext): Promise<void> {
  const s = await setup(t);
  // 1. w1 (two slots) holds requests 1 and 2; then w2 (one slot) registers.
  const w1 = await s.worker('busy', { slots: 2 });
  const c = s.peer('client');
  await c.ask('busy', encodeRequest(1, 'm', []));
  await c.ask('busy', encodeRequest(2, 'm', []));
  const held = [await w1.request(), await w1.request()];
  assert.deepEqual(
    held.map((r) => msgidOf(r.body)),
    [1, 2],
  );
  const w2 = await s.worker('busy');
  // 2. w1 drains: its slots leave the counts, it stays registered.
  await drain(w1);
  assert.deepEqual(await s.until('busy', (x) => x.slots === 1), {
    name: 'busy',
    workers: 2,
    slots: 1,
    idle: 1,
    queued: 0,
  });
  // 3. New requests go to w2 only; beyond its one slot they queue rather than reach w1.
  for (const id of [3, 4, 5]) await c.ask('busy', encodeRequest(id, 'm', []));
  const third = await w2.request();
  assert.equal(msgidOf(third.body), 3);
  await s.until('busy', (x) => x.queued === 2);
  // 4. w1's answer to a request it holds reaches the client, and its freed slot takes nothing.
  await w1.reply(held[0].client, ok(1, 'one'));
  const r1 = await c.response('busy');
  assert.deepEqual([r1.msgid, r1.result], [1, 'one']);
  assert.deepEqual(
    s.broker.stats().find((x) => x.name === 'busy'),
    { name: 'busy', workers: 2, slots: 1, idle: 0, queued: 2 },
  );
  // 5. Its heartbeats still count: it outlives several expiry windows while holding request 2.
  await w1.waitHeartbeats(w1.heartbeats + LIVENESS * 3);
  assert.equal((await s.until('busy', () => true)).workers, 2);
  await w1.reply(held[1].client, ok(2, 'two'));
  const r2 = await c.response('busy');
  assert.deepEqual([r2.msgid, r2.result], [2, 'two']);
  // 6. Holding nothing, it says DISCONNECT: removed, nothing re-served, nothing failed.
  await w1.send([EMPTY, MDPW01, DISCONNECT]);
  assert.deepEqual(await s.until('busy', (x) => x.workers === 1), {
    name: 'busy',
    workers: 1,
    slots: 1,
    idle: 0,
    queued: 2,
  });
  // 7. w2 serves the rest in order; w1 was never handed any of them.
  await w2.reply(third.client, ok(3));
  for (const id of [4, 5]) {
    const r = await w2.request();
    assert.equal(msgidOf(r.body), id);
    await w2.reply(r.client, ok(id));
  }
  assert.deepEqual(
    (await Promise.all([3, 4, 5].map(() => c.response('busy')))).map((r) => [r.msgid, r.error]),
    [
      [3, null],
      [4, null],
      [5, null],
    ],
  );
  assert.equal(w1.pending, 0, 'the draining worker got a request');
}

test('a worker that drains: HEARTBEAT with {"slots": 0} (docs/PROTOCOL.md §3)', async (t) => {
  await t.test(
    'it gets no new request while another worker of the service does; what it holds is still routed; DISCONNECT then removes it',
    drainingWorkerGetsNoRequest,
  );

  await t.test(
    'while every worker drains, requests wait; after the last one leaves, they get AGORA_ERR_BUS_NO_SERVICE when the wait ends',
    async (t) => {
      const s = await setup(t, { waitForWorkerMs: WAIT_FOR_WORKER_MS });
      const w = await s.worker('last');
      await drain(w);
      await s.until('last', (x) => x.slots === 0);
      const c = s.peer('client');
      assert.equal(await c.mmi('last'), '200', 'a draining worker is still registered');
      await c.ask('last', encodeRequest(6, 'm', []));
      await s.until('last', (x) => x.queued === 1);
      const left = Date.now();
      await w.send([EMPTY, MDPW01, DISCONNECT]);
      const e = rpcError(await c.answer('last'));
      assert.deepEqual([e.msgid, e.code], [6, 'AGORA_ERR_BUS_NO_SERVICE']);
      assert.ok(Date.now() - left >= WAIT_FOR_WORKER_MS - 5, 'answered before the wait for a worker ended');
      assert.equal(w.pending, 0);
    },
  );

  await t.test('options it cannot read, or that ask nothing known, leave the worker in rotation', async (t) => {
    const s = await setup(t);
    const w = await s.worker('steady');
    for (const frames of [
      [pack({ slots: 5 })],
      [pack({ future: true })],
      [pack([0])],
      [Buffer.from([0xc1])],
      [DRAIN_OPTIONS, DRAIN_OPTIONS],
    ]) {
      await w.send([EMPTY, MDPW01, HEARTBEAT, ...frames]);
    }
    const c = s.peer('client');
    assert.equal(await c.mmi('steady'), '200'); // read after the heartbeats: the broker handled them
    assert.deepEqual(
      s.broker.stats().find((x) => x.name === 'steady'),
      { name: 'steady', workers: 1, slots: 1, idle: 1, queued: 0 },
    );
    await c.ask('steady', encodeRequest(7, 'm', []));
    const r = await w.request();
    await w.reply(r.client, ok(7));
    assert.equal((await c.response('steady')).msgid, 7);
  });
});

test('queued requests whose deadline has passed are not delivered to a worker', async (t) => {
  const s = await setup(t);
  const w = await s.worker('late');
  const c = s.peer('client');
  await c.ask('late', encodeRequest(1, 'm', []));
  const r1 = await w.request();
  // 1. While the worker is busy: one request already past its deadline, one that will pass
  //    while it waits, one with a live deadline, one without.
  const soon = Date.now() + 50;
  await c.ask('late', encodeRequest(2, 'm', []), encodeMeta({ deadline: Date.now() - 1 }));
  await c.ask('late', encodeRequest(3, 'm', []), encodeMeta({ deadline: soon }));
  await c.ask('late', encodeRequest(4, 'm', []), encodeMeta({ deadline: Date.now() + 60_000 }));
  await c.ask('late', encodeRequest(5, 'm', []));
  assert.equal(await c.mmi('late'), '200'); // the broker has handled all four (one peer, in order)
  // 2. Let the second deadline pass (the property under test is time itself).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon - Date.now()) + 10));
  // 3. The worker's next requests are 4 and 5; the client hears nothing about 2 and 3.
  await w.reply(r1.client, ok(1));
  assert.equal((await c.response('late')).msgid, 1);
  const r4 = await w.request();
  assert.equal(msgidOf(r4.body), 4);
  await w.reply(r4.client, ok(4));
  assert.equal((await c.response('late')).msgid, 4);
  const r5 = await w.request();
  assert.equal(msgidOf(r5.body), 5);
  await w.reply(r5.client, ok(5));
  assert.equal((await c.response('late')).msgid, 5);
  assert.equal(c.pending, 0);
});

test('MMI', async (t) => {
  const s = await setup(t);
  const c = s.peer('client');
  const a = await s.worker('alpha');
  await s.worker('beta');
  await s.worker('beta');

  await t.test('mmi.service answers "200" for a served service and "404" otherwise, in an MDPC01 reply', async () => {
    await c.ask('mmi.service', 'alpha');
    assert.deepEqual(await c.next(), [EMPTY, MDPC01, Buffer.from('mmi.service'), Buffer.from('200')]);
    assert.equal(await c.mmi('beta'), '200');
    assert.equal(await c.mmi('gamma'), '404');
    assert.equal(await c.mmi(''), '404');
  });

  await t.test('an unknown mmi.* service answers "501"', async () => {
    await c.ask('mmi.nothing', 'alpha');
    assert.deepEqual(await c.next(), [EMPTY, MDPC01, Buffer.from('mmi.nothing'), Buffer.from('501')]);
  });

  await t.test('READY for an mmi.* service is refused with DISCONNECT', async () => {
    const w = s.peer('worker');
    await w.ready('mmi.service');
    assert.ok(isDisconnect(await w.next()));
    await w.ready('mmi.custom');
    assert.ok(isDisconnect(await w.next()));
    assert.equal(await c.mmi('mmi.custom'), '404');
  });

  await t.test('mmi.services answers a msgpack array of {name, workers, idle, queued}', async () => {
    // alpha: one worker, busy, one request queued; beta: two idle workers.
    await c.ask('alpha', encodeRequest(1, 'm', []));
    await c.ask('alpha', encodeRequest(2, 'm', []));
    const r = await a.request();
    await c.ask('mmi.services', '');
    const body = await c.answer('mmi.services');
    assert.equal(body.length, 1);
    const list = unpack(body[0]) as ServiceStats[];
    assert.ok(Array.isArray(list));
    const byName = new Map(list.map((x) => [x.name, x]));
    assert.deepEqual(byName.get('alpha'), { name: 'alpha', workers: 1, slots: 1, idle: 0, queued: 1 });
    assert.deepEqual(byName.get('beta'), { name: 'beta', workers: 2, slots: 2, idle: 2, queued: 0 });
    assert.deepEqual(list.map((x) => x.name).sort(), ['alpha', 'beta']);
    await a.reply(r.client, ok(1));
    assert.equal((await c.response('alpha')).msgid, 1);
  });
});

type Expect = 'nothing' | 'disconnect' | 'bad-message';
const TOO_LONG_NAME = 'x'.repeat(256);
const BODY = encodeRequest(1, 'm', []);

/** Malformed messages as a DEALER sends them (the broker's ROUTER adds the sender frame). */
const MALFORMED: Array<{ name: string; frames: Array<Buffer | string>; expect: Expect }> = [
  { name: 'one empty frame', frames: [EMPTY], expect: 'nothing' },
  { name: 'empty frames only', frames: [EMPTY, EMPTY, EMPTY, EMPTY], expect: 'nothing' },
  { name: 'wrong header', frames: [EMPTY, 'MDPX01', 'svc', BODY], expect: 'nothing' },
  { name: 'header of another MDP version', frames: [EMPTY, 'MDPC02', 'svc', BODY], expect: 'nothing' },
  { name: 'no delimiter', frames: [MDPC01, 'svc', BODY], expect: 'nothing' },
  { name: 'non-empty delimiter', frames: ['x', MDPC01, 'svc', BODY], expect: 'nothing' },
  { name: 'client header only', frames: [EMPTY, MDPC01], expect: 'nothing' },
  { name: 'client without body', frames: [EMPTY, MDPC01, 'svc'], expect: 'nothing' },
  { name: 'empty service name', frames: [EMPTY, MDPC01, EMPTY, BODY], expect: 'bad-message' },
  { name: 'service name over 255 bytes', frames: [EMPTY, MDPC01, TOO_LONG_NAME, BODY], expect: 'bad-message' },
  { name: 'worker header only', frames: [EMPTY, MDPW01], expect: 'nothing' },
  { name: 'empty command frame', frames: [EMPTY, MDPW01, EMPTY], expect: 'nothing' },
  { name: 'two-byte command', frames: [EMPTY, MDPW01, Buffer.from([1, 1]), 'svc'], expect: 'nothing' },
  { name: 'command 0x00', frames: [EMPTY, MDPW01, Buffer.from([0])], expect: 'nothing' },
  { name: 'command 0x07', frames: [EMPTY, MDPW01, Buffer.from([7]), 'svc'], expect: 'nothing' },
  { name: 'REQUEST sent to the broker', frames: [EMPTY, MDPW01, REQUEST, 'c', EMPTY, BODY], expect: 'nothing' },
  { name: 'READY without service', frames: [EMPTY, MDPW01, READY], expect: 'disconnect' },
  { name: 'READY with empty service', frames: [EMPTY, MDPW01, READY, EMPTY], expect: 'disconnect' },
  { name: 'READY with service over 255 bytes', frames: [EMPTY, MDPW01, READY, TOO_LONG_NAME], expect: 'disconnect' },
  { name: 'READY with extra frames', frames: [EMPTY, MDPW01, READY, 'svc', 'extra'], expect: 'disconnect' },
  { name: 'REPLY without envelope from a stranger', frames: [EMPTY, MDPW01, REPLY], expect: 'disconnect' },
  {
    name: 'HEARTBEAT with extra frames from a stranger',
    frames: [EMPTY, MDPW01, HEARTBEAT, 'x'],
    expect: 'disconnect',
  },
  { name: 'DISCONNECT from a stranger', frames: [EMPTY, MDPW01, DISCONNECT], expect: 'nothing' },
];

test('malformed messages are dropped (or answered as documented) and the broker keeps serving', async (t) => {
  const s = await setup(t);
  const w = await s.worker('sane');
  for (const m of MALFORMED) {
    const p = s.peer('bad');
    await p.send(m.frames);
    // The same socket then asks mmi.service: the broker handles one peer's messages in
    // order, so anything it sent back for the malformed message arrives first.
    await p.ask('mmi.service', 'sane');
    const first = await p.next();
    if (m.expect === 'disconnect') {
      assert.ok(isDisconnect(first), `${m.name}: expected DISCONNECT, got ${describe(first)}`);
    } else if (m.expect === 'bad-message') {
      assert.ok(
        first.length === 4 && first[0].length === 0 && first[1].equals(MDPC01),
        `${m.name}: got ${describe(first)}`,
      );
      const e = rpcError(first.slice(3));
      assert.deepEqual([e.code, e.msgid], ['AGORA_ERR_BUS_BAD_MESSAGE', 1], m.name);
    }
    const answer = m.expect === 'nothing' ? first : await p.next();
    assert.deepEqual(
      answer,
      [EMPTY, MDPC01, Buffer.from('mmi.service'), Buffer.from('200')],
      `${m.name}: got ${describe(answer)}`,
    );
    p.close();
  }
  // A correct call still goes through the same worker.
  const c = s.peer('client');
  await c.ask('sane', encodeRequest(99, 'm', []));
  const r = await w.request();
  assert.equal(msgidOf(r.body), 99);
  await w.reply(r.client, ok(99, 'fine'));
  const res = await c.response('sane');
  assert.deepEqual([res.msgid, res.result], [99, 'fine']);
});
