/**
 * The bridge `POST /v1/rpc/{service}/{method}` in process, with a hand-made bus and broker:
 * only declared public methods are reachable, with the session's user as the call's `user`,
 * params checked by the declared schema, errors in the /v1 body, describe answers cached, and
 * the OpenAPI document listing the public methods of the services registered when it is served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import type { ServiceStats } from '../../lib/bus/broker';
import type { CallOptions } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { DESCRIBE_METHOD, describeHandler, readDescription } from '../../lib/rpc/describe';
import { buildApp, type BusCaller } from '../../gateway/app';
import type { BrokerInspector } from '../../gateway/ops/heartbeat';
import { buildEchoHandlers, ECHO_PUBLIC } from '../../services/echo/handlers';

interface Call {
  service: string;
  method: string;
  params: unknown[];
  options: CallOptions;
}

const KEY = 4503599627370497;
const GREET = {
  methods: {
    greet: {
      summary: 'Greets someone',
      params: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1 } },
      },
      result: { type: 'object', properties: { greeting: { type: 'string' } } },
    },
  },
};

/** Auth answers KEY as ann; `greeter` declares greet public and also serves `secret`. */
function fakeBus(): BusCaller & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async call(service, method, params, options) {
      calls.push({ service, method, params, options });
      if (service === 'Auth' && method === 'Resolve') {
        if ((params[0] as { sesskey: number }).sesskey !== KEY) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
        return { sesskey: KEY, username: 'ann', idle_s: 60, version: 1 };
      }
      if (service === 'greeter') {
        if (method === DESCRIBE_METHOD) return GREET;
        if (method === 'greet')
          return { greeting: `hello ${(params[0] as { name: string }).name}`, user: options.user };
        if (method === 'secret') return 'leaked';
      }
      if (service === 'plain') throw new AgoraError('AGORA_ERR_RPC_NO_METHOD', [service, method]);
      throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
    },
  };
}

function fakeBroker(services: string[]): BrokerInspector {
  return {
    hasService: async (service) => services.includes(service),
    services: async (): Promise<ServiceStats[]> =>
      services.map((name) => ({ name, workers: 1, slots: 1, idle: 1, queued: 0 })),
  };
}

function build(bus: BusCaller, broker?: BrokerInspector): FastifyInstance {
  return buildApp({
    bus,
    broker,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000, batchMaxRequests: 25, pageMaxRecords: 100 },
  });
}

function rpc(app: FastifyInstance, url: string, payload?: unknown, key: number | null = KEY) {
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  else headers['content-length'] = '0';
  return app.inject({
    method: 'POST',
    url,
    headers,
    payload: payload === undefined ? undefined : JSON.stringify(payload),
  });
}

test('a public method is called for the session user, its params checked by its schema', async (t) => {
  const bus = fakeBus();
  const app = build(bus, fakeBroker(['greeter', 'plain']));
  t.after(() => app.close());

  const ok = await rpc(app, '/v1/rpc/greeter/greet', { name: 'bob' });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json(), { data: { greeting: 'hello bob', user: 'ann' } });
  const call = bus.calls.find((c) => c.service === 'greeter' && c.method === 'greet');
  assert.deepEqual(call?.params, [{ name: 'bob' }]);
  assert.equal(call?.options.user, 'ann');
  assert.equal(typeof call?.options.deadline, 'number');
  assert.equal(call?.options.reqId, ok.headers['x-request-id']);

  const bad = await rpc(app, '/v1/rpc/greeter/greet', { name: '', extra: 1 });
  assert.equal(bad.statusCode, 400);
  const body = bad.json<{ errno: number; code: number; details: { location: string; name: string }[] }>();
  assert.equal(body.errno, 107);
  assert.deepEqual(body.details.map((d) => `${d.location}:${d.name}`).sort(), ['body:extra', 'body:name']);
  const none = await rpc(app, '/v1/rpc/greeter/greet');
  assert.equal(none.statusCode, 400, 'no body is null, which the schema refuses');

  for (const url of [
    '/v1/rpc/greeter/secret',
    '/v1/rpc/nobody/greet',
    '/v1/rpc/plain/greet',
    '/v1/rpc/greeter/__describe__',
  ]) {
    const res = await rpc(app, url, {});
    assert.equal(res.statusCode, 404, url);
    assert.deepEqual(
      { code: res.json<{ code: number }>().code, errno: res.json<{ errno: number }>().errno },
      { code: 404, errno: 111 },
    );
  }
  assert.ok(!bus.calls.some((c) => c.method === 'secret'), 'a method not declared public is never called');
  assert.ok(!bus.calls.some((c) => c.service === 'nobody'), 'a service without workers is not called');

  // Several calls, one describe per service within the cache's life.
  const describes = bus.calls.filter((c) => c.service === 'greeter' && c.method === DESCRIBE_METHOD).length;
  assert.equal(describes, 1);
});

