/**
 * The gateway's ops plugins in-process with `app.inject()`, a hand-made bus and broker:
 * hello, heartbeat with each kind of failure, Backoff and Retry-After, the request id,
 * rate limiting and the bus metrics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import type { CallOptions } from '../../lib/bus/client';
import type { ServiceStats } from '../../lib/bus/broker';
import type { Config } from '../../lib/config';
import { AgoraError } from '../../lib/errors';
import { HEALTH_METHOD, HealthChecks } from '../../lib/health';
import { createLogger } from '../../lib/log';
import { buildApp, type BrokerInspector, type BusCaller } from '../../gateway/app';
import { loadShedding } from '../../gateway/hooks/load-shedding';
import { OPENAPI_PATH } from '../../gateway/ops/openapi';

type Answer = (params: unknown[], options: CallOptions) => unknown;

function fakeBus(answers: Record<string, Answer>): BusCaller & { calls: Array<{ at: string; options: CallOptions }> } {
  const calls: Array<{ at: string; options: CallOptions }> = [];
  return {
    calls,
    async call(service, method, params, options) {
      const at = `${service}.${method}`;
      calls.push({ at, options });
      const answer = answers[at];
      if (answer === undefined) throw new AgoraError('AGORA_ERR_RPC_NO_METHOD', [service, method]);
      return answer(params, options);
    },
  };
}

function fakeBroker(services: string[], up = true): BrokerInspector {
  return {
    hasService: async (name) => services.includes(name),
    services: async (): Promise<ServiceStats[]> => {
      if (!up) throw new AgoraError('AGORA_ERR_BUS_TIMEOUT', ['mmi.services', '']);
      return services.map((name) => ({ name, workers: 2, idle: 1, queued: 3 })) as ServiceStats[];
    },
  };
}

function build(
  t: { after(fn: () => unknown): void },
  bus: BusCaller,
  options: { broker?: BrokerInspector; config?: Partial<Config>; health?: HealthChecks } = {},
): FastifyInstance {
  const app = buildApp({
    bus,
    broker: options.broker,
    health: options.health,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, healthTimeoutMs: 500, ...options.config },
    build: { name: 'agora', version: '9.9.9', commit: 'c0ffee1', source: null },
  });
  t.after(() => app.close());
  return app;
}

const ALL = ['Auth', 'Channels', 'Messages', 'Compute', 'Routes'];

/** The fields these tests read of the hello and of the error body. */
interface Json {
  url?: string;
  project_version?: string;
  user?: { id: string; principals: string[] };
  code?: number;
  errno?: number;
}

test('hello: anonymous, then the caller that Auth.Resolve names, with the request id passed on', async (t) => {
  const bus = fakeBus({
    'Auth.Resolve': ([req]) =>
      (req as { sesskey: number }).sesskey === 42
        ? { sesskey: 42, username: 'ann' }
        : Promise.reject(new AgoraError('AGORA_ERR_AUTH_BAD_SESSION')),
  });
  const app = build(t, bus, { config: { publicUrl: 'https://api.example.org' } });
  const anon = await app.inject({ method: 'GET', url: '/' });
  assert.equal(anon.statusCode, 200);
  const body = anon.json<Json>();
  assert.equal(body.url, 'https://api.example.org/');
  assert.equal(body.project_version, '9.9.9');
  assert.equal(body.user, undefined);
  assert.equal(bus.calls.length, 0, 'no call without credentials');
  const known = await app.inject({
    method: 'GET',
    url: '/',
    headers: { authorization: 'Bearer 42', 'x-request-id': 'hello-1' },
  });
  assert.deepEqual(known.json<Json>().user, {
    id: 'account:ann',
    principals: ['account:ann', 'system.Authenticated', 'system.Everyone'],
  });
  assert.equal(bus.calls[0].options.reqId, 'hello-1');
  const bad = await app.inject({ method: 'GET', url: '/', headers: { authorization: 'Bearer 43' } });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.json<Json>().errno, 105);
  assert.match(String(bad.headers['www-authenticate']), /^Bearer/);
});

test('hello: the JSON byte for byte, every setting from the configuration and every capability, in order', async (t) => {
  const app = build(t, fakeBus({}), {
    config: { rateLimitMax: 50, backoffS: 7, pageMaxRecords: 40, publicUrl: 'https://api.example.org' },
  });
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  const settings = [
    '"readonly":false',
    '"max_body_bytes":1048576',
    '"request_timeout_ms":1000',
    '"open_registration":true',
    '"session_idle_s":1800',
    '"messages_retained":100',
    '"message_max_bytes":4096',
    '"rate_limit_max":50',
    '"rate_limit_window_ms":60000',
    '"backoff_s":7',
    '"batch_max_requests":25',
    '"page_max_records":40',
    '"auth_policies":["session","basic"]',
  ];
  const capabilities = [
    '"batch":{"description":"Several requests in one: POST /v1/batch","url":"/v1/batch"}',
    '"openapi":{"description":"OpenAPI 3 document of every route, and Swagger UI at /v1/docs","url":"/v1/openapi.json"}',
    '"legacy":{"description":"The legacy messaging API: POST /logon, /logoff, /list, /create, /post, /lastmessage, /retrieve","url":"/v1/docs"}',
    '"metrics":{"description":"Prometheus metrics of the gateway and the broker","url":"/metrics"}',
    '"routes":{"description":"Hosts routed to your nodes by the proxy (/v1/routes); every node has its own URL under nodes.localhost","url":"/v1/docs"}',
  ];
  assert.equal(
    res.body,
    '{"project_name":"agora","project_version":"9.9.9","http_api_version":"1.0",' +
      '"project_docs":"https://api.example.org/v1/docs","url":"https://api.example.org/",' +
      `"settings":{${settings.join(',')}},"capabilities":{${capabilities.join(',')}}}`,
  );
});

