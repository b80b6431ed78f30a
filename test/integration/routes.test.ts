/**
 * Routes through real processes (docs/ROUTING.md): broker, auth, the TypeScript driver, Routes,
 * compute and the gateway as the Procfile runs them. /v1/routes with its refusals; each node's
 * static URL in its record; compute keeping Routes' node targets in step across a stop and
 * start (a new port), a Routes restart on the memory backend and a Routes outage. Then two
 * Routes instances on one PostgreSQL, and on one Redis: a change made through one reaches a
 * Watch stream on the other within a second.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { RouteChange__Output } from '../../lib/gen/agora/RouteChange';
import { createLogger } from '../../lib/log';
import { RoutesClient, type RouteWatch } from '../../lib/routes-client';
import { unary } from '../../lib/rpc/grpc';
import { loadProto } from '../../lib/rpc/proto';
import { startPostgres, startRedis, until } from '../helpers/backends';
import { freePort, startBroker, startNode, type Started } from '../helpers/proc';
import { call, logon, type Answer, type Json } from '../helpers/v1';

const log = createLogger('test', 'silent');
/** How long a node may take to become ACTIVE or STOPPED on a loaded 2-core machine. */
const SETTLE_MS = 20_000;

interface Mesh {
  http: string;
  procs: Record<string, Started>;
  routesUrl: string;
  /** Start Routes again on its address, after it was stopped. */
  restartRoutes(): Promise<void>;
}

