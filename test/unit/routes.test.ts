/**
 * The Routes service's rules through /v1/routes, in process: the gateway (inject()) over a bus
 * that calls the real handlers (services/routes/handlers.ts) on the memory store, sessions from
 * a fake auth. CRUD with ETags and If-Match, and every refusal: invalid host (400), another
 * user's zone or node, a URL from a non-administrator (403 / 404), a routed host (409).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../gateway/app';
import type { BusCaller } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import { ownerLabel } from '../../lib/hosts';
import { createLogger } from '../../lib/log';
import { busHandlers } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { NodeTargetRecord } from '../../lib/store/contracts';
import { MemoryRouteStore } from '../../lib/store/routes-memory';
import { buildRoutes } from '../../services/routes/handlers';

const log = createLogger('test', 'silent');
const USERS: Record<number, string> = { 1: 'alice', 2: 'bob', 3: 'root', 4: 'Ann.Smith' };
const [ALICE, BOB, ROOT, ANN] = [1, 2, 3, 4];

const sessions: SessionResolver = {
  resolve: async (key) => {
    if (USERS[key] === undefined) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
    return USERS[key];
  },
  close: () => undefined,
};

function target(id: string, owner: string, write = [`account:${owner}`]): NodeTargetRecord {
  return { id, name: id, owner, status: 'ACTIVE', host: '127.0.0.1', port: 4000, version: 1, epoch: 'e', write };
}

interface Json {
  [key: string]: unknown;
  errno?: number;
  data?: Json[];
}

async function setUp() {
  // A clock stopped at 0: each write's timestamp is its owner's count of writes (1, 2, …).
  const store = new MemoryRouteStore(() => 0);
  const service = buildRoutes({
    store,
    sessions,
    rules: { domain: 'nodes.localhost', admins: new Set(['root']) },
    log,
  });
  const handlers = busHandlers(service.impl);
  const bus: BusCaller = {
    async call(svc, method, params, options) {
      assert.equal(svc, 'Routes');
      const handler = handlers[method];
      if (handler === undefined) throw new AgoraError('AGORA_ERR_RPC_NO_METHOD', [svc, method]);
      return handler(params, { service: svc, method, reqId: options?.reqId, log });
    },
  };
  const app = buildApp({ bus, log, config: { busMaxBodyBytes: 65_536, requestTimeoutMs: 3000 } });
  await store.syncNode(target('alice-1', 'alice'));
  await store.syncNode(target('bob-1', 'bob'));
  await store.syncNode(target('ann-1', 'Ann.Smith'));
  const api = async (
    method: string,
    url: string,
    key: number,
    payload?: object,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${key}`, ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    const body = res.body === '' ? ({} as Json) : res.json<Json>();
    // The record of a single answer, `{data: {…}, permissions}`.
    const rec = (body.data !== undefined && !Array.isArray(body.data) ? body.data : {}) as Json;
    return { status: res.statusCode, headers: res.headers, body, rec };
  };
  return { store, service, handlers, app, api };
}

test('create, read, list, replace and delete a route, with ETags and exact If-Match', async (t) => {
  const { api, app } = await setUp();
  t.after(() => app.close());
  const made = await api('POST', '/v1/routes', ALICE, { source: 'Web.Example.COM', target_node: 'alice-1' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.headers.location, '/v1/routes/web.example.com');
  assert.equal(made.headers.etag, '"1"');
  assert.deepEqual(
    [made.rec.source, made.rec.owner, made.rec.target_node, made.rec.mode, made.rec.last_modified],
    ['web.example.com', 'alice', 'alice-1', 'proxy', 1],
  );
  const one = await api('GET', '/v1/routes/web.example.com', ALICE);
  assert.deepEqual(
    [one.status, one.rec.source, one.rec.id, one.body.permissions],
    [200, 'web.example.com', 'web.example.com', {}],
  );
  assert.equal(
    (await api('GET', '/v1/routes/web.example.com', ALICE, undefined, { 'if-none-match': '"1"' })).status,
    304,
  );
  const list = await api('GET', '/v1/routes', ALICE);
  assert.deepEqual([list.headers.etag, list.body.data?.map((r) => r.source)], ['"1"', ['web.example.com']]);
  assert.deepEqual((await api('GET', '/v1/routes', BOB)).body.data, [], "another user's list is their own");

  const body = { target_node: 'alice-1', mode: 'redirect', enforce_https: true, read_timeout_ms: 5000 };
  const replaced = await api('PUT', '/v1/routes/web.example.com', ALICE, body, { 'if-match': '"1"' });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  assert.deepEqual(
    [replaced.rec.mode, replaced.rec.enforce_https, replaced.rec.read_timeout_ms, replaced.rec.last_modified],
    ['redirect', true, 5000, 2],
  );
  assert.equal(replaced.rec.created_at, made.rec.created_at, 'a replace keeps created_at');
  const stale = await api('PUT', '/v1/routes/web.example.com', ALICE, body, { 'if-match': '"1"' });
  assert.deepEqual([stale.status, stale.body.errno, stale.body.info], [412, 114, 'current ETag: "2"']);
  assert.equal((await api('GET', '/v1/routes?mode=redirect', ALICE)).body.data?.length, 1);
  assert.equal((await api('GET', '/v1/routes?mode=proxy', ALICE)).body.data?.length, 0);

  const listStale = await api(
    'POST',
    '/v1/routes',
    ALICE,
    { source: 'b.example.com', target_node: 'alice-1' },
    {
      'if-match': '"1"',
    },
  );
  assert.deepEqual([listStale.status, listStale.body.errno, listStale.body.info], [412, 114, 'current ETag: "2"']);
  assert.equal((await api('GET', '/v1/routes/b.example.com', ALICE)).status, 404, 'a refused create made nothing');

  assert.equal((await api('PUT', '/v1/routes/web.example.com', BOB, { target_node: 'bob-1' })).status, 404);
  assert.equal((await api('DELETE', '/v1/routes/web.example.com', BOB)).status, 404);
  assert.equal((await api('GET', '/v1/routes/web.example.com', BOB)).status, 404, "another user's route is absent");
  assert.equal(
    (await api('DELETE', '/v1/routes/web.example.com', ALICE, undefined, { 'if-match': '"1"' })).status,
    412,
  );
  const gone = await api('DELETE', '/v1/routes/web.example.com', ALICE, undefined, { 'if-match': '"2"' });
  assert.deepEqual([gone.status, gone.rec.last_modified, gone.rec.mode], [200, 2, 'redirect']);
  const after = await api('GET', '/v1/routes/web.example.com', ALICE);
  assert.deepEqual([after.status, after.body.errno], [404, 111]);
  assert.equal((await api('GET', '/v1/routes', ALICE)).headers.etag, '"3"', 'create, replace, delete');
  assert.equal((await api('PUT', '/v1/routes/nothing.example.com', ALICE, { target_node: 'alice-1' })).status, 404);
});

test('refusals: invalid hosts and bodies (400), zones and URL targets (403), nodes not yours (404), routed hosts (409)', async (t) => {
  const { api, app } = await setUp();
  t.after(() => app.close());
  const expect = async (key: number, body: object, status: number, errno: number, message?: RegExp) => {
    const answer = await api('POST', '/v1/routes', key, body);
    assert.deepEqual(
      [answer.status, answer.body.errno],
      [status, errno],
      `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`,
    );
    if (message !== undefined) assert.match(String(answer.body.message), message);
  };
  for (const source of ['no spaces', 'a..b', 'example.com:8080', '*.example.com', 'under_score.example.com'])
    await expect(ALICE, { source, target_node: 'alice-1' }, 400, 107, /Invalid route: source/);
  await expect(ALICE, { source: 'x.example.com' }, 400, 107, /exactly one of target_node/);
  await expect(ALICE, { source: 'x.example.com', target_node: 'alice-1', target_url: 'http://a/' }, 400, 107);
  await expect(ALICE, { source: 'x.example.com', target_node: 'NOT AN ID' }, 400, 107);
  await expect(ALICE, { source: 'x.example.com', target_node: 'alice-1', mode: 'tunnel' }, 400, 107);
  await expect(ALICE, { source: 'x.example.com', target_node: 'alice-1', owner: 'bob' }, 400, 107);
  await expect(ROOT, { source: 'x.example.com', target_url: 'ftp://files.example.com/' }, 400, 107, /http:\/\//);
  await expect(ROOT, { source: 'x.example.com', target_url: 'http://u:p@example.com/' }, 400, 107, /password/);

  await expect(ALICE, { source: 'x.example.com', target_url: 'https://example.org/' }, 403, 121, /administrators/);
  await expect(BOB, { source: 'alice.nodes.localhost', target_node: 'bob-1' }, 403, 121, /zone of another user/);
  await expect(BOB, { source: 'web.alice.nodes.localhost', target_node: 'bob-1' }, 403, 121);
  await expect(ROOT, { source: 'web.alice.nodes.localhost', target_url: 'https://example.org/' }, 403, 121);
  await expect(ROOT, { source: 'nodes.localhost', target_url: 'https://example.org/' }, 403, 121, /own domain/);

  // Another user's node is as absent as a node that never was.
  await expect(ALICE, { source: 'x.example.com', target_node: 'bob-1' }, 404, 111, /No node "bob-1" of yours/);
  await expect(ALICE, { source: 'x.example.com', target_node: 'never-was' }, 404, 111);

  assert.equal(
    (await api('POST', '/v1/routes', ALICE, { source: 'x.example.com', target_node: 'alice-1' })).status,
    201,
  );
  await expect(BOB, { source: 'X.example.com', target_node: 'bob-1' }, 409, 122, /already routed/);
  await expect(ALICE, { source: 'x.example.com', target_node: 'alice-1' }, 409, 122);

  // What is allowed: one's own zone (the implicit node hosts included), a URL for an administrator.
  assert.equal(
    (await api('POST', '/v1/routes', ALICE, { source: 'web.alice.nodes.localhost', target_node: 'alice-1' })).status,
    201,
  );
  assert.equal(
    (await api('POST', '/v1/routes', ALICE, { source: 'alice.nodes.localhost', target_node: 'alice-1' })).status,
    201,
  );
  const zone = `www.${ownerLabel('Ann.Smith')}.nodes.localhost`;
  assert.equal((await api('POST', '/v1/routes', ANN, { source: zone, target_node: 'ann-1' })).status, 201);
  const url = await api('POST', '/v1/routes', ROOT, {
    source: 'docs.example.com',
    target_url: 'https://example.org/docs',
  });
  assert.deepEqual([url.status, url.rec.target_url, url.rec.target_node], [201, 'https://example.org/docs', '']);
  assert.equal((await api('POST', '/v1/routes', 99, { source: 'y.example.com', target_node: 'alice-1' })).status, 401);
});

test('Table, SyncNode and DropNode: compute keeps the targets; a stale sync is ignored; both stay off the bus', async (t) => {
  const { handlers, service, store, app } = await setUp();
  t.after(() => app.close());
  const impl = service.impl.handlers;
  const ctx = { service: 'Routes', method: 'x', log };
  assert.equal(handlers.SyncNode, undefined, 'SyncNode is not on the bus');
  assert.equal(handlers.DropNode, undefined, 'DropNode is not on the bus');
  const moved = { ...target('alice-1', 'alice'), port: 5000, version: 2 };
  assert.deepEqual(await impl.SyncNode(moved, ctx), { ok: true });
  assert.deepEqual(await impl.SyncNode({ ...moved, port: 4000, version: 1 }, ctx), { ok: false }, 'older: ignored');
  assert.equal((await store.node('alice-1'))?.port, 5000);
  await assert.rejects(Promise.resolve(impl.SyncNode({ ...moved, id: 'Bad Id' }, ctx)), {
    code: 'AGORA_ERR_RPC_BAD_PARAMS',
  });
  await assert.rejects(Promise.resolve(impl.SyncNode({ ...moved, status: 'NAPPING' }, ctx)), {
    code: 'AGORA_ERR_RPC_BAD_PARAMS',
  });
  const table = await impl.Table({}, ctx);
  assert.deepEqual(
    table.nodes?.map((n) => [n.id, n.port]),
    [
      ['alice-1', 5000],
      ['ann-1', 4000],
      ['bob-1', 4000],
    ],
  );
  assert.deepEqual(await impl.DropNode({ id: 'alice-1', version: 2, epoch: 'e' }, ctx), { ok: true });
  assert.equal(await store.node('alice-1'), undefined);
  assert.deepEqual(await impl.SyncNode(moved, ctx), { ok: false }, 'a late sync of a dropped node stays dropped');
  assert.deepEqual(await impl.SyncNode({ ...moved, version: 1, epoch: 'restarted' }, ctx), { ok: true }, 'a new epoch');
});

test('a route may lead to any node the caller may write: its own, or one shared with it for control', async (t) => {
  const { api, app, store } = await setUp();
  t.after(() => app.close());
  const post = async (key: number, source: string, node: string) =>
    (await api('POST', '/v1/routes', key, { source, target_node: node })).status;
  assert.equal(await post(ALICE, 'a.example.com', 'bob-1'), 404, "bob's node, not shared");
  await store.syncNode(target('bob-2', 'bob', ['account:alice', 'account:bob']));
  assert.equal(await post(ALICE, 'b.example.com', 'bob-2'), 201, 'shared with alice for control');
  await store.syncNode(target('bob-3', 'bob', ['system.Authenticated', 'account:bob']));
  assert.equal(await post(ANN, 'c.example.com', 'bob-3'), 201, 'every signed-in user writes it');
  // A target held from before permissions (no writers listed) is its owner's alone.
  await store.syncNode({ ...target('bob-4', 'bob'), write: [] });
  assert.deepEqual((await store.node('bob-4'))?.write, ['account:bob']);
  assert.equal(await post(ALICE, 'd.example.com', 'bob-4'), 404);
  assert.equal(await post(BOB, 'bob.example.com', 'bob-4'), 201);
});

test('List: the tombstones of deleted routes for AGORA_TOMBSTONE_TTL_S, then pruned', async () => {
  let now = 10_000;
  const clock = (): number => now;
  const store = new MemoryRouteStore(clock);
  const service = buildRoutes({
    store,
    sessions,
    rules: { domain: 'nodes.localhost', admins: new Set(['root']) },
    log,
    now: clock,
    tombstoneTtlMs: 5_000,
  });
  const handlers = busHandlers(service.impl);
  const ctx = { service: 'Routes', method: 'test', log };
  const list = async () =>
    (await handlers.List([{ sesskey: ROOT }], { ...ctx, method: 'List' })) as {
      version: number;
      deleted: Array<{ source: string; last_modified: number }>;
    };
  const route = { source: 'gone.example.com', target_url: 'http://127.0.0.1:9/' };
  await handlers.Create([{ sesskey: ROOT, route }], { ...ctx, method: 'Create' });
  assert.deepEqual((await list()).deleted, []);
  now = 11_000;
  await handlers.Delete([{ sesskey: ROOT, source: 'gone.example.com' }], { ...ctx, method: 'Delete' });
  const after = await list();
  assert.deepEqual(after.deleted, [{ source: 'gone.example.com', last_modified: after.version }]);
  assert.equal(after.version, 11_000, "stamped as the delete: the list's version");
  now = 11_000 + 5_000;
  assert.equal((await list()).deleted.length, 1, 'kept its time to live');
  now = 11_000 + 5_001 + 60_000;
  assert.deepEqual((await list()).deleted, [], 'past it: not listed');
  assert.deepEqual((await store.owned('root')).deleted, [], 'and pruned from the store');
});