test('a batch carries bridge calls like any sub-request, with its Authorization', async (t) => {
  const app = build(fakeBus(), fakeBroker(['greeter']));
  t.after(() => app.close());
  const res = await app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    payload: JSON.stringify({
      defaults: { method: 'POST' },
      requests: [
        { path: '/rpc/greeter/greet', body: { name: 'cy' } },
        { path: '/rpc/greeter/secret', body: {} },
      ],
    }),
  });
  assert.equal(res.statusCode, 200, res.body);
  const { responses } = res.json<{ responses: { status: number; body: unknown }[] }>();
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 404],
  );
  assert.deepEqual(responses[0].body, { data: { greeting: 'hello cy', user: 'ann' } });
});

test('no session is 401, a dead one 401 before anything public is looked at', async (t) => {
  const bus = fakeBus();
  const app = build(bus, fakeBroker(['greeter']));
  t.after(() => app.close());
  const missing = await rpc(app, '/v1/rpc/greeter/greet', { name: 'bob' }, null);
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.json<{ errno: number }>().errno, 104);
  const dead = await rpc(app, '/v1/rpc/greeter/secret', {}, KEY + 1);
  assert.equal(dead.statusCode, 401, 'not 404: a caller without a session learns nothing');
  assert.ok(!bus.calls.some((c) => c.method === 'greet' || c.method === 'secret'));
});

test('the OpenAPI document lists each public method of the services registered now', async (t) => {
  const services = ['greeter', 'plain'];
  const broker: BrokerInspector = { ...fakeBroker([]), hasService: async (s) => services.includes(s) };
  broker.services = async () => services.map((name) => ({ name, workers: 1, slots: 1, idle: 1, queued: 0 }));
  const app = build(fakeBus(), broker);
  t.after(() => app.close());
  const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
  }>();
  assert.deepEqual(
    doc.paths['/v1/rpc/greeter/greet'].post?.requestBody.content['application/json'].schema,
    GREET.methods.greet.params,
  );
  assert.ok(doc.paths['/v1/rpc/{service}/{method}'] !== undefined, 'the generic route too');
  await SwaggerParser.validate(structuredClone(doc) as never);
  assert.ok(!Object.keys(doc.paths).some((p) => p.includes('secret') || p.includes('/plain/')));
  services.splice(0);
  const later = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.ok(
    !Object.keys(later.json<{ paths: object }>().paths).includes('/v1/rpc/greeter/greet'),
    'gone with its service',
  );
});

test('echo declares its echo method public; a describe answer is read defensively', async () => {
  const handlers = buildEchoHandlers();
  const ctx = { service: 'echo', method: DESCRIBE_METHOD, log: createLogger('echo', 'silent') };
  const described = readDescription(await handlers[DESCRIBE_METHOD]([], ctx));
  assert.deepEqual([...described.keys()], ['echo']);
  assert.deepEqual(described.get('echo'), ECHO_PUBLIC.echo);
  assert.throws(() => describeHandler({ nope: {} }, ['echo']), /not served/);
  const read = readDescription({
    methods: { ok: { params: null }, __describe__: {}, 'bad name': {}, notmap: 1, badschema: { params: 'x' } },
  });
  assert.deepEqual([...read.entries()], [['ok', {}]]);
  assert.equal(readDescription(['not', 'a', 'map']).size, 0);
});
