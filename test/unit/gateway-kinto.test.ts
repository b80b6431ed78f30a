/**
 * What a Kinto client needs of the gateway, in-process with `app.inject()` and a hand-made
 * bus: an empty body is no body, the hello at /v1/ with Kinto's `user`, the ops aliases under
 * /v1, the trailing-slash redirect, the end of service (Alert, 410), HTTP Basic with one logon
 * per credential (not a scrypt per request) and Auth's throttling, and a body's framing (411).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallOptions } from '../../lib/bus/client';
import type { Config } from '../../lib/config';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { Authenticator } from '../../gateway/hooks/auth';
import { withoutTrailingSlash } from '../../gateway/hooks/trailing-slash';
import { ROOT } from '../helpers/proc';

type Answer = (params: Record<string, unknown>, options: CallOptions) => unknown;
interface Call {
  at: string;
  params: Record<string, unknown>;
}

function fakeBus(answers: Record<string, Answer>): BusCaller & { calls: Call[]; count(at: string): number } {
  const calls: Call[] = [];
  return {
    calls,
    count: (at) => calls.filter((c) => c.at === at).length,
    async call(service, method, params, options) {
      const at = `${service}.${method}`;
      const p = params[0] as Record<string, unknown>;
      calls.push({ at, params: p });
      const answer = answers[at];
      if (answer === undefined) throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
      return answer(p, options);
    },
  };
}

/** Auth knows ann with password "pw"; every logon opens the next session key. */
function meshLike(extra: Record<string, Answer> = {}) {
  let next = 100;
  return fakeBus({
    'Auth.Logon': (p) => {
      if (p.password !== 'pw') throw new AgoraError('AGORA_ERR_AUTH_BAD_CREDENTIALS');
      return { sesskey: ++next, username: p.username, created: false, version: 1 };
    },
    'Auth.Logoff': () => ({ ok: true }),
    'Auth.Resolve': (p) => ({ sesskey: p.sesskey, username: 'ann', idle_s: 1800, version: 1 }),
    'Channels.List': () => ({ channels: ['general'], version: 1 }),
    ...extra,
  });
}

function build(t: { after(fn: () => unknown): void }, bus: BusCaller, config: Partial<Config> = {}): FastifyInstance {
  const app = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, ...config },
    build: { name: 'agora', version: '9.9.9', commit: 'c0ffee1', source: null },
  });
  t.after(() => app.close());
  return app;
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('an empty body is no body, whatever the Content-Type, on every method', async (t) => {
  const bus = meshLike();
  const app = build(t, bus);
  const auth = { authorization: 'Bearer 42' };
  for (const headers of [
    { 'content-type': 'application/json' },
    { 'content-type': 'application/json', 'content-length': '0' },
    { 'content-type': 'text/plain' },
  ]) {
    const off = await app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { ...auth, ...headers } });
    assert.equal(off.statusCode, 204, `DELETE ${JSON.stringify(headers)}: ${off.body}`);
    const list = await app.inject({ method: 'GET', url: '/v1/channels', headers: { ...auth, ...headers } });
    assert.equal(list.statusCode, 200, `GET ${JSON.stringify(headers)}: ${list.body}`);
  }
  // A POST that needs a body and has none is told so by its schema, not "not valid JSON".
  const empty = await app.inject({
    method: 'POST',
    url: '/v1/channels',
    headers: { ...auth, 'content-type': 'application/json', 'content-length': '0' },
  });
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json<{ errno: number }>().errno, 107, empty.body);
  // A body that is there and not JSON is still refused as such.
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/channels',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: '{"name":',
  });
  assert.equal(bad.json<{ errno: number }>().errno, 106);
});

