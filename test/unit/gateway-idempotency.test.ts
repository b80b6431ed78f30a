/**
 * Idempotency-Key on the POSTs under /v1 (gateway/hooks/idempotency.ts, docs/API-V1.md
 * "Idempotency-Key"), in process with app.inject() over a fake bus and the in-memory store: a
 * replay runs nothing and answers the first answer byte for byte; another request under the key
 * answers 422; a key still running 409 with Retry-After; a 5xx is not kept; keys are per user; a
 * request without the header touches neither the store nor Auth.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import type { IdempotencyStore } from '../../lib/store/contracts';
import { MemoryIdempotencyStore } from '../../lib/store/idempotency-memory';
import { buildApp, type BusCaller } from '../../gateway/app';
import { idempotency, parseKey } from '../../gateway/hooks/idempotency';
import { until } from '../helpers/backends';

const USERS: Record<number, string> = { 11: 'ann', 12: 'ann', 21: 'bo' };

interface Setup {
  app: FastifyInstance;
  /** Every bus call, `Service.Method`. */
  calls: string[];
  /** The param of every Messages.Post. */
  posts: Array<Record<string, unknown>>;
  /** Every store call, by method name. */
  storeCalls: string[];
  /** What the next Messages.Post does instead of answering (once). */
  next: { post?: () => Promise<unknown> };
  /** Store methods that fail as an unreachable backend does, while set. */
  broken: Set<'claim' | 'complete'>;
}

function setUp(ttlS = 86_400): Setup {
  const calls: string[] = [];
  const posts: Array<Record<string, unknown>> = [];
  const storeCalls: string[] = [];
  const next: Setup['next'] = {};
  let id = 0;
  const bus: BusCaller = {
    async call(service, method, params) {
      calls.push(`${service}.${method}`);
      const p = params[0] as Record<string, unknown>;
      if (`${service}.${method}` === 'Auth.Resolve') {
        const username = USERS[Number(p.sesskey)];
        if (username === undefined) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
        return { sesskey: p.sesskey, username, idle_s: 1800, version: 1 };
      }
      if (`${service}.${method}` === 'Messages.Post') {
        posts.push(p);
        const instead = next.post;
        next.post = undefined;
        if (instead !== undefined) await instead();
        id++;
        return { messageid: id, last_modified: 1_796_481_183_300 + id };
      }
      if (`${service}.${method}` === 'Channels.Create') {
        const permissions = { read: ['system.Authenticated'], write: ['system.Authenticated'] };
        return { channel: p.channel, created: true, version: 1000 + id, last_modified: 1000 + id, permissions };
      }
      throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', [service]);
    },
  };
  const memory = new MemoryIdempotencyStore();
  const broken = new Set<'claim' | 'complete'>();
  const down = () => Promise.reject(new AgoraError('AGORA_ERR_STORE_UNAVAILABLE', ['Redis', 'connection refused']));
  const store: IdempotencyStore = {
    claim: (...args) => (storeCalls.push('claim'), broken.has('claim') ? down() : memory.claim(...args)),
    complete: (...args) => (storeCalls.push('complete'), broken.has('complete') ? down() : memory.complete(...args)),
    release: (...args) => (storeCalls.push('release'), memory.release(...args)),
    prune: (...args) => (storeCalls.push('prune'), memory.prune(...args)),
  };
  const app = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 3000, idempotencyTtlS: ttlS },
    idempotency: store,
  });
  return { app, calls, posts, storeCalls, next, broken };
}

