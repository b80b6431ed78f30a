/**
 * The gateway in-process with `app.inject()` and a hand-made bus: each legacy route's
 * translation, the exact bodies docs/API-LEGACY.md fixes, and the envelope of every failure a
 * client can provoke (no stack trace, no Fastify default body).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { CallOptions } from '../../lib/bus/client';
import { AgoraError, type ErrorCode } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { buildApp, type BusCaller } from '../../gateway/app';
import { renderCliquet, toProblem } from '../../gateway/errors';

interface Call {
  service: string;
  method: string;
  params: unknown[];
  options: CallOptions;
}
type Answer = (params: Record<string, unknown>) => unknown;

const TIMEOUT_MS = 3000;

/** A bus that answers from a table keyed "Service.Method" and records every call. */
function fakeBus(answers: Record<string, Answer> = {}): BusCaller & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async call(service, method, params, options) {
      calls.push({ service, method, params, options });
      const answer = answers[`${service}.${method}`];
      if (answer === undefined) throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
      return answer(params[0] as Record<string, unknown>);
    },
  };
}

const HAPPY: Record<string, Answer> = {
  'Auth.Logon': () => ({ sesskey: 4503599627370497, username: 'ann', created: true }),
  'Auth.Logoff': () => ({ ok: true }),
  'Channels.List': () => ({ channels: ['Zeta', 'general'] }),
  'Channels.Create': (p) => ({ channel: p.channel, created: true }),
  'Messages.Post': () => ({ messageid: 7, last_modified: 1_796_481_183_307 }),
  'Messages.Last': () => ({ messageid: 0 }),
  'Messages.Retrieve': () => ({
    messages: [
      { message: 'hi', username: 'ann', messageid: 1 },
      { messageid: 2, username: 'bob', message: 'yo "x"' },
    ],
  }),
};

function build(bus: BusCaller, busMaxBodyBytes = 1_048_576): FastifyInstance {
  return buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes, requestTimeoutMs: TIMEOUT_MS, batchMaxRequests: 25, pageMaxRecords: 100 },
  });
}

/** Every body the tests saw, checked at the end for stack traces. */
const bodies: string[] = [];

async function post(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });
  bodies.push(res.body);
  return res;
}

function failure(data: string): string {
  return JSON.stringify({ status: false, data });
}

test('each legacy route: one bus call, the exact answer of docs/API-LEGACY.md', async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus);
  t.after(() => app.close());
  const cases: Array<[string, unknown, string, string, Record<string, unknown>]> = [
    [
      '/logon',
      { username: 'ann', password: 'pw' },
      '{"status":true,"data":4503599627370497}',
      'Auth.Logon',
      { username: 'ann', password: 'pw', client_addr: '127.0.0.1' },
    ],
    ['/logoff', { sesskey: 42 }, '{"status":true,"data":true}', 'Auth.Logoff', { sesskey: 42 }],
    ['/list', { sesskey: 42 }, '{"status":true,"data":["Zeta","general"]}', 'Channels.List', { sesskey: 42 }],
    [
      '/create',
      { sesskey: 42, channel: 'general' },
      '{"status":true,"data":true}',
      'Channels.Create',
      { sesskey: 42, channel: 'general' },
    ],
    [
      '/post',
      { sesskey: 42, channel: 'general', message: 'hello' },
      '{"status":true,"data":true}',
      'Messages.Post',
      { sesskey: 42, channel: 'general', message: 'hello' },
    ],
    [
      '/lastmessage',
      { sesskey: 42, channel: 'general' },
      '{"status":true,"data":0}',
      'Messages.Last',
      { sesskey: 42, channel: 'general' },
    ],
    [
      '/retrieve',
      { sesskey: 42, channel: 'general', first: 1, last: 2 },
      '{"status":true,"data":[{"messageid":1,"username":"ann","message":"hi"},{"messageid":2,"username":"bob","message":"yo \\"x\\""}]}',
      'Messages.Retrieve',
      { sesskey: 42, channel: 'general', first: 1, last: 2 },
    ],
  ];
  for (const [url, body, expected, target, params] of cases) {
    const before = Date.now();
    const res = await post(app, url, { ...(body as object), extra: 'ignored' });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.body, expected, url);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const call = bus.calls.at(-1)!;
    assert.equal(`${call.service}.${call.method}`, target);
    assert.deepEqual(call.params, [params], url);
    assert.equal(call.options.reqId, res.headers['x-request-id']);
    assert.ok(
      call.options.deadline! >= before + TIMEOUT_MS && call.options.deadline! <= Date.now() + TIMEOUT_MS,
      'deadline = now + requestTimeoutMs',
    );
  }
  assert.deepEqual(
    bus.calls.map((c) => c.options.idempotent),
    [false, false, true, true, false, true, true],
  );
});