test('hello at /v1/: url, readonly, batch_max_requests, capabilities, Kinto user and principals', async (t) => {
  const app = build(t, meshLike(), { publicUrl: 'https://api.example.org', batchMaxRequests: 7 });
  const res = await app.inject({ method: 'GET', url: '/v1/', headers: { authorization: 'Bearer 42' } });
  assert.equal(res.statusCode, 200);
  const body = res.json<{
    url: string;
    project_docs: string;
    settings: Record<string, unknown>;
    capabilities: Record<string, unknown>;
    user: unknown;
    eos?: string;
  }>();
  assert.equal(body.url, 'https://api.example.org/v1/');
  assert.equal(body.project_docs, 'https://api.example.org/v1/docs');
  assert.equal(body.settings.readonly, false);
  assert.equal(body.settings.batch_max_requests, 7);
  assert.ok('batch' in body.capabilities);
  assert.deepEqual(body.user, {
    id: 'account:ann',
    principals: ['account:ann', 'system.Authenticated', 'system.Everyone'],
  });
  assert.equal(body.eos, undefined, 'no end of service configured');
  // The root keeps its own url.
  assert.equal((await app.inject({ method: 'GET', url: '/' })).json<{ url: string }>().url, 'https://api.example.org/');
});

test('the ops endpoints under /v1, and a trailing slash redirected (307, query kept)', async (t) => {
  const app = build(t, meshLike());
  for (const url of ['/v1/__lbheartbeat__', '/v1/__version__'])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  // No broker to ask: the heartbeat answers, and says so.
  assert.equal((await app.inject({ method: 'GET', url: '/v1/__heartbeat__' })).statusCode, 503);
  for (const [method, url, location] of [
    ['GET', '/v1/channels/?_limit=2', '/v1/channels?_limit=2'],
    ['POST', '/v1/channels/', '/v1/channels'],
    ['GET', '/v1', '/v1/'],
    ['GET', '/v1?x=1', '/v1/?x=1'],
    ['GET', '/__heartbeat__//', '/__heartbeat__'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 307, `${method} ${url}`);
    assert.equal(res.headers.location, location, `${method} ${url}`);
    assert.ok(res.headers['x-request-id'] !== undefined, 'a redirect carries the request id');
  }
  // A path never names another host.
  assert.equal(withoutTrailingSlash('//evil.example/'), '/evil.example');
  assert.equal(withoutTrailingSlash('/'), undefined);
  assert.equal(withoutTrailingSlash('/v1/'), undefined);
  // Routes that answer with their slash keep answering; the legacy messaging API keeps its 404.
  assert.equal((await app.inject({ method: 'GET', url: '/v1/docs/' })).statusCode, 200);
  const legacy = await app.inject({ method: 'POST', url: '/logon/', payload: {} });
  assert.equal(legacy.statusCode, 404);
});

test('end of service: Alert on every answer before the date, 410 (errno 202) after it but on the ops endpoints', async (t) => {
  const soft = build(t, meshLike(), {
    eos: '2999-01-01',
    eosMessage: 'Moving to v2',
    eosUrl: 'https://example.org/eos',
  });
  const hello = await soft.inject({ method: 'GET', url: '/v1/', headers: { origin: 'https://app.example' } });
  assert.equal(hello.json<{ eos: string }>().eos, '2999-01-01');
  const alert = { code: 'soft-eol', message: 'Moving to v2', url: 'https://example.org/eos' };
  assert.deepEqual(JSON.parse(String(hello.headers.alert)), alert);
  assert.match(String(hello.headers['access-control-expose-headers']), /(^|, ?)Alert(,|$)/);
  for (const url of ['/v1/channels', '/nope']) {
    const res = await soft.inject({ method: 'GET', url, headers: { authorization: 'Bearer 42' } });
    assert.deepEqual(JSON.parse(String(res.headers.alert)), alert, url);
  }

  const hard = build(t, meshLike(), { eos: '2000-01-01', eosMessage: 'Gone to v2' });
  const gone = await hard.inject({ method: 'GET', url: '/v1/channels', headers: { authorization: 'Bearer 42' } });
  assert.equal(gone.statusCode, 410);
  assert.deepEqual(
    { code: gone.json<{ code: number }>().code, errno: gone.json<{ errno: number }>().errno },
    { code: 410, errno: 202 },
  );
  assert.deepEqual(JSON.parse(String(gone.headers.alert)), {
    code: 'hard-eol',
    message: 'Gone to v2',
    url: 'http://localhost:80/v1/docs',
  });
  // The documentation's url is the request's: each host gets its own.
  const elsewhere = await hard.inject({ method: 'GET', url: '/', headers: { host: 'api.example:8080' } });
  assert.equal((JSON.parse(String(elsewhere.headers.alert)) as { url: string }).url, 'http://api.example:8080/v1/docs');
  for (const url of ['/', '/v1/', '/__lbheartbeat__', '/v1/__version__', '/metrics']) {
    const res = await hard.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
    assert.equal((JSON.parse(String(res.headers.alert)) as { code: string }).code, 'hard-eol', url);
  }
  const preflight = await hard.inject({
    method: 'OPTIONS',
    url: '/v1/channels',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(preflight.statusCode, 204);
});

test('Basic: one logon per credential, shared by concurrent requests, with the client address', async (t) => {
  const bus = meshLike();
  const app = build(t, bus);
  const headers = { authorization: basic('ann', 'pw') };
  const first = await Promise.all(
    Array.from({ length: 5 }, () =>
      app.inject({ method: 'GET', url: '/v1/channels', headers, remoteAddress: '10.1.1.1' }),
    ),
  );
  assert.deepEqual(
    first.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  for (let i = 0; i < 20; i++)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/channels', headers })).statusCode, 200);
  assert.equal(bus.count('Auth.Logon'), 1, 'one logon (one scrypt) for 25 requests');
  const logon = bus.calls.find((c) => c.at === 'Auth.Logon')!;
  assert.deepEqual(logon.params, { username: 'ann', password: 'pw', client_addr: '10.1.1.1' });
  const keys = new Set(bus.calls.filter((c) => c.at === 'Channels.List').map((c) => c.params.sesskey));
  assert.deepEqual([...keys], [101], 'every request runs on the session of that logon');
  // The hello names the caller of a Basic header too.
  const hello = await app.inject({ method: 'GET', url: '/v1/', headers });
  assert.equal(hello.json<{ user: { id: string } }>().user.id, 'account:ann');
});

test('Basic: a wrong password is 401 with a Basic challenge, never cached; throttling answers 429', async (t) => {
  let throttled = false;
  const bus = meshLike({
    'Auth.Logon': (p) => {
      if (throttled) throw new AgoraError('AGORA_ERR_AUTH_THROTTLED', [60]);
      if (p.password !== 'pw') throw new AgoraError('AGORA_ERR_AUTH_BAD_CREDENTIALS');
      return { sesskey: 7, username: p.username, created: false, version: 1 };
    },
  });
  const app = build(t, bus);
  const wrong = { authorization: basic('ann', 'guess') };
  for (let i = 1; i <= 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/v1/channels', headers: wrong });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ errno: number }>().errno, 105);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="agora"');
    assert.equal(bus.count('Auth.Logon'), i, 'every guess is a logon, counted by Auth');
  }
  throttled = true;
  const locked = await app.inject({
    method: 'GET',
    url: '/v1/channels',
    headers: { authorization: basic('ann', 'pw') },
  });
  assert.equal(locked.statusCode, 429);
  assert.equal(locked.json<{ errno: number }>().errno, 117);
  const malformed = await app.inject({ method: 'GET', url: '/v1/channels', headers: { authorization: 'Basic YW5u' } });
  assert.equal(malformed.statusCode, 401);
  assert.equal(malformed.json<{ errno: number }>().errno, 105);
});

test('Basic: a session that ended is forgotten (401 once, then a new logon); a logoff forgets it too', async (t) => {
  let dead = new Set<unknown>();
  const bus = meshLike({
    'Channels.List': (p) => {
      if (dead.has(p.sesskey)) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
      return { channels: [], version: 1 };
    },
    'Auth.Logoff': (p) => {
      dead.add(p.sesskey);
      return { ok: true };
    },
  });
  const app = build(t, bus);
  const headers = { authorization: basic('ann', 'pw') };
  assert.equal((await app.inject({ method: 'GET', url: '/v1/channels', headers })).statusCode, 200);
  dead = new Set([101]);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/channels', headers })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/channels', headers })).statusCode, 200);
  assert.equal(bus.count('Auth.Logon'), 2);
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/channels', headers })).statusCode, 200);
  assert.equal(bus.count('Auth.Logon'), 3, 'the logoff ended the cached session: logged on again');
});

