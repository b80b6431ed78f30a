/**
 * Idempotency-Key through the real mesh (docs/API-V1.md "Idempotency-Key"): a retried
 * POST /v1/channels/{name}/messages with the same key posts once and answers the same; another
 * body under the key is 422; of concurrent requests with one key exactly one posts; a kept answer
 * expires, and Messages' own key still answers the message posted; without the header every POST
 * posts. On memory (one gateway), then on PostgreSQL and on
 * Redis with two gateways, where a key sent through one is replayed through the other.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startPostgres, startRedis, until } from '../helpers/backends';
import { startMesh } from '../helpers/mesh';
import { assertError, call, logon, type Answer, type Json } from '../helpers/v1';

/** The texts of a channel's messages, in order. */
async function texts(base: string, key: number, channel: string): Promise<string[]> {
  const res = await call(base, 'GET', `/v1/channels/${channel}/messages`, { key });
  assert.equal(res.status, 200, res.text);
  return ((res.body as Json).data as Json[]).map((m) => String(m.message));
}

function post(base: string, key: number, channel: string, idem: string | undefined, message: string): Promise<Answer> {
  const headers: Record<string, string> = idem === undefined ? {} : { 'idempotency-key': idem };
  return call(base, 'POST', `/v1/channels/${channel}/messages`, { key, body: { message }, headers });
}

/** The same answer: status, body byte for byte, the headers that are replayed. */
function assertSame(replay: Answer, first: Answer, what: string): void {
  assert.equal(replay.status, first.status, what);
  assert.equal(replay.text, first.text, what);
  for (const name of ['content-type', 'location', 'etag'])
    assert.equal(replay.headers.get(name), first.headers.get(name), `${what}: ${name}`);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true', what);
}

/** Everything but expiry, through `bases` (one gateway, or two sharing a store). */
async function exercise(bases: string[], channel: string): Promise<void> {
  const [one, two = one] = bases;
  const key = await logon(one, `idem-${channel}`);
  assert.equal((await call(one, 'POST', '/v1/channels', { key, body: { name: channel } })).status, 201);

  // A retry posts once and answers the same, through either gateway.
  const first = await post(one, key, channel, 'retry-1', 'once');
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  assertSame(await post(one, key, channel, 'retry-1', 'once'), first, 'the same gateway');
  assertSame(await post(two, key, channel, 'retry-1', 'once'), first, 'the other gateway');
  assert.deepEqual(await texts(one, key, channel), ['once']);

  // Another body under the key: 422, nothing posted.
  assertError(await post(two, key, channel, 'retry-1', 'other'), 422, 107, 'another body');
  assert.deepEqual(await texts(one, key, channel), ['once']);

  // Concurrent requests with one key, spread over the gateways: exactly one posts.
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => post(i % 2 === 0 ? one : two, key, channel, 'race-1', 'raced')),
  );
  assert.deepEqual(await texts(one, key, channel), ['once', 'raced'], 'posted once');
  const ran = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
  assert.equal(ran.length, 1, answers.map((a) => `${a.status} ${a.headers.get('idempotent-replayed')}`).join(', '));
  for (const a of answers) {
    if (a.status === 409) assert.equal(a.headers.get('retry-after'), '1');
    else assert.equal(a.text, ran[0].text);
  }

  // Without the header nothing changes: each POST posts.
  const plain = [await post(one, key, channel, undefined, 'plain'), await post(two, key, channel, undefined, 'plain')];
  assert.deepEqual(
    plain.map((a) => [a.status, a.headers.get('idempotent-replayed')]),
    [
      [201, null],
      [201, null],
    ],
  );
  assert.deepEqual(await texts(one, key, channel), ['once', 'raced', 'plain', 'plain']);
}

/**
 * A kept answer expires after the gateway's AGORA_IDEMPOTENCY_TTL_S: the same request then runs
 * again, and Messages, which keeps the post's key its own AGORA_IDEMPOTENCY_TTL_S (the default
 * day in this mesh), answers the message already posted.
 */
async function expires(base: string, ttlS: number): Promise<void> {
  const key = await logon(base, 'idem-ttl');
  assert.equal((await call(base, 'POST', '/v1/channels', { key, body: { name: 'ttl' } })).status, 201);
  const t0 = Date.now();
  const first = await post(base, key, 'ttl', 'ttl-1', 'again');
  assert.equal(first.status, 201);
  let last = first;
  await until(
    async () => {
      last = await post(base, key, 'ttl', 'ttl-1', 'again');
      return last.headers.get('idempotent-replayed') === null;
    },
    'the kept answer to expire',
    30_000,
    250,
  );
  assert.ok(Date.now() - t0 >= ttlS * 1000 - 50, `not before ${ttlS} s`);
  assert.equal(last.status, 201);
  assert.equal(last.text, first.text, 'the message already posted, by the key Messages still holds');
  assert.deepEqual(await texts(base, key, 'ttl'), ['again'], 'posted once');
}

test('memory: a retried post posts once, 422, one of concurrent runs, the header absent changes nothing, expiry', async (t) => {
  const mesh = await startMesh(t);
  await exercise([mesh.base], 'mem');
  const short = await mesh.gateway('gateway-ttl', { AGORA_IDEMPOTENCY_TTL_S: '2' });
  await expires(short.base, 2);
});

async function shared(t: TestContext, env: Record<string, string>, channel: string): Promise<void> {
  const mesh = await startMesh(t, env);
  const second = await mesh.gateway('gateway-2');
  await exercise([mesh.base, second.base], channel);
  const short = await mesh.gateway('gateway-ttl', { AGORA_IDEMPOTENCY_TTL_S: '2' });
  await expires(short.base, 2);
}

test('PostgreSQL: two gateways share the keys', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  await shared(t, { AGORA_DATABASE_URL: await pg.newDatabase() }, 'pg');
});

test('Redis: two gateways share the keys', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  await shared(t, { AGORA_REDIS_URL: redis.url, AGORA_REDIS_PREFIX: 'idem-mesh:' }, 'redis');
});