test('the body is read as JSON whatever the Content-Type', async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus);
  t.after(() => app.close());
  const body = JSON.stringify({ sesskey: 42 });
  for (const type of [
    undefined,
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=utf-8',
    'application/octet-stream',
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/list',
      payload: body,
      headers: type === undefined ? {} : { 'content-type': type },
    });
    bodies.push(res.body);
    if (type === undefined)
      assert.equal(res.raw.req.headers['content-type'], undefined, 'really sent without a content type');
    assert.equal(res.body, '{"status":true,"data":["Zeta","general"]}', String(type));
  }
  const bom = await post(app, '/list', `\uFEFF${body}`, { 'content-type': 'text/plain' });
  assert.equal(bom.body, '{"status":true,"data":["Zeta","general"]}', 'a byte order mark is skipped');
  // A blank body, with or without a byte order mark, is no body.
  const none = (await post(app, '/list', '', { 'content-type': 'text/plain' })).body;
  assert.match(none, /^\{"status":false,"data":".+"\}$/);
  for (const blank of [' \n\t ', '\uFEFF', '\uFEFF \u00a0\u2028 '])
    assert.equal((await post(app, '/list', blank, { 'content-type': 'text/plain' })).body, none, JSON.stringify(blank));
});

test('sesskey may be a canonical string of digits; it reaches the bus as a number', async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus);
  t.after(() => app.close());
  assert.equal(
    (await post(app, '/list', { sesskey: '9007199254740991' })).body,
    '{"status":true,"data":["Zeta","general"]}',
  );
  assert.deepEqual(bus.calls[0].params, [{ sesskey: 9007199254740991 }]);
  for (const bad of ['0123', ' 1', '1e3', '9007199254740992', '-1', '']) {
    const res = await post(app, '/list', { sesskey: bad });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ status: boolean; data: string }>();
    assert.equal(body.status, false, JSON.stringify(bad));
    assert.match(body.data, /^Invalid parameters: sesskey must be the numeric session key/);
  }
  assert.equal(bus.calls.length, 1, 'no invalid key reached the bus');
});

test('wrong types and missing fields: HTTP 200, status false, the field and the rule named', async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus);
  t.after(() => app.close());
  const KEY = 'sesskey must be the numeric session key that /logon answered (an integer from 1 to 9007199254740991)';
  const ID = 'an integer message id (from -9007199254740991 to 9007199254740991)';
  const cases: Array<[string, unknown, string]> = [
    [
      '/list',
      {},
      'Invalid parameters: sesskey is required: the numeric session key that /logon answered (an integer from 1 to 9007199254740991)',
    ],
    ['/list', { sesskey: null }, `Invalid parameters: ${KEY}, got null`],
    ['/list', { sesskey: true }, `Invalid parameters: ${KEY}, got a boolean`],
    ['/list', { sesskey: 1.5 }, `Invalid parameters: ${KEY}, got a number with a fraction`],
    ['/list', { sesskey: 0 }, `Invalid parameters: ${KEY}, got 0`],
    ['/list', { sesskey: -7 }, `Invalid parameters: ${KEY}, got -7`],
    ['/list', { sesskey: 2 ** 53 }, `Invalid parameters: ${KEY}, got 9007199254740992`],
    ['/list', { sesskey: 'abc' }, `Invalid parameters: ${KEY}, got a string`],
    ['/list', { sesskey: [1] }, `Invalid parameters: ${KEY}, got an array`],
    ['/logon', { username: 'ann' }, 'Invalid parameters: password is required: a string'],
    ['/logon', { username: 5, password: 'x' }, 'Invalid parameters: username must be a string, got 5'],
    [
      '/create',
      { sesskey: 1, channel: { name: 'x' } },
      'Invalid parameters: channel must be a string (the channel name), got an object',
    ],
    ['/post', { sesskey: 1, channel: 'c' }, 'Invalid parameters: message is required: a string (the message text)'],
    [
      '/post',
      { sesskey: 1, channel: 'c', message: 12 },
      'Invalid parameters: message must be a string (the message text), got 12',
    ],
    [
      '/retrieve',
      { sesskey: 1, channel: 'c', first: 1.5, last: 2 },
      `Invalid parameters: first must be ${ID}, got a number with a fraction`,
    ],
    [
      '/retrieve',
      { sesskey: 1, channel: 'c', first: '3', last: 2 },
      `Invalid parameters: first must be ${ID}, got the string "3"`,
    ],
    [
      '/retrieve',
      { sesskey: 1, channel: 'c', first: 1, last: 1e300 },
      `Invalid parameters: last must be ${ID}, got 1e+300`,
    ],
    ['/retrieve', { sesskey: 1, channel: 'c', first: 1 }, `Invalid parameters: last is required: ${ID}`],
    ['/list', [], 'Invalid parameters: the body must be a JSON object, got an array'],
    ['/list', '"text"', 'Invalid parameters: the body must be a JSON object, got a string'],
    ['/list', 'null', 'Invalid parameters: the body must be a JSON object, got null'],
    ['/list', '', 'Invalid parameters: the body must be a JSON object, got nothing'],
  ];
  for (const [url, body, data] of cases) {
    const res = await post(app, url, body);
    assert.equal(res.statusCode, 200, `${url} ${JSON.stringify(body)}`);
    assert.equal(res.body, failure(data), `${url} ${JSON.stringify(body)}`);
  }
  assert.equal(bus.calls.length, 0, 'nothing invalid reached the bus');
});

