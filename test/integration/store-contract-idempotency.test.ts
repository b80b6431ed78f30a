/**
 * The IdempotencyStore contract (lib/store/contracts.ts), against memory, a throwaway PostgreSQL
 * and a throwaway Redis (as test/integration/store-contract.test.ts starts them): a claim is
 * exclusive, also between two instances at once; the answer comes back as stored; tokens guard
 * completing and releasing; leases and times to live expire on the backend's clock.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defaultConfig, type Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import type { IdempotencyClaim, IdempotencyStore, IdempotentResponse } from '../../lib/store/contracts';
import { openStores, resolve } from '../../lib/store/index';
import { startPostgres, startRedis, until } from '../helpers/backends';

const log = createLogger('test', 'silent');

/** The token of a claim that must have been won. */
function won(claim: IdempotencyClaim): string {
  assert.equal(claim.state, 'claimed', JSON.stringify(claim));
  return claim.state === 'claimed' ? claim.token : '';
}

const ANSWER: IdempotentResponse = {
  status: 201,
  headers: { 'content-type': 'application/json; charset=utf-8', location: '/v1/channels/c/messages/7', etag: '"7"' },
  body: '{"messageid":7,"message":"héllo ✓ \\u0000 \u2028 😀"}',
};

async function claimsAndAnswers(s: IdempotencyStore): Promise<void> {
  const now = Date.now();
  const token = won(await s.claim('ann', 'k1', 'fp1', now, 60_000));
  const busy = await s.claim('ann', 'k1', 'fp2', now + 10, 60_000);
  assert.equal(busy.state, 'running');
  assert.equal(busy.state === 'running' && busy.fingerprint, 'fp1', "the first request's fingerprint");
  assert.ok(busy.state === 'running' && busy.retryAfterMs > 0 && busy.retryAfterMs <= 60_000, JSON.stringify(busy));
  assert.equal(await s.complete('ann', 'k1', 'not-the-token', ANSWER, now, 60_000), false, 'another token');
  assert.equal(await s.complete('ann', 'k1', token, ANSWER, now, 60_000), true);
  assert.deepEqual(await s.claim('ann', 'k1', 'fp3', Date.now(), 60_000), {
    state: 'done',
    fingerprint: 'fp1',
    response: ANSWER,
  });
  assert.equal(await s.complete('ann', 'k1', token, ANSWER, now, 60_000), false, 'completed once only');
  // Scopes and keys never run into each other, whatever characters they hold.
  won(await s.claim('bo', 'k1', 'fp1', Date.now(), 60_000));
  won(await s.claim('a:b', 'c', 'fp', Date.now(), 60_000));
  won(await s.claim('a', 'b:c', 'fp', Date.now(), 60_000));
  won(await s.claim('ann', '"k1"', 'fp', Date.now(), 60_000));
}

async function releases(s: IdempotencyStore): Promise<void> {
  const token = won(await s.claim('ann', 'r1', 'fp', Date.now(), 60_000));
  await s.release('ann', 'r1', 'not-the-token');
  assert.equal((await s.claim('ann', 'r1', 'fp', Date.now(), 60_000)).state, 'running', 'another token frees nothing');
  await s.release('ann', 'r1', token);
  const again = won(await s.claim('ann', 'r1', 'fp-new', Date.now(), 60_000));
  assert.notEqual(again, token, 'a new claim, a new token');
  assert.equal(await s.complete('ann', 'r1', token, ANSWER, Date.now(), 60_000), false, 'the released claim is gone');
}

async function racers(stores: IdempotencyStore[]): Promise<void> {
  const claims = await Promise.all(
    Array.from({ length: 24 }, (_, i) => stores[i % stores.length].claim('ann', 'race', `fp`, Date.now(), 60_000)),
  );
  assert.equal(claims.filter((c) => c.state === 'claimed').length, 1, 'exactly one claim is won');
  assert.ok(claims.every((c) => c.state === 'claimed' || c.state === 'running'));
}

async function expiries(s: IdempotencyStore): Promise<void> {
  const t0 = Date.now();
  const first = won(await s.claim('ann', 'lease', 'fp', t0, 300));
  // A lease that ran out: the key is taken over, and the first claim can no longer complete.
  await until(async () => (await s.claim('ann', 'lease', 'fp', Date.now(), 60_000)).state === 'claimed', 'the lease');
  assert.ok(Date.now() - t0 >= 290, 'not before the lease ran out');
  assert.equal(await s.complete('ann', 'lease', first, ANSWER, Date.now(), 60_000), false);
  // An answer past its time to live is gone.
  const token = won(await s.claim('ann', 'ttl', 'fp', Date.now(), 60_000));
  const t1 = Date.now();
  assert.equal(await s.complete('ann', 'ttl', token, ANSWER, t1, 300), true);
  assert.equal((await s.claim('ann', 'ttl', 'fp', Date.now(), 60_000)).state, 'done');
  await until(async () => (await s.claim('ann', 'ttl', 'fp', Date.now(), 60_000)).state === 'claimed', 'the TTL');
  assert.ok(Date.now() - t1 >= 290, 'not before the time to live ran out');
}

async function prunes(s: IdempotencyStore, expires: boolean): Promise<void> {
  won(await s.claim('ann', 'prune', 'fp', Date.now(), 60_000));
  assert.equal(await s.prune(Date.now()), 0, 'nothing expired yet');
  const removed = await s.prune(Date.now() + 3_600_000);
  assert.ok(expires ? removed === 0 : removed >= 1, `removed ${removed}`);
}

async function contract(t: TestContext, config: Config, expires: boolean): Promise<void> {
  const [a, b] = [await openStores(config, log, ['idempotency']), await openStores(config, log, ['idempotency'])];
  t.after(() => Promise.all([a.close(), b.close()]));
  await t.test('claim, running, complete, done: the answer as stored; scopes and keys apart', () =>
    claimsAndAnswers(a.idempotency),
  );
  await t.test('release frees the key for a new claim; only with its token', () => releases(a.idempotency));
  await t.test('24 concurrent claims of one key: one wins', () =>
    racers(config.databaseUrl === '' && config.redisUrl === '' ? [a.idempotency] : [a.idempotency, b.idempotency]),
  );
  await t.test('a lease and a time to live run out', () => expiries(a.idempotency));
  await t.test('prune removes what expired (Redis expires it by itself)', () => prunes(a.idempotency, expires));
}

test('memory idempotency store keeps the contract', async (t) => {
  assert.equal(resolve('idempotency', defaultConfig()), 'memory');
  await contract(t, defaultConfig(), false);
});

test('PostgreSQL idempotency store keeps the contract, two instances at once', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const config = { ...defaultConfig(), databaseUrl: await pg.newDatabase(), databasePoolMax: 4, storeTimeoutMs: 2000 };
  assert.equal(resolve('idempotency', config), 'postgres');
  await contract(t, config, false);
});

test('Redis idempotency store keeps the contract, two instances at once', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const config = { ...defaultConfig(), redisUrl: redis.url, redisPrefix: 'idem:', storeTimeoutMs: 2000 };
  assert.equal(resolve('idempotency', config), 'redis');
  await contract(t, config, true);
});