function post(
  app: FastifyInstance,
  options: { key?: string; sesskey?: number; path?: string; body?: unknown },
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.sesskey ?? 11}`,
    'content-type': 'application/json',
  };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  return app.inject({
    method: 'POST',
    url: options.path ?? '/v1/channels/general/messages',
    headers,
    payload: JSON.stringify(options.body ?? { message: 'hi' }),
  });
}

/** The calls of one method. */
const count = (calls: string[], what: string): number => calls.filter((c) => c === what).length;

function assertError(res: LightMyRequestResponse, status: number, errno: number, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  const body = res.json<Record<string, unknown>>();
  assert.equal(body.code, status, what);
  assert.equal(body.errno, errno, what);
}

test('keys: bare or as a Structured Field string; 1 to 255 visible ASCII characters', () => {
  assert.equal(parseKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
  assert.equal(parseKey('"8e03978e"'), '8e03978e', "the draft's quoted form names the bare key");
  assert.equal(parseKey('"a\\"b\\\\c"'), 'a"b\\c');
  assert.equal(parseKey('"a\\x"'), '"a\\x"', 'not a Structured Field string: a bare key, quotes and all');
  assert.equal(parseKey('x'.repeat(255)), 'x'.repeat(255));
  for (const bad of ['', '""', 'x'.repeat(256), 'a b', '"a b"', 'é', 'a\tb'])
    assert.ok(parseKey(bad) instanceof AgoraError, JSON.stringify(bad));
  assert.ok(parseKey(['a', 'b']) instanceof AgoraError, 'twice');
});

test('without the header: every POST runs, and neither the store nor Auth is called', async (t) => {
  const { app, calls, storeCalls } = setUp();
  t.after(() => app.close());
  const a = await post(app, {});
  const b = await post(app, {});
  assert.equal(a.statusCode, 201);
  assert.equal(b.statusCode, 201);
  assert.notEqual(a.body, b.body);
  assert.deepEqual(calls, ['Messages.Post', 'Messages.Post']);
  assert.deepEqual(storeCalls, []);
  assert.equal(a.headers['idempotent-replayed'], undefined);
});

test('the same key and request again: the first answer byte for byte, marked replayed, nothing run', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const first = await post(app, { key: 'k1' });
  assert.equal(first.statusCode, 201);
  assert.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is no replay');
  const again = await post(app, { key: 'k1' });
  assert.equal(again.statusCode, 201);
  assert.equal(again.body, first.body);
  for (const name of ['content-type', 'location', 'etag']) {
    assert.ok(first.headers[name] !== undefined, name);
    assert.equal(again.headers[name], first.headers[name], name);
  }
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(count(calls, 'Messages.Post'), 1, 'posted once');
  const quoted = await post(app, { key: '"k1"' });
  assert.equal(quoted.body, first.body, 'the quoted form is the same key');
  // The same key from another session of the same user: the same key. From another user: another key.
  assert.equal((await post(app, { key: 'k1', sesskey: 12 })).body, first.body);
  const bo = await post(app, { key: 'k1', sesskey: 21 });
  assert.equal(bo.statusCode, 201);
  assert.notEqual(bo.body, first.body);
  assert.equal(count(calls, 'Messages.Post'), 2);
});

test('the same key with another body or path: 422, nothing run', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  assert.equal((await post(app, { key: 'k2' })).statusCode, 201);
  assertError(await post(app, { key: 'k2', body: { message: 'other' } }), 422, 107, 'another body');
  assertError(await post(app, { key: 'k2', path: '/v1/channels/other/messages' }), 422, 107, 'another path');
  assert.equal(count(calls, 'Messages.Post'), 1);
});

test('a bad key: 400 in the /v1 error format, nothing run', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  for (const key of ['', 'x'.repeat(256), 'a b']) {
    const res = await post(app, { key });
    assertError(res, 400, 107, JSON.stringify(key));
    assert.deepEqual(res.json<{ details: unknown }>().details, [
      {
        location: 'headers',
        name: 'idempotency-key',
        description: 'a key is 1 to 255 visible ASCII characters (no spaces)',
      },
    ]);
  }
  assert.equal(count(calls, 'Messages.Post'), 0);
});

test('a key whose first request still runs: 409 with Retry-After; then the answer is replayed', async (t) => {
  const { app, calls, next } = setUp();
  t.after(() => app.close());
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  next.post = () => {
    started();
    return held;
  };
  const first = post(app, { key: 'k3' });
  await running;
  const second = await post(app, { key: 'k3' });
  assertError(second, 409, 122, 'still running');
  assert.equal(second.headers['retry-after'], '1');
  release();
  const done = await first;
  assert.equal(done.statusCode, 201);
  assert.equal((await post(app, { key: 'k3' })).body, done.body);
  assert.equal(count(calls, 'Messages.Post'), 1);
});

test('concurrent requests with one key: exactly one runs', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const answers = await Promise.all(Array.from({ length: 10 }, () => post(app, { key: 'k4' })));
  assert.equal(count(calls, 'Messages.Post'), 1);
  const statuses = answers.map((a) => a.statusCode);
  assert.ok(
    statuses.every((s) => s === 201 || s === 409),
    String(statuses),
  );
  assert.equal(answers.filter((a) => a.statusCode === 201 && a.headers['idempotent-replayed'] === undefined).length, 1);
});

test('a 5xx (outcome unknown) is not kept: the retry runs; a 4xx is kept', async (t) => {
  const { app, calls, next } = setUp();
  t.after(() => app.close());
  next.post = () => Promise.reject(new AgoraError('AGORA_ERR_STORE_OUTCOME_UNKNOWN', ['PostgreSQL']));
  assertError(await post(app, { key: 'k5' }), 503, 201, 'outcome unknown');
  const retry = await post(app, { key: 'k5' });
  assert.equal(retry.statusCode, 201, retry.body);
  assert.equal(retry.headers['idempotent-replayed'], undefined);
  assert.equal(count(calls, 'Messages.Post'), 2);

  next.post = () => Promise.reject(new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', ['nowhere']));
  const missing = await post(app, { key: 'k6' });
  assertError(missing, 404, 111, 'no channel');
  const again = await post(app, { key: 'k6' });
  assert.equal(again.body, missing.body);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(count(calls, 'Messages.Post'), 3);
});

test('a post hands its key to Messages, whose store answers the id already given: so does the retry of a 5xx', async (t) => {
  const { app, posts, next } = setUp();
  t.after(() => app.close());
  next.post = () => Promise.reject(new AgoraError('AGORA_ERR_STORE_OUTCOME_UNKNOWN', ['PostgreSQL']));
  assertError(await post(app, { key: '"k\\\\7"' }), 503, 201, 'outcome unknown');
  assert.equal((await post(app, { key: 'k\\7' })).statusCode, 201, 'the same key, bare');
  assert.equal((await post(app, {})).statusCode, 201);
  assert.deepEqual(
    posts.map((p) => p.idempotency_key),
    ['k\\7', 'k\\7', undefined],
    'the key as parsed; none without the header',
  );
});

test('a dead session: 401 before anything is claimed', async (t) => {
  const { app, storeCalls } = setUp();
  t.after(() => app.close());
  assertError(await post(app, { key: 'k7', sesskey: 99 }), 401, 105, 'dead session');
  assert.deepEqual(storeCalls, []);
});

test('POST /v1/sessions and /v1/batch take no key (400); a batch sub-request takes its own', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const logon = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'k8' },
    payload: { username: 'ann', password: 'secret' },
  });
  assertError(logon, 400, 107, 'logon');
  const subs = [{ method: 'POST', path: '/channels/general/messages', headers: { 'Idempotency-Key': 's1' } }];
  const batch = (headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: 'Bearer 11', 'content-type': 'application/json', ...headers },
      payload: { defaults: { body: { message: 'hi' } }, requests: [...subs, ...subs] },
    });
  assertError(await batch({ 'idempotency-key': 'k9' }), 400, 107, 'a key on the batch');
  const res = await batch();
  assert.equal(res.statusCode, 200);
  const [a, b] = res.json<{ responses: Array<{ status: number; headers: Record<string, string>; body: unknown }> }>()
    .responses;
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(b.body, a.body);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  assert.equal(count(calls, 'Messages.Post'), 1);
});

test('POST /v1/channels takes a key too, and the OpenAPI document lists the header, 409 and 422 for it, still valid', async (t) => {
  const { app, calls } = setUp();
  t.after(() => app.close());
  const create = () => post(app, { key: 'c1', path: '/v1/channels', body: { name: 'fresh' } });
  const first = await create();
  assert.equal(first.statusCode, 201, first.body);
  assert.equal((await create()).body, first.body);
  assert.equal(count(calls, 'Channels.Create'), 1);
  const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    paths: Record<
      string,
      Record<string, { responses: Record<string, unknown>; parameters?: Array<{ name: string; in: string }> }>
    >;
  }>();
  for (const path of ['/v1/channels', '/v1/channels/{name}/messages'])
    for (const status of ['409', '422']) assert.ok(status in doc.paths[path].post.responses, `${path} ${status}`);
  const header = doc.paths['/v1/channels'].post.parameters?.find((p) => p.name === 'idempotency-key');
  assert.equal(header?.in, 'header');
  assert.equal(
    doc.paths['/v1/channels'].get.parameters?.find((p) => p.name === 'idempotency-key'),
    undefined,
  );
  await SwaggerParser.validate(structuredClone(doc) as never);
});

test('an answer kept past its time to live is gone: the request runs again', async () => {
  const store = new MemoryIdempotencyStore();
  const claimed = await store.claim('ann', 'k', 'f', 1000, 500);
  assert.equal(claimed.state, 'claimed');
  const token = claimed.state === 'claimed' ? claimed.token : '';
  const answer = { status: 201, headers: { 'content-type': 'application/json' }, body: '{}' };
  assert.equal(await store.complete('ann', 'k', token, answer, 1100, 1000), true);
  assert.equal((await store.claim('ann', 'k', 'f', 2099, 500)).state, 'done');
  assert.equal((await store.claim('ann', 'k', 'f', 2100, 500)).state, 'claimed', 'expired at 1100 + 1000');
});

test('CORS: a preflight allows Idempotency-Key; a browser may read Idempotent-Replayed', async (t) => {
  const { app } = setUp();
  t.after(() => app.close());
  const pre = await app.inject({
    method: 'OPTIONS',
    url: '/v1/channels/general/messages',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    },
  });
  assert.equal(pre.statusCode, 204);
  assert.match(String(pre.headers['access-control-allow-headers']), /\bidempotency-key\b/i);
  const res = await post(app, { key: 'cors' });
  const exposed = String(res.headers['access-control-expose-headers']).split(/,\s*/);
  assert.ok(exposed.includes('Idempotent-Replayed'), String(exposed));
});

test('the store down: a keyed request answers 503 and runs nothing; an answer it cannot keep still goes out', async (t) => {
  const { app, calls, broken } = setUp();
  t.after(() => app.close());
  broken.add('claim');
  assertError(await post(app, { key: 'down' }), 503, 201, 'no claim');
  assert.equal(count(calls, 'Messages.Post'), 0);
  assert.equal((await post(app, {})).statusCode, 201, 'without the header the store is not needed');
  broken.clear();
  broken.add('complete');
  const first = await post(app, { key: 'down' });
  assert.equal(first.statusCode, 201, first.body);
  broken.clear();
  // The key stays claimed until its lease ends: a retry meanwhile is told to wait, and runs nothing.
  assertError(await post(app, { key: 'down' }), 409, 122, 'claimed, not completed');
  assert.equal(count(calls, 'Messages.Post'), 2);
});

test('expired entries are swept from the store while the app runs, and no more once it is closed', async () => {
  const pruned: number[] = [];
  const memory = new MemoryIdempotencyStore();
  const store: IdempotencyStore = {
    claim: (...args) => memory.claim(...args),
    complete: (...args) => memory.complete(...args),
    release: (...args) => memory.release(...args),
    prune: (now) => (pruned.push(now), memory.prune(now)),
  };
  const app = fastify();
  const bus: BusCaller = { call: () => Promise.reject(new Error('no bus in this test')) };
  await app.register(idempotency, {
    store,
    bus,
    config: { idempotencyTtlS: 1, requestTimeoutMs: 1000 },
    sweepMs: 10,
  });
  await app.ready();
  await until(async () => pruned.length >= 2, 'two sweeps');
  await app.close();
  const after = pruned.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pruned.length, after, 'no sweep after close');
});