test('malformed JSON, under any Content-Type, answers the envelope', async (t) => {
  const app = build(fakeBus(HAPPY));
  t.after(() => app.close());
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    for (const raw of ['{"sesskey": 1', 'sesskey=1&channel=x', '{sesskey: 1}']) {
      const res = await post(app, '/list', raw, { 'content-type': type });
      assert.equal(res.statusCode, 200);
      const body = JSON.parse(res.body) as { status: boolean; data: string };
      assert.deepEqual(Object.keys(body), ['status', 'data']);
      assert.equal(body.status, false);
      assert.match(body.data, /^Invalid parameters: the body is not valid JSON \(/);
    }
  }
});

test("an oversized body answers the envelope, not 413 and not Fastify's body", async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus, 1024);
  t.after(() => app.close());
  const res = await post(
    app,
    '/post',
    { sesskey: 1, channel: 'c', message: 'x'.repeat(2000) },
    { 'content-type': 'text/plain' },
  );
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, failure('The request body is larger than the limit of 1024 bytes'));
  assert.equal(bus.calls.length, 0);
});

test('unknown paths: the envelope for POST, the Cliquet body otherwise', async (t) => {
  const app = build(fakeBus(HAPPY));
  t.after(() => app.close());
  const res = await post(app, '/nope', { sesskey: 1 }, { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(res.statusCode, 404);
  assert.equal(
    res.body,
    failure('Unknown path /nope; the API answers POST /logon, /logoff, /list, /create, /post, /lastmessage, /retrieve'),
  );
  const get = await app.inject({ method: 'GET', url: '/nope' });
  bodies.push(get.body);
  assert.equal(get.statusCode, 404);
  assert.deepEqual(JSON.parse(get.body), {
    code: 404,
    errno: 111,
    error: 'Not Found',
    message: 'Unknown path GET /nope',
  });
  const wrongMethod = await app.inject({ method: 'GET', url: '/logon' });
  bodies.push(wrongMethod.body);
  assert.equal(wrongMethod.statusCode, 405);
  assert.equal(wrongMethod.headers.allow, 'POST');
  assert.deepEqual(JSON.parse(wrongMethod.body), {
    code: 405,
    errno: 115,
    error: 'Method Not Allowed',
    message: 'GET /logon is not allowed; use POST',
  });
  // A body Fastify cannot parse sends the request through the error handler: 405 and Allow all the same.
  const unparsed = await app.inject({
    method: 'PUT',
    url: '/logon',
    headers: { 'content-type': 'application/json' },
    payload: '{',
  });
  assert.deepEqual(
    { status: unparsed.statusCode, allow: unparsed.headers.allow, errno: unparsed.json<{ errno: number }>().errno },
    { status: 405, allow: 'POST', errno: 115 },
  );
  const v1 = await post(app, '/v1/nope', {});
  assert.equal(v1.statusCode, 404);
  assert.equal(v1.json<{ errno: number }>().errno, 111, 'POST under /v1 is not the legacy surface');
});

test("application failures from the bus: HTTP 200 and the service's reason", async (t) => {
  const fail =
    (code: ErrorCode, args: unknown[] = []) =>
    () => {
      throw new AgoraError(code, args);
    };
  const app = build(
    fakeBus({
      'Channels.List': fail('AGORA_ERR_AUTH_BAD_SESSION'),
      'Messages.Post': fail('AGORA_ERR_CHANNEL_NOT_FOUND', ['"nowhere"']),
      'Auth.Logon': fail('AGORA_ERR_AUTH_THROTTLED', [60]),
    }),
  );
  t.after(() => app.close());
  assert.equal(
    (await post(app, '/list', { sesskey: 5 })).body,
    '{"status":false,"data":"Invalid or expired session key"}',
  );
  assert.equal(
    (await post(app, '/post', { sesskey: 5, channel: 'nowhere', message: 'm' })).body,
    failure('No channel named "nowhere"'),
  );
  const throttled = await post(app, '/logon', { username: 'a', password: 'b' });
  assert.equal(throttled.statusCode, 200);
  assert.equal(throttled.body, failure('Too many failed logons; try again in 60 seconds'));
});

test('bus or service down: a prompt "<service> is unavailable, try again"', async (t) => {
  const codes: ErrorCode[] = [
    'AGORA_ERR_BUS_NO_SERVICE',
    'AGORA_ERR_BUS_TIMEOUT',
    'AGORA_ERR_BUS_DISCONNECTED',
    'AGORA_ERR_RPC_UNAVAILABLE',
    'AGORA_ERR_BUS_QUEUE_FULL',
  ];
  for (const code of codes) {
    const app = build({
      call: async () => {
        throw new AgoraError(code, ['X', 'Y']);
      },
    });
    const res = await post(app, '/post', { sesskey: 5, channel: 'c', message: 'm' });
    await app.close();
    assert.equal(res.statusCode, 200, code);
    assert.equal(res.body, '{"status":false,"data":"Messages is unavailable, try again"}', code);
  }
  const app = build(fakeBus({}));
  t.after(() => app.close());
  assert.equal(
    (await post(app, '/logon', { username: 'a', password: 'b' })).body,
    failure('Auth is unavailable, try again'),
  );
  assert.equal(
    (await post(app, '/create', { sesskey: 1, channel: 'c' })).body,
    failure('Channels is unavailable, try again'),
  );
});

test('a bug or a malformed reply is an internal failure whose text is not echoed', async (t) => {
  const app = build(
    fakeBus({
      'Channels.List': () => {
        throw new TypeError('secret internals at /srv/x.js:1');
      },
      'Auth.Logon': () => ({ nokey: true }),
      'Messages.Retrieve': () => 'not a map',
    }),
  );
  t.after(() => app.close());
  const bug = await post(app, '/list', { sesskey: 1 });
  assert.equal(bug.statusCode, 200);
  assert.equal(bug.body, failure('Internal error'));
  assert.equal(
    (await post(app, '/logon', { username: 'a', password: 'b' })).body,
    failure('Malformed reply from Auth.Logon'),
  );
  assert.equal(
    (await post(app, '/retrieve', { sesskey: 1, channel: 'c', first: 1, last: 2 })).body,
    failure('Malformed reply from Messages.Retrieve'),
  );
});

test("X-Request-Id on every response; a caller's id is kept and carried to the bus", async (t) => {
  const bus = fakeBus(HAPPY);
  const app = build(bus);
  t.after(() => app.close());
  const kept = await post(app, '/list', { sesskey: 1 }, { 'x-request-id': 'abc-123' });
  assert.equal(kept.headers['x-request-id'], 'abc-123');
  assert.equal(bus.calls[0].options.reqId, 'abc-123');
  const responses = [
    await post(app, '/list', { sesskey: 1 }),
    await post(app, '/list', '{'),
    await post(app, '/nope', {}),
    await app.inject({ method: 'GET', url: '/nope' }),
    await app.inject({ method: 'GET', url: '/__lbheartbeat__' }),
  ];
  const ids = responses.map((r) => r.headers['x-request-id']);
  for (const id of ids) assert.match(String(id), /^[0-9a-f-]{36}$/);
  assert.equal(new Set(ids).size, ids.length, 'a fresh id per request');
});

test('GET /__lbheartbeat__ answers 200 {}', async (t) => {
  const app = build(fakeBus());
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/__lbheartbeat__' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '{}');
});

test('the Cliquet renderer takes status and errno from the registry', () => {
  assert.deepEqual(renderCliquet(toProblem(new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', ['"x"']))), {
    code: 404,
    errno: 111,
    error: 'Not Found',
    message: 'No channel named "x"',
  });
  assert.deepEqual(renderCliquet(toProblem(new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['Auth']))), {
    code: 503,
    errno: 201,
    error: 'Service Unavailable',
    message: 'No worker serves Auth',
  });
  assert.deepEqual(renderCliquet(toProblem(new Error('boom'))), {
    code: 500,
    errno: 999,
    error: 'Internal Server Error',
    message: 'Internal error',
  });
});

test('no body seen in these tests carries a stack trace', () => {
  assert.ok(bodies.length > 40);
  for (const body of bodies) assert.doesNotMatch(body, /\n\s+at |\.js:\d+|"stack"|FST_ERR/, body);
});
