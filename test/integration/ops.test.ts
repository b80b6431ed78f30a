/**
 * The ops endpoints of the /v1 protocol through the running mesh (broker, auth, channels, messages and
 * gateways, each its own process): hello, version, lbheartbeat, heartbeat following a
 * service that stops and returns, CORS, 429 and 503 with Retry-After, Backoff, the request
 * id in the logs of the gateway and of a service, and /metrics counting requests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startMesh, type Mesh } from '../helpers/mesh';
import { ROOT } from '../helpers/proc';

const run = promisify(execFile);
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

type Json = Record<string, unknown>;

async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

async function logon(base: string, username: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${base}/logon`, {
    method: 'POST',
    body: JSON.stringify({ username, password: `pw-${username}` }),
    headers,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { status: boolean; data: number };
  assert.equal(body.status, true, JSON.stringify(body));
  return body.data;
}

/** Poll `url` until it answers `status`, or fail at the deadline; the answer that matched. */
async function until(
  url: string,
  status: number,
  deadlineMs: number,
): Promise<{ status: number; headers: Headers; body: Json }> {
  const deadline = Date.now() + deadlineMs;
  let last = 'nothing yet';
  for (;;) {
    const answer = await getJson(url);
    if (answer.status === status) return answer;
    last = `${answer.status} ${JSON.stringify(answer.body)}`;
    if (Date.now() > deadline) assert.fail(`${url} did not answer ${status} within ${deadlineMs} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of one sample of a Prometheus text exposition, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

async function metrics(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/plain/);
  return res.text();
}

async function helloAnswers(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const anon = await getJson(`${base}/`);
  assert.equal(anon.status, 200);
  assert.equal(anon.body.project_name, PKG.name);
  assert.equal(anon.body.project_version, PKG.version);
  assert.equal(anon.body.http_api_version, '1.0');
  assert.equal(anon.body.url, `${base}/`);
  assert.equal(anon.body.project_docs, `${base}/v1/docs`);
  assert.equal((anon.body.settings as Json).messages_retained, 100);
  assert.equal(((anon.body.capabilities as Json).metrics as Json).url, '/metrics');
  assert.equal(((anon.body.capabilities as Json).batch as Json).url, '/v1/batch');
  assert.equal((anon.body.settings as Json).batch_max_requests, 25);
  // Each capability's url answers.
  for (const [name, info] of Object.entries(anon.body.capabilities as Record<string, { url: string }>)) {
    const res = await fetch(new URL(info.url, `${base}/`), {
      method: name === 'batch' ? 'POST' : 'GET',
      body: name === 'batch' ? '{"requests":[{"method":"GET","path":"/channels"}]}' : undefined,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200, `${name}: ${info.url}`);
    await res.arrayBuffer();
  }
  assert.equal(anon.body.user, undefined);

  const key = await logon(base, 'hello-ann');
  const known = await getJson(`${base}/`, { authorization: `Bearer ${key}` });
  assert.equal(known.status, 200);
  assert.deepEqual(known.body.user, {
    id: 'account:hello-ann',
    principals: ['account:hello-ann', 'system.Authenticated', 'system.Everyone'],
  });

  // A Basic header that is not base64 of username:password is refused as malformed.
  for (const header of [`Bearer ${key + 1}`, 'Bearer nonsense', 'Basic Zm9vYmFy']) {
    const bad = await getJson(`${base}/`, { authorization: header });
    assert.equal(bad.status, 401, header);
    assert.deepEqual(
      { code: bad.body.code, errno: bad.body.errno, error: bad.body.error },
      { code: 401, errno: 105, error: 'Unauthorized' },
    );
    assert.match(String(bad.headers.get('www-authenticate')), header.startsWith('Basic') ? /^Basic / : /^Bearer /);
  }
}

async function versionAndLbHeartbeat(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const version = await getJson(`${base}/__version__`);
  assert.equal(version.status, 200);
  assert.deepEqual(Object.keys(version.body).sort(), ['commit', 'name', 'source', 'version']);
  assert.equal(version.body.name, PKG.name);
  assert.equal(version.body.version, PKG.version);
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT, timeout: 10_000 });
    assert.equal(version.body.commit, stdout.trim(), 'the commit of the checkout');
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.match(String(version.body.commit), /^([0-9a-f]{40}|unknown)$/); // no git to compare with
  }
  const lb = await getJson(`${base}/__lbheartbeat__`);
  assert.equal(lb.status, 200);
  assert.deepEqual(lb.body, {});
}

async function corsHeaders(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const pre = await fetch(`${base}/logon`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(String(pre.headers.get('access-control-allow-methods')), /\bPOST\b/);
  assert.match(String(pre.headers.get('access-control-allow-headers')), /authorization/i);
  const res = await fetch(`${base}/`, { headers: { origin: 'https://app.example' } });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const exposed = String(res.headers.get('access-control-expose-headers')).split(/,\s*/);
  for (const h of ['Next-Page', 'Total-Records', 'ETag', 'Backoff', 'Retry-After'])
    assert.ok(exposed.includes(h), `${h} is exposed`);
}

async function requestIdTravels(mesh: Mesh): Promise<void> {
  const { base, procs } = mesh;
  const reqId = `ops-${process.pid}-1`;
  const res = await fetch(`${base}/logon`, {
    method: 'POST',
    body: JSON.stringify({ username: 'traced', password: 'pw' }),
    headers: { 'x-request-id': reqId },
  });
  assert.equal(res.headers.get('x-request-id'), reqId);
  const line = await procs.gateway.waitFor((l) => l.reqId === reqId && l.msg === 'request', 5000);
  assert.deepEqual(
    { method: line.method, path: line.path, status: line.status },
    { method: 'POST', path: '/logon', status: 200 },
  );
  assert.equal(typeof line.ms, 'number');
  assert.equal(
    procs.gateway.lines.filter((l) => l.reqId === reqId && l.msg === 'request').length,
    1,
    'one line per request',
  );
  const served = await procs.auth.waitFor((l) => l.reqId === reqId, 5000);
  assert.equal(served.msg, 'logon');
  // 2. Over gRPC: Messages asks Channels whether a channel exists, with the request id in metadata.
  const key = await logon(base, 'traced-poster');
  const create = await fetch(`${base}/create`, {
    method: 'POST',
    body: JSON.stringify({ sesskey: key, channel: 'traced' }),
  });
  assert.equal(((await create.json()) as { status: boolean }).status, true);
  const postId = `ops-${process.pid}-2`;
  const posted = await fetch(`${base}/post`, {
    method: 'POST',
    body: JSON.stringify({ sesskey: key, channel: 'traced', message: 'hi' }),
    headers: { 'x-request-id': postId },
  });
  assert.equal(((await posted.json()) as { status: boolean }).status, true);
  const grpcLine = await procs.channels.waitFor((l) => l.reqId === postId && l.caller === 'grpc', 5000);
  assert.equal(grpcLine.method, 'Access', 'Messages asks Channels for the channel and its permissions');
  await procs.gateway.waitFor((l) => l.reqId === postId && l.msg === 'request' && l.path === '/post', 5000);
  // 3. An id that is not a sane token is replaced by a fresh one.
  const odd = await fetch(`${base}/`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
  assert.match(String(odd.headers.get('x-request-id')), /^[0-9a-f-]{36}$/);
}

async function metricsCount(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const before = await metrics(base);
  await logon(base, 'counted');
  const after = await metrics(base);
  const http = { method: 'POST', route: '/logon', status: '200' };
  assert.equal(sample(after, 'agora_http_requests_total', http), sample(before, 'agora_http_requests_total', http) + 1);
  assert.equal(
    sample(after, 'agora_http_request_duration_seconds_count', http),
    sample(before, 'agora_http_request_duration_seconds_count', http) + 1,
  );
  const bus = { service: 'Auth', method: 'Logon', outcome: 'ok' };
  assert.equal(
    sample(after, 'agora_bus_call_duration_seconds_count', bus),
    sample(before, 'agora_bus_call_duration_seconds_count', bus) + 1,
  );
  assert.equal(sample(after, 'agora_broker_up', {}), 1);
  assert.ok(sample(after, 'agora_broker_workers', { service: 'Messages' }) > 0);
  assert.equal(sample(after, 'agora_broker_queued', { service: 'Messages' }), 0);
}

/** The heartbeat's body with every dependency up, `down` ones failing. */
function heartbeat(...down: string[]): Record<string, boolean> {
  const all = ['broker', 'Auth', 'Channels', 'Messages', 'Compute', 'Compute.driver', 'Routes.changes', 'Routes'];
  return Object.fromEntries(all.map((name) => [name, !down.includes(name)]));
}

async function heartbeatFollowsServices(mesh: Mesh): Promise<void> {
  const { base, procs } = mesh;
  const up = await getJson(`${base}/__heartbeat__`);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.deepEqual(up.body, heartbeat());
  assert.equal(await procs.messages.stop('SIGTERM'), 0);
  const down = await until(`${base}/__heartbeat__`, 503, 15_000);
  assert.deepEqual(down.body, heartbeat('Messages'));
  assert.ok(Number(down.headers.get('retry-after')) > 0, 'a 503 carries Retry-After');
  await mesh.restart('messages');
  const back = await until(`${base}/__heartbeat__`, 200, 15_000);
  assert.deepEqual(back.body, heartbeat());
  // Compute's own dependency: its driver stopped, Compute answers but names it failing.
  assert.equal(await procs.driver.stop('SIGTERM'), 0);
  const noDriver = await until(`${base}/__heartbeat__`, 503, 15_000);
  assert.deepEqual(noDriver.body, heartbeat('Compute', 'Compute.driver'));
  await mesh.restart('driver');
  await until(`${base}/__heartbeat__`, 200, 15_000);
}

async function rateLimitAndOrigins(mesh: Mesh): Promise<void> {
  const { base: limited } = await mesh.gateway('limited', {
    AGORA_RATE_LIMIT_MAX: '3',
    AGORA_RATE_LIMIT_WINDOW_MS: '600000',
    AGORA_CORS_ORIGINS: 'https://app.example',
    AGORA_COMMIT: 'abcdef1',
    AGORA_SOURCE_URL: 'https://example.org/agora',
  });
  for (let i = 0; i < 3; i++) assert.equal((await getJson(`${limited}/v1/openapi.json`)).status, 200);
  const over = await getJson(`${limited}/v1/openapi.json`, { origin: 'https://app.example' });
  assert.equal(over.status, 429);
  for (const path of ['/', '/v1/', '/v1/__version__'])
    assert.equal((await getJson(`${limited}${path}`)).status, 200, `${path}: an ops endpoint is not rate limited`);
  assert.deepEqual(
    { code: over.body.code, errno: over.body.errno, error: over.body.error },
    { code: 429, errno: 117, error: 'Too Many Requests' },
  );
  const retry = Number(over.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 600, `Retry-After ${retry}`);
  assert.equal(
    over.headers.get('access-control-allow-origin'),
    'https://app.example',
    'a 429 is readable by an allowed origin',
  );
  assert.equal((await getJson(`${limited}/__lbheartbeat__`)).status, 200);
  const version = await getJson(`${limited}/__version__`, { origin: 'https://evil.example' });
  assert.equal(version.status, 200);
  assert.deepEqual(
    { commit: version.body.commit, source: version.body.source },
    { commit: 'abcdef1', source: 'https://example.org/agora' },
  );
  assert.equal(version.headers.get('access-control-allow-origin'), null, 'an origin not listed gets no CORS grant');
}

async function loadShedding(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  // A heap threshold of 1 byte: overloaded from the first memory sample on.
  const { base: shed } = await mesh.gateway('shed', {
    AGORA_MAX_HEAP_USED_BYTES: '1',
    AGORA_RETRY_AFTER_S: '7',
    AGORA_BACKOFF_S: '30',
  });
  const over = await until(`${shed}/v1/openapi.json`, 503, 15_000);
  assert.deepEqual(
    { code: over.body.code, errno: over.body.errno, error: over.body.error },
    { code: 503, errno: 201, error: 'Service Unavailable' },
  );
  assert.equal(over.headers.get('retry-after'), '7');
  assert.equal(over.headers.get('backoff'), '30');
  const lb = await getJson(`${shed}/__lbheartbeat__`);
  assert.equal(lb.status, 200, 'the load balancer still sees the process up');
  for (const path of ['/', '/v1/', '/__version__', '/v1/__lbheartbeat__'])
    assert.equal((await getJson(`${shed}${path}`)).status, 200, `${path}: an ops endpoint is not shed`);
  assert.equal(lb.headers.get('backoff'), '30');
  assert.equal(
    (await getJson(`${base}/__lbheartbeat__`)).headers.get('backoff'),
    null,
    'no Backoff where none is configured or needed',
  );
}

test('the ops endpoints and protocol headers through the mesh', async (t) => {
  const mesh = await startMesh(t, {}, { compute: true, envOf: { channels: { AGORA_LOG_LEVEL: 'debug' } } });

  await t.test('hello without and with a session, and with a bad one', () => helloAnswers(mesh));

  await t.test('version and lbheartbeat', () => versionAndLbHeartbeat(mesh));

  await t.test('CORS: preflight and exposed headers, any origin by default', () => corsHeaders(mesh));

  await t.test('a request id travels to the service and appears in both logs', () => requestIdTravels(mesh));

  await t.test('/metrics counts requests and bus calls, and shows the broker queues', () => metricsCount(mesh));

  await t.test('heartbeat: 503 naming a stopped service, 200 again once it is back', () =>
    heartbeatFollowsServices(mesh),
  );

  await t.test(
    'rate limit: 429 with Retry-After past the limit; ops endpoints are not limited; configured origins',
    () => rateLimitAndOrigins(mesh),
  );

  await t.test('load shedding: 503 with Retry-After when over the memory threshold, Backoff on every answer', () =>
    loadShedding(mesh),
  );
});
