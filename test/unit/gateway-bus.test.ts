/**
 * GET /v1/bus in-process with `app.inject()`, a hand-made bus and broker: the broker's status for
 * a live session, 401 for a dead one (Auth says so), 503 in the error format without a broker
 * that answers `mmi.status`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokerStatus } from '../../lib/bus/broker-stats';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { buildApp, type BrokerInspector, type BusCaller } from '../../gateway/app';

const STATUS: BrokerStatus = {
  uptimeMs: 1234,
  tailers: 0,
  services: [
    { name: 'Messages', workers: 2, slots: 64, busy: 3, queued: 1, calls: 40, errors: 2, rate: 7.5, p50: 1, p99: 16 },
  ],
};

/** Auth knows session 42 only. */
const bus: BusCaller = {
  async call(service, method, params) {
    assert.equal(`${service}.${method}`, 'Auth.Resolve');
    const { sesskey } = params[0] as { sesskey: number };
    if (sesskey !== 42) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
    return { sesskey, username: 'ann', idle_s: 1800, version: 1 };
  },
};

function build(t: { after(fn: () => unknown): void }, broker?: BrokerInspector) {
  const app = buildApp({
    bus,
    broker,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 65_536, requestTimeoutMs: 1000 },
  });
  t.after(() => app.close());
  return app;
}

const withStatus: BrokerInspector = {
  hasService: async () => true,
  services: async () => [],
  status: async () => STATUS,
};

test("GET /v1/bus answers the broker's status to a live session", async (t) => {
  const app = build(t, withStatus);
  const res = await app.inject({ method: 'GET', url: '/v1/bus', headers: { authorization: 'Bearer 42' } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { data: STATUS });
});

test('GET /v1/bus: no key 401, a dead session 401, in the error format', async (t) => {
  const app = build(t, withStatus);
  const none = await app.inject({ method: 'GET', url: '/v1/bus' });
  assert.equal(none.statusCode, 401);
  const dead = await app.inject({ method: 'GET', url: '/v1/bus', headers: { authorization: 'Bearer 7' } });
  assert.equal(dead.statusCode, 401);
  assert.equal(dead.json<{ errno: number }>().errno, 105);
});

test('GET /v1/bus without a broker that answers mmi.status: 503 in the error format', async (t) => {
  const app = build(t, { hasService: async () => true, services: async () => [] });
  const res = await app.inject({ method: 'GET', url: '/v1/bus', headers: { authorization: 'Bearer 42' } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json<{ code: number }>().code, 503);
});
