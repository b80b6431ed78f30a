/**
 * GET /v1/channels/{name}/messages/stream through the real mesh (docs/API-V1.md "Live
 * messages"): two clients get a post live, Last-Event-ID resumes, a logoff ends the stream, a
 * bad session is 401, and over PostgreSQL (the messages topic on PostgreSQL, then on Redis) a stream on one
 * gateway, following one Messages instance, sees the posts another gateway made through the other instance.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startPostgres, startRedis, until } from '../helpers/backends';
import { startMesh } from '../helpers/mesh';
import { startNode } from '../helpers/proc';
import { startScaledMesh } from '../helpers/scaled-mesh';
import { openSse, type SseStream } from '../helpers/sse';
import { assertError, call, logon, type Json } from '../helpers/v1';

const HEARTBEAT_MS = 300;

async function post(base: string, key: number, channel: string, message: string): Promise<number> {
  const res = await call(base, 'POST', `/v1/channels/${channel}/messages`, { key, body: { message } });
  assert.equal(res.status, 201, res.text);
  return Number(res.rec.messageid);
}

function stream(base: string, key: number, channel: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return openSse(`${base}/v1/channels/${channel}/messages/stream`, { authorization: `Bearer ${key}`, ...headers });
}

async function expectMessage(s: SseStream, id: number, username: string, message: string): Promise<void> {
  const event = await s.next();
  assert.equal(event.event, 'message');
  assert.equal(event.id, String(id));
  const data = JSON.parse(event.data) as { last_modified: unknown };
  const stamp = data.last_modified;
  assert.ok(typeof stamp === 'number' && Number.isSafeInteger(stamp) && stamp > 1e12, `last_modified ${String(stamp)}`);
  assert.deepEqual(data, { messageid: id, username, message, last_modified: stamp });
}

test('message streams through the mesh (memory)', async (t) => {
  const mesh = await startMesh(t, { AGORA_SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  const { base } = mesh;
  const ann = await logon(base, 'ann');
  const bob = await logon(base, 'bob');
  assert.equal((await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'live' } })).status, 201);
  const streams: SseStream[] = [];
  t.after(() => streams.forEach((s) => s.close()));

  await t.test('two clients get a message as it is posted, with its id', async () => {
    const a = await stream(base, ann, 'live');
    const b = await stream(base, bob, 'live');
    streams.push(a, b);
    assert.equal(a.status, 200);
    assert.match(String(a.headers.get('content-type')), /^text\/event-stream/);
    assert.ok(a.headers.get('x-request-id'));
    const id = await post(base, bob, 'live', 'hello, live');
    await expectMessage(a, id, 'bob', 'hello, live');
    await expectMessage(b, id, 'bob', 'hello, live');
    const id2 = await post(base, ann, 'live', 'second');
    await expectMessage(a, id2, 'ann', 'second');
    await expectMessage(b, id2, 'ann', 'second');
    // Heartbeat comments keep coming while nothing is posted.
    await until(async () => a.comments >= 2, 'two heartbeats');
  });

  await t.test('Last-Event-ID (or _since) replays what followed that id, then goes live', async () => {
    const first = await post(base, ann, 'live', 'r1');
    await post(base, ann, 'live', 'r2');
    await post(base, bob, 'live', 'r3');
    const s = await stream(base, bob, 'live', { 'last-event-id': String(first) });
    streams.push(s);
    await expectMessage(s, first + 1, 'ann', 'r2');
    await expectMessage(s, first + 2, 'bob', 'r3');
    const live = await post(base, ann, 'live', 'r4');
    await expectMessage(s, live, 'ann', 'r4');
    const q = await openSse(`${base}/v1/channels/live/messages/stream?_since=${live - 1}`, {
      authorization: `Bearer ${ann}`,
    });
    streams.push(q);
    await expectMessage(q, live, 'ann', 'r4');
    const bad = await stream(base, bob, 'live', { 'last-event-id': 'abc' });
    assert.equal(bad.status, 400);
  });

  await t.test('a bad or missing session is 401 in the error body; an unknown channel 404', async () => {
    const bad = await openSse(`${base}/v1/channels/live/messages/stream`, { authorization: 'Bearer 12345' });
    assertError(
      { status: bad.status, headers: bad.headers, body: JSON.parse(bad.text!), text: bad.text!, rec: {} },
      401,
      105,
      'bad',
    );
    assert.match(String(bad.headers.get('www-authenticate')), /^Bearer/);
    const none = await openSse(`${base}/v1/channels/live/messages/stream`);
    assert.equal(none.status, 401);
    const missing = await stream(base, ann, 'nowhere');
    assert.equal(missing.status, 404, missing.text);
  });

  await t.test('a logoff ends the stream with an end event carrying the 401 body', async () => {
    const carl = await logon(base, 'carl');
    const s = await stream(base, carl, 'live');
    streams.push(s);
    const id = await post(base, ann, 'live', 'before logoff');
    await expectMessage(s, id, 'ann', 'before logoff');
    assert.equal((await call(base, 'DELETE', '/v1/sessions/current', { key: carl })).status, 204);
    const end = await s.next(HEARTBEAT_MS * 10);
    assert.equal(end.event, 'end');
    const body = JSON.parse(end.data) as Json;
    assert.equal(body.code, 401);
    assert.equal(body.errno, 105);
    await s.ended;
  });
});

test('a stream on gateway A, following one Messages instance, sees posts made through gateway B (PostgreSQL)', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  await crossInstance(t, { AGORA_DATABASE_URL: await pg.newDatabase() });
});

test('the same with the messages topic on Redis (PostgreSQL for the messages)', async (t) => {
  const pg = await startPostgres(t);
  const redis = await startRedis(t);
  if (pg === undefined || redis === undefined) return;
  await crossInstance(t, { AGORA_DATABASE_URL: await pg.newDatabase(), AGORA_REDIS_URL: redis.url });
});

/**
 * Gateway A follows the first Messages instance only; posts go through the scaled mesh's gateway until the second
 * instance has stored some, and A's stream gets every one: the first instance heard the topic from A's stream on.
 */