test('Basic: an expired entry logs on again and ends the session it replaces; cache 0 logs on each time', async () => {
  let now = 1_000_000;
  const bus = meshLike();
  const auth = new Authenticator({
    policies: ['session', 'basic'],
    bus,
    timeoutMs: 1000,
    basicCacheS: 60,
    now: () => now,
    logoffDelayMs: 0,
  });
  const request = {
    headers: { authorization: basic('ann', 'pw') },
    ip: '10.0.0.9',
    id: 'r1',
    log: createLogger('gateway', 'silent'),
  } as unknown as FastifyRequest;
  assert.equal(await auth.sessionOf(request), 101);
  now += 59_000;
  assert.equal(await auth.sessionOf(request), 101);
  now += 2_000;
  assert.equal(await auth.sessionOf(request), 102);
  assert.deepEqual(
    bus.calls.filter((c) => c.at === 'Auth.Logoff').map((c) => c.params.sesskey),
    [101],
  );
  const uncached = new Authenticator({ policies: ['basic'], bus, timeoutMs: 1000, basicCacheS: 0 });
  assert.equal(await uncached.sessionOf(request), 103);
  assert.equal(await uncached.sessionOf(request), 104);
  assert.equal(uncached.cached, 0);
  await assert.rejects(
    uncached.sessionOf({ ...request, headers: { authorization: 'Bearer 5' } }),
    /the scheme must be Basic/,
  );
});

