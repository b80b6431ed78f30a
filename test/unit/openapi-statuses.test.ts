/**
 * Every status a route can answer is in the OpenAPI document. Two walks over every route the
 * application registers (the legacy messaging API aside: every answer of it is HTTP 200):
 * - what the route's configuration says it can answer — its opt-outs of the rate limit, of
 *   load shedding and of the end of service, the authentication hook it runs or the
 *   Authorization it reads, the conditional headers it declares, its methods in /v1 — must be
 *   documented for it;
 * - probes of every route (no credentials, a live key, a dead key, a bus down, a body without
 *   framing, an Accept it cannot meet, If-None-Match with the ETag it answered, past the end
 *   of service) must each answer a status documented for that route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, InjectOptions, RouteOptions } from 'fastify';
import type { Config } from '../../lib/config';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { requireSession } from '../../gateway/hooks/auth';
import { DOCS_PREFIX } from '../../gateway/ops/openapi';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/** Every service answers plausibly; `dead` refuses every session, `down` has no worker at all. */
function bus(mode: 'live' | 'dead' | 'down'): BusCaller {
  const answers: Record<string, (p: Record<string, unknown>) => unknown> = {
    'Auth.Resolve': (p) => ({ sesskey: p.sesskey, username: 'ann', idle_s: 1800, version: 3 }),
    'Auth.Logon': () => ({ sesskey: 42, username: 'ann', created: false, version: 3 }),
    'Auth.Logoff': () => ({ ok: true }),
    'Channels.List': () => ({ channels: ['general'], version: 2 }),
    'Channels.Get': () => ({ channel: 'general' }),
    'Channels.Create': (p) => ({ channel: p.channel, created: true }),
    'Messages.Last': () => ({ messageid: 1 }),
    'Messages.Retrieve': () => ({ messages: [{ messageid: 1, username: 'ann', message: 'hi' }] }),
    'Messages.Post': () => ({ messageid: 2, last_modified: 1_796_481_183_302 }),
  };
  return {
    async call(service, method, params) {
      if (mode === 'down') throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
      if (mode === 'dead' && service !== 'Auth') throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
      const answer = answers[`${service}.${method}`];
      if (answer === undefined) throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
      return answer(params[0] as Record<string, unknown>);
    },
  };
}

const CONFIG: Partial<Config> = { rateLimitMax: 10_000, maxEventLoopDelayMs: 1000, eos: '2999-01-01' };

/** The app, with every route it registers captured as registered. */
function build(mode: 'live' | 'dead' | 'down', config: Partial<Config> = CONFIG) {
  const app = buildApp({
    bus: bus(mode),
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, ...config },
    build: { name: 'agora', version: '1.0.0', commit: 'unknown', source: null },
  });
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  return { app, routes };
}