/** The mesh, Routes on a fixed port (so that compute dials it again after a restart). */
async function startRoutesMesh(t: TestContext): Promise<Mesh> {
  const procs: Record<string, Started> = {};
  t.after(async () => {
    await Promise.all([procs.gateway?.stop(), procs.compute?.stop()]);
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  });
  procs.broker = await startBroker();
  const common = { AGORA_BUS_URL: String(procs.broker.endpoints.bus), AGORA_ADMINS: 'root' };
  procs.auth = await startNode('services/auth/main.js', { env: { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' } });
  const auth = String(procs.auth.endpoints.grpc);
  procs.driver = await startNode('services/driver/main.js', {
    env: { ...common, AGORA_DRIVER_GRPC_URL: '127.0.0.1:0' },
  });
  const routesUrl = `127.0.0.1:${await freePort()}`;
  const routesEnv = { ...common, AGORA_AUTH_GRPC_URL: auth, AGORA_ROUTES_GRPC_URL: routesUrl };
  procs.routes = await startNode('services/routes/main.js', { env: routesEnv });
  procs.compute = await startNode('services/compute/main.js', {
    env: {
      ...common,
      AGORA_AUTH_GRPC_URL: auth,
      AGORA_COMPUTE_GRPC_URL: '127.0.0.1:0',
      AGORA_ROUTES_GRPC_URL: routesUrl,
      AGORA_COMPUTE_SYNC_MS: '200',
    },
  });
  procs.gateway = await startNode('gateway/main.js', { env: { ...common, AGORA_HTTP_PORT: '0' } });
  return {
    http: String(procs.gateway.endpoints.http),
    procs,
    routesUrl,
    restartRoutes: async () => {
      procs.routes = await startNode('services/routes/main.js', { env: routesEnv });
    },
  };
}

/** A Watch stream followed from this process: every change it brought, and the reloads. */
class Follower {
  readonly changes: RouteChange__Output[] = [];
  reloads = 0;
  private readonly client: RoutesClient;
  private readonly watch: RouteWatch;
  private waiters: Array<() => void> = [];

  constructor(url: string) {
    this.client = new RoutesClient({ url, timeoutMs: 5000, log });
    this.watch = this.client.watch({
      onReload: () => {
        this.reloads++;
        this.wake();
      },
      onChange: (change) => {
        this.changes.push(change);
        this.wake();
      },
    });
  }

  /** The first change from `from` on that `match`es, within `ms`. */
  async next(match: (c: RouteChange__Output) => boolean, ms: number, from = 0): Promise<RouteChange__Output> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.changes.slice(from).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such change within ${ms} ms; got ${JSON.stringify(this.changes.slice(from))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  table(): Promise<{ nodes: NodeTarget__Output[] }> {
    return this.client.table();
  }

  close(): void {
    this.watch.close();
    this.client.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Read until `done` holds of what was read; answers it. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  let last!: T;
  await until(async () => done((last = await read())), what, SETTLE_MS, 100);
  return last;
}

test('Routes in the mesh: /v1/routes, static URLs, node targets kept in step by compute', async (t) => {
  const mesh = await startRoutesMesh(t);
  const alice = await logon(mesh.http, 'alice');
  const bob = await logon(mesh.http, 'bob');
  const root = await logon(mesh.http, 'root');
  const follower = new Follower(mesh.routesUrl);
  t.after(() => follower.close());
  const api = (method: string, path: string, key: number, body?: unknown, headers?: Record<string, string>) =>
    call(mesh.http, method, path, { key, body, headers });

  // 1. Nodes: names are DNS labels, one per owner; each record names its static URL.
  const bad = await api('POST', '/v1/nodes', alice, { name: 'Web_1', image: 'http' });
  assert.deepEqual([bad.status, (bad.body as Json).errno], [400, 107], bad.text);
  const made = await api('POST', '/v1/nodes', alice, { name: 'web', image: 'http' });
  assert.equal(made.status, 201, made.text);
  const web = made.rec;
  assert.equal(web.url, 'http://web.alice.nodes.localhost:8000/');
  const twice = await api('POST', '/v1/nodes', alice, { name: 'web', image: 'http' });
  assert.deepEqual([twice.status, (twice.body as Json).errno], [409, 122], twice.text);
  const bobs = (await api('POST', '/v1/nodes', bob, { name: 'web', image: 'http' })).rec;
  assert.equal(bobs.url, 'http://web.bob.nodes.localhost:8000/', "another owner's node of the same name");
  const id = String(web.id);
  const active = await poll(
    () => api('GET', `/v1/nodes/${id}`, alice),
    (a) => a.rec.status === 'ACTIVE',
    'the node ACTIVE',
  );
  const port = Number(active.rec.port);
  assert.equal(active.rec.url, web.url, 'the URL does not move');

  // 2. Routes' table follows: the node's current port, through the Watch stream and the table.
  await follower.next((c) => c.node?.id === id && c.node.status === 'ACTIVE' && c.node.port === port, SETTLE_MS);
  assert.equal((await follower.table()).nodes.find((n) => n.id === id)?.port, port);

  await t.test('/v1/routes: create, read, replace, delete, and every refusal', () =>
    crud(api, { alice, bob, root }, id),
  );
  await t.test('stop and start: Routes has the new port', (st) => stopStart(st, api, alice, follower, id, port));
  await t.test('Routes restarted (memory): compute pushes every node again', () =>
    routesRestarted(mesh, api, alice, id),
  );
  await t.test('Routes down: node calls answer at once; the change reaches Routes once it is back', () =>
    routesDown(mesh, api, alice, id),
  );
  await t.test('delete: the node leaves the table', async () => {
    const watcher = new Follower(mesh.routesUrl);
    t.after(() => watcher.close());
    await until(async () => watcher.reloads > 0, 'the hello', 5000);
    assert.equal((await api('DELETE', `/v1/nodes/${id}`, alice)).status, 202);
    await watcher.next((c) => c.node_deleted === id, SETTLE_MS);
    assert.equal(
      (await watcher.table()).nodes.find((n) => n.id === id),
      undefined,
    );
  });
});

type Api = (
  method: string,
  path: string,
  key: number,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Answer>;

async function crud(api: Api, keys: { alice: number; bob: number; root: number }, id: string): Promise<void> {
  const { alice, bob, root } = keys;
  const expect = async (key: number, body: object, status: number, errno: number): Promise<void> => {
    const answer = await api('POST', '/v1/routes', key, body);
    assert.deepEqual(
      [answer.status, (answer.body as Json).errno],
      [status, errno],
      `${JSON.stringify(body)}: ${answer.text}`,
    );
  };
  await expect(alice, { source: 'not a host', target_node: id }, 400, 107);
  await expect(alice, { source: 'web.example.com' }, 400, 107);
  await expect(bob, { source: 'web.alice.nodes.localhost', target_node: id }, 403, 121);
  await expect(alice, { source: 'web.example.com', target_url: 'https://example.org/' }, 403, 121);
  await expect(bob, { source: 'web.example.com', target_node: id }, 404, 111);
  const made = await api('POST', '/v1/routes', alice, { source: 'Web.Example.com', target_node: id });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.headers.get('location'), '/v1/routes/web.example.com');
  const madeTag = made.headers.get('etag') ?? '';
  assert.match(madeTag, /^"\d{13,}"$/, 'the ETag of a route is its timestamp');
  await expect(root, { source: 'web.example.com', target_url: 'https://example.org/' }, 409, 122);
  const url = await api('POST', '/v1/routes', root, { source: 'docs.example.com', target_url: 'https://example.org/' });
  assert.equal(url.status, 201, url.text);
  assert.equal((await api('GET', '/v1/routes/web.example.com', bob)).status, 404);
  const list = await api('GET', '/v1/routes', alice);
  assert.deepEqual(
    ((list.body as Json).data as Json[]).map((r) => r.source),
    ['web.example.com'],
  );
  const stale = await api(
    'PUT',
    '/v1/routes/web.example.com',
    alice,
    { target_node: id, mode: 'redirect' },
    { 'if-match': '"7"' },
  );
  assert.deepEqual([stale.status, (stale.body as Json).errno], [412, 114], stale.text);
  const put = await api(
    'PUT',
    '/v1/routes/web.example.com',
    alice,
    { target_node: id, mode: 'redirect' },
    { 'if-match': madeTag },
  );
  assert.deepEqual([put.status, put.rec.mode], [200, 'redirect'], put.text);
  assert.ok(Number(JSON.parse(put.headers.get('etag') ?? '0')) > Number(JSON.parse(madeTag)), 'a later timestamp');
  const before = await api('GET', '/v1/routes', alice);
  const beforeTag = before.headers.get('etag') ?? '';
  const gone = await api('DELETE', '/v1/routes/web.example.com', alice);
  assert.equal(gone.status, 200, gone.text);
  assert.equal((await api('GET', '/v1/routes/web.example.com', alice)).status, 404);
  // A _since reader of the list learns what went: the route's tombstone, stamped as the delete (the list's ETag).
  const since = await api('GET', `/v1/routes?_since=${encodeURIComponent(beforeTag)}`, alice);
  assert.equal(since.status, 200, since.text);
  const stamp = Number(JSON.parse(since.headers.get('etag') ?? '0'));
  assert.ok(stamp > Number(JSON.parse(beforeTag)), 'the delete moved the list');
  const changed = (since.body as { data: Json[] }).data;
  assert.deepEqual(
    changed.filter((r) => r.deleted === true),
    [{ id: 'web.example.com', last_modified: stamp, deleted: true }],
    since.text,
  );
  const fields = await api('GET', `/v1/routes?_since=${encodeURIComponent(beforeTag)}&_fields=mode`, alice);
  assert.deepEqual((fields.body as { data: Json[] }).data, [
    { id: 'web.example.com', last_modified: stamp, deleted: true },
  ]);
  const plain = await api('GET', '/v1/routes', alice);
  assert.equal(
    (plain.body as { data: Json[] }).data.some((r) => r.deleted === true),
    false,
    'without _since, no tombstone',
  );
  const bobs = await api('GET', '/v1/routes?_since=0', bob);
  assert.equal(
    (bobs.body as { data: Json[] }).data.some((r) => r.id === 'web.example.com'),
    false,
    "another owner's list shows none",
  );
}

async function stopStart(
  t: TestContext,
  api: Api,
  alice: number,
  follower: Follower,
  id: string,
  port: number,
): Promise<void> {
  const from = follower.changes.length;
  assert.equal((await api('PATCH', `/v1/nodes/${id}`, alice, { action: 'stop' })).status, 200);
  await follower.next((c) => c.node?.id === id && c.node.status === 'STOPPED' && c.node.port === 0, SETTLE_MS, from);
  // (While it was stopping, the node was still ACTIVE on its old port: what comes from here on is the start.)
  const started = follower.changes.length;
  assert.equal((await api('PATCH', `/v1/nodes/${id}`, alice, { action: 'start' })).status, 200);
  const active = await poll(
    () => api('GET', `/v1/nodes/${id}`, alice),
    (a) => a.rec.status === 'ACTIVE',
    'the node ACTIVE again',
  );
  const now = Number(active.rec.port);
  assert.ok(now > 0);
  const change = await follower.next((c) => c.node?.id === id && c.node.status === 'ACTIVE', SETTLE_MS, started);
  assert.equal(change.node?.port, now, 'the Watch stream brought the new port');
  assert.equal((await follower.table()).nodes.find((n) => n.id === id)?.port, now, "the table's port is the new one");
  // A port drawn twice is allowed, only unlikely: say so rather than fail.
  if (now === port) t.diagnostic(`the driver drew the same port ${port} again`);
}

async function routesRestarted(mesh: Mesh, api: Api, alice: number, id: string): Promise<void> {
  assert.equal(await mesh.procs.routes.stop(), 0);
  await mesh.restartRoutes();
  const follower = new Follower(mesh.routesUrl);
  try {
    const node = (await api('GET', `/v1/nodes/${id}`, alice)).rec;
    await poll(
      () => follower.table(),
      (table) => table.nodes.some((n) => n.id === id && n.port === node.port && n.status === node.status),
      'compute to push the node to the new Routes',
    );
  } finally {
    follower.close();
  }
}

async function routesDown(mesh: Mesh, api: Api, alice: number, id: string): Promise<void> {
  assert.equal(await mesh.procs.routes.stop(), 0);
  const t0 = Date.now();
  const stopped = await api('PATCH', `/v1/nodes/${id}`, alice, { action: 'stop' });
  assert.equal(stopped.status, 200, stopped.text);
  assert.ok(Date.now() - t0 < 2000, `the call waited ${Date.now() - t0} ms`);
  await poll(
    () => api('GET', `/v1/nodes/${id}`, alice),
    (a) => a.rec.status === 'STOPPED',
    'the node STOPPED',
  );
  await mesh.restartRoutes();
  const follower = new Follower(mesh.routesUrl);
  try {
    await poll(
      () => follower.table(),
      (table) => table.nodes.some((n) => n.id === id && n.status === 'STOPPED'),
      'the stop to reach Routes',
    );
  } finally {
    follower.close();
  }
}

/** Two Routes instances on one store: a change through one reaches a Watch stream on the other within a second. */
async function twoInstances(t: TestContext, env: Record<string, string>): Promise<void> {
  const procs: Started[] = [];
  t.after(() => Promise.all(procs.map((p) => p.stop())));
  const broker = await startBroker();
  procs.push(broker);
  const common = { ...env, AGORA_BUS_URL: String(broker.endpoints.bus) };
  const auth = await startNode('services/auth/main.js', { env: { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' } });
  procs.push(auth);
  const withAuth = { ...common, AGORA_AUTH_GRPC_URL: String(auth.endpoints.grpc) };
  const [a, b] = [
    await startNode('services/routes/main.js', { env: { ...withAuth, AGORA_GRPC_BIND: '127.0.0.1:0' } }),
    await startNode('services/routes/main.js', { env: { ...withAuth, AGORA_GRPC_BIND: '127.0.0.1:0' } }),
  ];
  procs.push(a, b);
  const gateway = await startNode('gateway/main.js', { env: { ...common, AGORA_HTTP_PORT: '0' } });
  procs.push(gateway);
  const key = await logon(String(gateway.endpoints.http), 'ann');
  const onB = new Follower(String(b.endpoints.grpc));
  t.after(() => onB.close());
  await until(async () => onB.reloads > 0, "the hello of B's stream", 5000);
  const Routes = loadProto('routes.proto').agora.Routes;
  const toA = new Routes(String(a.endpoints.grpc), grpc.credentials.createInsecure());
  t.after(() => toA.close());
  const at = (): number => performance.now();
  // A node target and a route, written through A.
  await unary(
    toA,
    'SyncNode',
    { id: 'n-1', name: 'web', owner: 'ann', status: 'ACTIVE', host: 'h', port: 1, version: 1, epoch: 'e' },
    { timeoutMs: 5000 },
  );
  let t0 = at();
  await onB.next((c) => c.node?.id === 'n-1', 1000);
  assert.ok(at() - t0 < 1000);
  const created = await unary<unknown, Json>(
    toA,
    'Create',
    { sesskey: key, route: { source: 'two.example.com', target_node: 'n-1' } },
    { timeoutMs: 5000 },
  );
  t0 = at();
  const made = await onB.next((c) => c.route?.source === 'two.example.com', 1000);
  assert.ok(at() - t0 < 1000, `${at() - t0} ms`);
  assert.deepEqual(
    [made.route?.owner, made.route?.target_node, Number(made.route?.version)],
    ['ann', 'n-1', Number(created.version)],
    'the version the store stamped, as the write answered it',
  );
  await unary(toA, 'Delete', { sesskey: key, source: 'two.example.com' }, { timeoutMs: 5000 });
  await onB.next((c) => c.route_deleted === 'two.example.com', 1000);
  // Through the gateway, whichever instance the broker picks: B's stream hears it too.
  const viaGateway = await call(String(gateway.endpoints.http), 'POST', '/v1/routes', {
    key,
    body: { source: 'gw.example.com', target_node: 'n-1' },
  });
  assert.equal(viaGateway.status, 201, viaGateway.text);
  await onB.next((c) => c.route?.source === 'gw.example.com', 1000);
  const both = [a, b].map((p) => new RoutesClient({ url: String(p.endpoints.grpc), timeoutMs: 5000, log }));
  try {
    for (const client of both)
      assert.deepEqual(
        (await client.table()).routes.map((r) => r.source),
        ['gw.example.com'],
      );
  } finally {
    for (const client of both) client.close();
  }
}

test('two Routes instances over PostgreSQL: a change through one reaches a Watch stream on the other', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  await twoInstances(t, { AGORA_DATABASE_URL: await pg.newDatabase() });
});

test('two Routes instances over Redis: a change through one reaches a Watch stream on the other', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  await twoInstances(t, { AGORA_REDIS_URL: redis.url });
});