async function crossInstance(t: TestContext, env: Record<string, string>): Promise<void> {
  const mesh = await startScaledMesh(2, { ...env, AGORA_LOG_LEVEL: 'debug', AGORA_SSE_HEARTBEAT_MS: '60000' });
  t.after(() => mesh.stop());
  const gatewayA = await startNode('gateway/main.js', {
    env: {
      AGORA_BUS_URL: String(mesh.broker.endpoints.bus),
      AGORA_HTTP_PORT: '0',
      AGORA_MESSAGES_GRPC_URL: String(mesh.messages[0].endpoints.grpc),
      AGORA_SSE_HEARTBEAT_MS: '60000',
    },
  });
  t.after(() => gatewayA.stop());
  const baseA = String(gatewayA.endpoints.http);
  const baseB = mesh.base;
  const ann = await logon(baseB, 'ann');
  assert.equal((await call(baseB, 'POST', '/v1/channels', { key: ann, body: { name: 'wide' } })).status, 201);
  const s = await stream(baseA, ann, 'wide');
  t.after(() => s.close());
  assert.equal(s.status, 200, s.text);
  // Post through B until the second instance (which A does not follow) has stored one; A's
  // heartbeat is a minute away, so what A gets comes through the topic.
  const servedPost = (): boolean => mesh.messages[1].lines.some((l) => l.method === 'Post' && l.msg === 'call');
  let n = 0;
  while (!servedPost() || n < 3) {
    assert.ok(n < 200, 'the second messages instance never served a post');
    await post(baseB, ann, 'wide', `m${++n}`);
  }
  for (let id = 1; id <= n; id++) await expectMessage(s, id, 'ann', `m${id}`);
}