function documented(doc: Doc, route: { method: string; url: string }): Set<number> {
  const op = doc.paths[route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
  assert.ok(op !== undefined, `${route.method} ${route.url} is documented`);
  return new Set(Object.keys(op.responses).map(Number));
}

/** The routes to walk: one entry per method, neither HEAD, nor hidden, nor legacy, nor Swagger UI's pages. */
function walked(routes: RouteOptions[]): { method: string; url: string; route: RouteOptions }[] {
  return routes.flatMap((route) =>
    [route.method]
      .flat()
      .filter((method) => method !== 'HEAD')
      .filter(() => route.schema?.hide !== true)
      .filter(() => route.config?.surface !== 'legacy' && !route.url.startsWith(DOCS_PREFIX))
      .map((method) => ({ method, url: route.url, route })),
  );
}

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/** What a route's configuration says it may answer, besides what its handler does. */
function fromConfig(method: string, route: RouteOptions): number[] {
  const config = route.config ?? {};
  const hooks = [route.onRequest ?? []].flat();
  const headers = Object.keys(
    (route.schema as { headers?: { properties?: object } } | undefined)?.headers?.properties ?? {},
  );
  const v1 = route.url.startsWith('/v1/') && config.ops !== true;
  return [
    500,
    ...(config.rateLimit === false ? [] : [429]),
    ...(config.shed === false ? [] : [503]),
    ...(config.ops === true ? [] : [410]),
    ...(hooks.includes(requireSession) || headers.includes('authorization') ? [401] : []),
    ...(method === 'GET' && headers.includes('if-none-match') ? [304] : []),
    ...(method !== 'GET' && headers.includes('if-match') ? [412] : []),
    ...(v1 && route.url !== '/v1/openapi.json' ? [406] : []),
    ...(v1 && WRITES.has(method) ? [411, 413, 415] : []),
  ];
}

test('what each route is configured to answer is in the OpenAPI document', async (t) => {
  const { app, routes } = build('live');
  t.after(() => app.close());
  await app.ready();
  const doc = app.swagger() as unknown as Doc;
  const walk = walked(routes);
  assert.ok(walk.length >= 25, `${walk.length} routes walked`);
  for (const { method, url, route } of walk) {
    const listed = documented(doc, { method, url });
    const missing = fromConfig(method, route).filter((status) => !listed.has(status));
    assert.deepEqual(missing, [], `${method} ${url} documents ${[...listed].join(', ')}`);
  }
  // The ops endpoints are the exception to 429, 503 and 410; the hello documents 401 (and 429 and 503 of
  // the logon or the Auth call that checks credentials).
  const hello = documented(doc, { method: 'GET', url: '/v1/' });
  assert.ok(hello.has(401) && !hello.has(410), [...hello].join(','));
  const lb = documented(doc, { method: 'GET', url: '/__lbheartbeat__' });
  assert.deepEqual([...lb].sort(), [200, 500]);
});

/** The route's URL with its parameters filled in. */
function concrete(url: string): string {
  return url.replace(':name', 'general').replace(':id', '1');
}

async function probe(app: FastifyInstance, method: string, url: string, extra: Partial<InjectOptions> = {}) {
  const write = WRITES.has(method);
  return app.inject({
    method: method as InjectOptions['method'],
    url: concrete(url),
    ...(write ? { payload: {} } : {}),
    ...extra,
    headers: { authorization: 'Bearer 42', ...(extra.headers ?? {}) },
  });
}

test('every status a probe of a route draws is documented for that route', async (t) => {
  const live = build('live');
  const dead = build('dead');
  const down = build('down');
  const gone = build('live', { ...CONFIG, eos: '2000-01-01' });
  for (const { app } of [live, dead, down, gone]) t.after(() => app.close());
  await Promise.all([live, dead, down, gone].map(({ app }) => app.ready()));
  const doc = live.app.swagger() as unknown as Doc;
  const seen = new Set<number>();
  for (const { method, url } of walked(live.routes)) {
    const listed = documented(doc, { method, url });
    const check = (status: number, what: string): void => {
      seen.add(status);
      assert.ok(
        listed.has(status),
        `${method} ${url} ${what} answered ${status}, documented: ${[...listed].join(', ')}`,
      );
    };
    const ok = await probe(live.app, method, url);
    check(ok.statusCode, 'with a live key');
    const etag = ok.headers.etag;
    if (method === 'GET' && typeof etag === 'string')
      check((await probe(live.app, method, url, { headers: { 'if-none-match': etag } })).statusCode, 'If-None-Match');
    check((await probe(live.app, method, url, { headers: { authorization: '' } })).statusCode, 'without credentials');
    check((await probe(live.app, method, url, { headers: { authorization: 'Bearer x' } })).statusCode, 'malformed');
    check((await probe(live.app, method, url, { headers: { accept: 'text/html' } })).statusCode, 'Accept: text/html');
    check((await probe(dead.app, method, url)).statusCode, 'with a dead key');
    check((await probe(down.app, method, url)).statusCode, 'with the bus down');
    check((await probe(gone.app, method, url)).statusCode, 'past the end of service');
    if (WRITES.has(method)) {
      check((await probe(live.app, method, url, { payload: undefined })).statusCode, 'with no body framing');
      const text = { payload: 'x', headers: { 'content-type': 'text/plain' } };
      check((await probe(live.app, method, url, text)).statusCode, 'with text/plain');
    }
  }
  // The probes did draw the statuses this test is about.
  for (const status of [200, 304, 401, 406, 410, 411, 415, 503])
    assert.ok(seen.has(status), `some probe answered ${status}: ${[...seen].sort().join(', ')}`);
});
