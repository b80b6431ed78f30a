/**
 * Property-based: random methods, paths, query strings, headers and bodies thrown at the
 * running gateway (the mesh as the Procfile starts it). Whatever arrives, the answer is
 * never a 5xx other than a designed 503 (a service or the bus unavailable, load shedding),
 * every failure is in the documented format (the Cliquet body; the legacy messaging API's
 * envelope on the legacy surface), no body carries a stack trace, and the gateway keeps serving.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { startMesh } from '../helpers/mesh';

/** Every request's deadline: a hang is a failure of its own, not the whole test's timeout. */
const DEADLINE_MS = 10_000;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Path shapes the gateway knows, with their variable parts drawn at random, and random ones. */
function pathArb(channel: string): fc.Arbitrary<string> {
  const segment = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/);
  const known = fc.constantFrom(
    '/',
    '/v1/sessions',
    '/v1/sessions/current',
    '/v1/channels',
    `/v1/channels/${channel}`,
    `/v1/channels/${channel}/messages`,
    `/v1/channels/${channel}/messages/1`,
    '/v1/batch',
    '/v1/openapi.json',
    '/logon',
    '/list',
    '/post',
    '/retrieve',
    '/__heartbeat__',
    '/__version__',
  );
  const templated = fc
    .tuple(fc.constantFrom('/v1/channels/', '/v1/channels/x/messages/', '/v1/'), segment)
    .map(([a, b]) => a + b);
  const random = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
  return fc.oneof(known, templated, random);
}

function queryArb(): fc.Arbitrary<string> {
  const key = fc.oneof(
    fc.constantFrom(
      '_limit',
      '_token',
      '_sort',
      '_since',
      '_before',
      'username',
      'min_messageid',
      'in_messageid',
      'like_name',
      'has_name',
    ),
    fc.stringMatching(/^[a-z_]{1,8}$/),
  );
  const value = fc.oneof(fc.integer({ min: -5, max: 300 }).map(String), fc.stringMatching(/^[A-Za-z0-9,*_-]{0,10}$/));
  return fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`));
}

function headersArb(key: number): fc.Arbitrary<Record<string, string>> {
  const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
  return fc.record(
    {
      authorization: fc.oneof(fc.constant(`Bearer ${key}`), fc.constant('Bearer 1'), printable),
      accept: fc.constantFrom('application/json', '*/*', 'text/html', 'application/json;q=0', ''),
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-8',
      ),
      'if-match': fc.oneof(fc.constant('*'), fc.constant('"1"'), printable),
      'if-none-match': fc.oneof(fc.constant('*'), fc.constant('"1"'), printable),
    },
    { requiredKeys: [] },
  );
}

function bodyArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 60 }),
    fc
      .record(
        {
          name: fc.string({ maxLength: 20 }),
          message: fc.string({ maxLength: 20 }),
          username: fc.string({ maxLength: 10 }),
          password: fc.string({ maxLength: 10 }),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    fc
      .record({
        requests: fc.array(
          fc.record(
            { method: fc.constantFrom(...METHODS, 'BREW'), path: fc.constantFrom('/channels', '/nope', 'x', '/batch') },
            { requiredKeys: [] },
          ),
          { maxLength: 4 },
        ),
      })
      .map((o) => JSON.stringify(o)),
  );
}

/** The failure body of the request's surface, or an explanation of what is wrong with it. */
function formatProblem(method: string, path: string, status: number, text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 80)}`;
  }
  const b = body as Record<string, unknown>;
  // Kinto's heartbeat answers 503 with its checks, `{name: true|false, …}`, by design.
  if (path === '/__heartbeat__' && status === 503)
    return Object.values(b).every((v) => typeof v === 'boolean') ? null : `not the checks: ${text.slice(0, 200)}`;
  const legacy =
    method === 'POST' &&
    !/^\/(v1([/?#]|$)|__)/.test(path) &&
    b.status === false &&
    typeof b.data === 'string' &&
    Object.keys(b).length === 2;
  if (legacy) return null;
  const keys = Object.keys(b).every((k) => ['code', 'errno', 'error', 'message', 'info', 'details'].includes(k));
  if (
    b.code === status &&
    typeof b.errno === 'number' &&
    typeof b.error === 'string' &&
    typeof b.message === 'string' &&
    keys
  )
    return null;
  return `not the error format: ${text.slice(0, 200)}`;
}

test('random requests at the edge: no undesigned 5xx, always the error format, the gateway keeps serving', async (t) => {
  const { base } = await startMesh(t, { AGORA_RATE_LIMIT_MAX: '0' });
  const logon = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'fuzz', password: 'pw-fuzz' }),
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  assert.equal(logon.status, 201);
  const key = ((await logon.json()) as { session: number }).session;
  const channel = 'fuzzed';
  const made = await fetch(`${base}/v1/channels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ name: channel }),
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  assert.equal(made.status, 201);

  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...METHODS),
      pathArb(channel),
      queryArb(),
      headersArb(key),
      bodyArb(),
      async (method, path, query, headers, body) => {
        const withBody = body !== undefined && method !== 'GET' && method !== 'OPTIONS';
        const res = await fetch(base + path + query, {
          method,
          headers,
          body: withBody ? body : undefined,
          signal: AbortSignal.timeout(DEADLINE_MS),
        });
        const text = await res.text();
        assert.ok(
          res.status < 500 || res.status === 503,
          `${method} ${path}${query} answered ${res.status}: ${text.slice(0, 200)}`,
        );
        assert.doesNotMatch(text, /\n\s+at |\.js:\d+|"stack"|FST_ERR/, `${method} ${path}${query}`);
        if (res.status >= 400) {
          const problem = formatProblem(method, path, res.status, text);
          assert.equal(problem, null, `${method} ${path}${query} (${res.status}): ${problem}`);
        }
      },
    ),
    { numRuns: 300 },
  );

  const alive = await fetch(`${base}/__lbheartbeat__`, { signal: AbortSignal.timeout(DEADLINE_MS) });
  assert.equal(alive.status, 200);
  const channels = await fetch(`${base}/v1/channels/${channel}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  assert.ok([200, 401].includes(channels.status), 'still serving /v1 (401 if a random DELETE logged the key off)');
});