test('heartbeat: 200 when all answer; each failure named; the service checks nested; registered checks included', async (t) => {
  const answers: Record<string, Answer> = {
    [`Auth.${HEALTH_METHOD}`]: () => ({}),
    [`Messages.${HEALTH_METHOD}`]: () => ({ storage: true }),
    // Channels knows no HEALTH_METHOD: its AGORA_ERR_RPC_NO_METHOD still proves it answers.
  };
  const health = new HealthChecks().add('redis', () => true);
  const app = build(t, fakeBus(answers), { broker: fakeBroker(ALL), health });
  const up = await app.inject({ method: 'GET', url: '/__heartbeat__' });
  assert.equal(up.statusCode, 200);
  assert.deepEqual(up.json(), {
    broker: true,
    Auth: true,
    Channels: true,
    'Messages.storage': true,
    Messages: true,
    Compute: true,
    Routes: true,
    redis: true,
  });
  assert.equal(up.headers['retry-after'], undefined);

  answers[`Messages.${HEALTH_METHOD}`] = () => ({ storage: false });
  answers[`Auth.${HEALTH_METHOD}`] = () =>
    Promise.reject(new AgoraError('AGORA_ERR_BUS_TIMEOUT', ['Auth', HEALTH_METHOD]));
  app.health.add('redis', () => false);
  app.dependOnService('Search');
  const down = await app.inject({ method: 'GET', url: '/__heartbeat__' });
  assert.equal(down.statusCode, 503);
  assert.deepEqual(down.json(), {
    broker: true,
    Auth: false,
    Channels: true,
    'Messages.storage': false,
    Messages: false,
    Compute: true,
    Routes: true,
    Search: false,
    redis: false,
  });
  assert.equal(down.headers['retry-after'], '10', 'every 503 carries Retry-After');
});

test('heartbeat: a silent broker fails the broker check', async (t) => {
  const app = build(t, fakeBus({}), { broker: fakeBroker(ALL, false) });
  const res = await app.inject({ method: 'GET', url: '/__heartbeat__' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json<Record<string, boolean>>().broker, false);
});

test('Backoff on every answer while configured, errors and ops endpoints included', async (t) => {
  const app = build(t, fakeBus({}), { config: { backoffS: 45 } });
  for (const url of ['/', '/__lbheartbeat__', '/__version__', '/nope']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.headers.backoff, '45', url);
  }
  const quiet = build(t, fakeBus({}));
  assert.equal((await quiet.inject({ method: 'GET', url: '/' })).headers.backoff, undefined);
});

test('request id: a sane one is kept, anything else replaced, on every answer', async (t) => {
  const app = build(t, fakeBus({}));
  assert.equal(
    (await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'abc-123_x.y:z' } })).headers[
      'x-request-id'
    ],
    'abc-123_x.y:z',
  );
  for (const given of ['', 'a b', 'x'.repeat(129), 'é']) {
    const res = await app.inject({ method: 'GET', url: '/__lbheartbeat__', headers: { 'x-request-id': given } });
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, JSON.stringify(given));
  }
});

test('rate limit: 429, errno 117 and Retry-After past the limit; ops endpoints not counted', async (t) => {
  const app = build(t, fakeBus({}), { config: { rateLimitMax: 2, rateLimitWindowMs: 60_000 } });
  for (let i = 0; i < 5; i++)
    for (const url of ['/__lbheartbeat__', '/', '/v1/', '/__version__', '/v1/__lbheartbeat__'])
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  assert.equal((await app.inject({ method: 'GET', url: OPENAPI_PATH })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: OPENAPI_PATH })).statusCode, 200);
  const over = await app.inject({ method: 'GET', url: OPENAPI_PATH });
  assert.equal(over.statusCode, 429);
  const { code, errno } = over.json<Json>();
  assert.deepEqual({ code, errno }, { code: 429, errno: 117 });
  assert.equal(over.headers['retry-after'], '60');
  const unknown = await app.inject({ method: 'GET', url: '/nope' });
  assert.deepEqual(
    { status: unknown.statusCode, errno: unknown.json<Json>().errno },
    { status: 429, errno: 117 },
    'an unknown path past the limit is refused as such, not answered 404',
  );
});

