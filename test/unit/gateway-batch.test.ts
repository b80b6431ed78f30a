/**
 * POST /v1/batch is checked whole before any of it runs (gateway/v1/batch.ts, docs/API-V1.md
 * "Batch"): a sub-request nested too deep, even the last one, answers 400 and no sub-request
 * reaches the bus.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { depthOver, MAX_BODY_DEPTH } from '../../gateway/v1/batch';

function setUp(): { app: FastifyInstance; calls: string[] } {
  const calls: string[] = [];
  const bus: BusCaller = {
    call(service, method) {
      calls.push(`${service}.${method}`);
      return Promise.resolve({ channel: 'general', created: true, version: 7, last_modified: 7 });
    },
  };
  const app = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000 },
  });
  return { app, calls };
}

/** `{"a":{"a":…1…}}`, `depth` objects deep, as JSON text. */
function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function batch(app: FastifyInstance, lastBody: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: 'Bearer 12345', 'content-type': 'application/json' },
    payload: `{"requests":[{"method":"POST","path":"/channels","body":{"name":"general"}},{"method":"POST","path":"/channels","body":${lastBody}}]}`,
  });
}

test('a batch whose last sub-request has a body 5000 levels deep answers 400 (errno 107) and runs nothing', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const deep = nested(5000);
  assert.ok(deep.length >= 30_000);
  const res = await batch(app, deep);
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json(), {
    code: 400,
    errno: 107,
    error: 'Bad Request',
    message: `Invalid parameters: requests.1.body is nested deeper than ${MAX_BODY_DEPTH} levels`,
    details: [
      { location: 'body', name: 'requests.1.body', description: `is nested deeper than ${MAX_BODY_DEPTH} levels` },
    ],
  });
  assert.deepEqual(calls, [], 'no sub-request ran');
});

test(`a body ${MAX_BODY_DEPTH} levels deep is let through to its route; one more level is refused`, async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const ok = await batch(app, nested(MAX_BODY_DEPTH));
  assert.equal(ok.statusCode, 200);
  const responses = ok.json<{ responses: Array<{ status: number }> }>().responses;
  // The first creates; the second reaches the route, whose own validation refuses the body.
  assert.deepEqual(
    responses.map((r) => r.status),
    [201, 400],
  );
  assert.deepEqual(calls, ['Channels.Create']);
  const over = await batch(app, nested(MAX_BODY_DEPTH + 1));
  assert.equal(over.statusCode, 400);
  assert.deepEqual(calls, ['Channels.Create'], 'nothing more ran');
});

test('depthOver counts arrays and objects, not scalars, without recursion', () => {
  assert.equal(depthOver(1, 0), false);
  assert.equal(depthOver({}, 0), true);
  assert.equal(depthOver({ a: [1, { b: 'x' }] }, 3), false);
  assert.equal(depthOver({ a: [1, { b: {} }] }, 3), true);
  let deep: unknown = null;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(depthOver(deep, 99_999), true);
  assert.equal(depthOver(deep, 100_000), false);
});