test('AGORA_AUTH_POLICIES=session refuses Basic as a malformed header, with no logon', async (t) => {
  const bus = meshLike();
  const app = build(t, bus, { authPolicies: ['session'] });
  const res = await app.inject({
    method: 'GET',
    url: '/v1/channels',
    headers: { authorization: basic('ann', 'pw') },
  });
  assert.equal(res.statusCode, 401);
  assert.match(res.json<{ message: string }>().message, /the scheme must be Bearer$/);
  assert.equal(bus.count('Auth.Logon'), 0);
});

/** One raw HTTP/1.1 exchange: the status line's code. */
function rawStatus(port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (m !== null) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

function chunked(port: number, method: string, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path: url, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    // No Content-Length: Node sends the body chunked.
    if (body !== '') req.write(body);
    req.end();
  });
}

test('a body needs its framing: Content-Length or chunked is accepted, neither is 411; docs say so', async (t) => {
  const app = build(t, meshLike());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  assert.equal(await chunked(port, 'POST', '/v1/sessions', '{"username":"ann","password":"pw"}'), 201);
  // A chunked body that turns out empty is no body either.
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'DELETE',
    path: '/v1/sessions/current',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', authorization: 'Bearer 42' },
  });
  const status = await new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 204);
  const head = 'POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n';
  assert.equal(await rawStatus(port, head), 411);
  const doc = readFileSync(path.join(ROOT, 'docs', 'API-V1.md'), 'utf8');
  assert.match(doc, /Transfer-Encoding: chunked/);
  assert.doesNotMatch(doc, /A POST needs a\s+`Content-Length` \(411 otherwise\)/);
});