test("rate limit: a batch's sub-requests count for the batch's client, not for the gateway's own address", async (t) => {
  const app = build(t, fakeBus({}), { config: { rateLimitMax: 4, rateLimitWindowMs: 60_000 } });
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/batch',
    remoteAddress: '10.0.0.1',
    payload: {
      requests: [
        { method: 'GET', path: '/channels' },
        { method: 'GET', path: '/channels' },
      ],
    },
  });
  assert.equal(batch.statusCode, 200);
  assert.deepEqual(
    batch.json<{ responses: { status: number }[] }>().responses.map((r) => r.status),
    [401, 401],
  );
  // 3 of the 4 are used (the batch and its two sub-requests): one more, then 429.
  const get = (remoteAddress: string) => app.inject({ method: 'GET', url: OPENAPI_PATH, remoteAddress });
  assert.equal((await get('10.0.0.1')).statusCode, 200);
  assert.equal((await get('10.0.0.1')).statusCode, 429);
  assert.equal((await get('10.0.0.2')).statusCode, 200, 'another client has its own count');
});

test('metrics: bus calls by outcome, broker queues, requests by route', async (t) => {
  const bus = fakeBus({ 'Auth.Resolve': () => ({ username: 'ann' }) });
  const app = build(t, bus, { broker: fakeBroker(['Auth']) });
  await app.inject({ method: 'GET', url: '/', headers: { authorization: 'Bearer 7' } });
  await app.inject({ method: 'GET', url: '/__heartbeat__' });
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(text, /^agora_bus_call_duration_seconds_count\{service="Auth",method="Resolve",outcome="ok"\} 1$/m);
  assert.match(
    text,
    new RegExp(
      `^agora_bus_call_duration_seconds_count\\{service="Auth",method="${HEALTH_METHOD}",outcome="AGORA_ERR_RPC_NO_METHOD"\\} 1$`,
      'm',
    ),
  );
  assert.match(text, /^agora_broker_queued\{service="Auth"\} 3$/m);
  assert.match(text, /^agora_broker_up 1$/m);
  assert.match(text, /^agora_http_requests_total\{method="GET",route="\/",status="200"\} 1$/m);
});

test('metrics with a token: 401 in the error format without it or with another, the text with it', async (t) => {
  const token = 'scrape-3f9a1c77e2b4d6';
  const app = build(t, fakeBus({}), { broker: fakeBroker(['Auth']), config: { metricsToken: token } });
  for (const authorization of [
    undefined,
    '',
    `Bearer ${token}x`,
    `Bearer ${token.slice(0, -1)}`,
    `Basic ${token}`,
    token,
    `Bearer ${token} more`,
  ]) {
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: authorization === undefined ? {} : { authorization },
    });
    assert.equal(res.statusCode, 401, String(authorization));
    assert.equal(res.headers['www-authenticate']?.toString().startsWith('Bearer '), true);
    assert.deepEqual(res.json(), {
      code: 401,
      errno: 104,
      error: 'Unauthorized',
      message: 'GET /metrics requires Authorization: Bearer <the metrics token>',
    });
  }
  for (const authorization of [`Bearer ${token}`, `bearer  ${token} `]) {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization } });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /^agora_broker_up 1$/m);
  }
  // The token guards /metrics only.
  assert.equal((await app.inject({ method: 'GET', url: '/__lbheartbeat__' })).statusCode, 200);
});

test('load shedding: the event-loop delay of the start is not load; the same delay later is', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const app = fastify();
  t.after(() => app.close());
  await app.register(loadShedding, {
    maxEventLoopDelayMs: 5,
    maxHeapUsedBytes: 0,
    maxRssBytes: 0,
    retryAfterS: 5,
    backoffS: 0,
    sampleIntervalMs: 1000,
  });
  app.get('/', async () => ({}));
  await app.ready();
  // 1. The loop is blocked right after the start; the next sample records it.
  const block = (): void => {
    // Long against the 5 ms bound: the delay is a mean over the samples since the last read (less the
    // histogram's 10 ms resolution), which a loaded machine dilutes with many short ones.
    const until = performance.now() + 800;
    while (performance.now() < until);
  };
  const sample = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(1000);
  };
  // A first sample closes the histogram's first window, which covers the registration and ready: on a
  // loaded machine that is many short delays, and their mean would dilute the block below.
  await sample();
  block();
  await sample();
  assert.ok(app.memoryUsage().eventLoopDelay > 5, `delay sampled: ${app.memoryUsage().eventLoopDelay}`);
  const early = await app.inject({ method: 'GET', url: '/' });
  assert.equal(early.statusCode, 200, 'within the first samples after ready: served');
  assert.equal(early.headers.backoff, undefined);
  // 2. Past those samples, the same delay sheds requests.
  t.mock.timers.tick(2000);
  block();
  await sample();
  const late = await app.inject({ method: 'GET', url: '/' });
  assert.equal(late.statusCode, 503);
  assert.equal(late.headers['retry-after'], '5');
  assert.equal(late.headers.backoff, '5');
});
