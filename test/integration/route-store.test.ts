/**
 * The RouteStore contract (lib/store/contracts.ts) against memory, a throwaway PostgreSQL and a
 * throwaway Redis: routes with versions and compare-and-write, exact under racers; node targets
 * with epochs and tombstones; every change announced on the store's topic in the order made;
 * and, on the shared backends, two instances: what one writes the other's topic announces, and
 * their racing writes still pass one at a time.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defaultConfig, type Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import {
  decodeRouteChange,
  routeBody,
  type NodeTargetRecord,
  type RouteChange,
  type RouteRecord,
  type RouteStore,
  type RouteWrite,
} from '../../lib/store/contracts';
import { openStores, resolve } from '../../lib/store/index';
import { migrate, MIGRATIONS } from '../../lib/store/migrations';
import { Pool } from 'pg';
import { startPostgres, startRedis, until } from '../helpers/backends';

const log = createLogger('test', 'silent');

function route(source: string, owner: string, change: Partial<RouteRecord> = {}): RouteRecord {
  return {
    source,
    owner,
    targetNode: 'n-1',
    targetUrl: '',
    mode: 'proxy',
    enforceHttps: false,
    connectTimeoutMs: 0,
    readTimeoutMs: 0,
    createdAt: 100,
    updatedAt: 100,
    version: 0,
    ...change,
  };
}

function target(id: string, change: Partial<NodeTargetRecord> = {}): NodeTargetRecord {
  return {
    id,
    name: id,
    owner: 'ann',
    status: 'ACTIVE',
    host: '127.0.0.1',
    port: 4000,
    version: 1,
    epoch: 'e1',
    write: ['account:ann'],
    ...change,
  };
}

/** The version a write answered (a timestamp the store stamped). */
function stampOf(w: RouteWrite): number {
  assert.ok(w.done, JSON.stringify(w));
  return w.route.version;
}

async function checkRoutes(s: RouteStore): Promise<void> {
  assert.deepEqual(await s.owned('ann'), { routes: [], deleted: [], version: 0 });
  const t0 = Date.now() - 1000; // the database's clock may lag this one a little
  const a = await s.create(route('a.example.com', 'ann', { createdAt: 200 }));
  const va = stampOf(a);
  assert.ok(va >= t0 && va <= Date.now() + 1000, `a timestamp: ${va}`);
  assert.deepEqual(a, { done: true, route: route('a.example.com', 'ann', { createdAt: 200, version: va }) });
  const b = await s.create(route('b.example.com', 'ann'));
  const vb = stampOf(b);
  assert.ok(vb > va, 'strictly increasing, even within one millisecond');
  assert.deepEqual(b, { done: true, route: route('b.example.com', 'ann', { version: vb }) });
  assert.deepEqual(
    await s.create(route('a.example.com', 'bo')),
    { done: false, reason: 'exists' },
    'one source, one route',
  );
  assert.deepEqual(await s.get('a.example.com'), route('a.example.com', 'ann', { createdAt: 200, version: va }));
  assert.equal(await s.get('nope.example.com'), undefined);
  const owned = await s.owned('ann');
  assert.deepEqual(
    [owned.version, owned.routes.map((r) => r.source)],
    [vb, ['b.example.com', 'a.example.com']],
    "oldest first; the list's version is its last write's",
  );
  assert.deepEqual(await s.create(route('c.example.com', 'ann'), va), { done: false, reason: 'stale', version: vb });
  const vc = stampOf(await s.create(route('c.example.com', 'ann'), vb));
  assert.ok(vc > vb, 'at the list version');

  const next = route('a.example.com', 'ann', {
    mode: 'redirect',
    targetNode: '',
    targetUrl: 'https://x.test/',
    updatedAt: 300,
  });
  assert.deepEqual(await s.replace({ ...next, owner: 'bo' }), { done: false, reason: 'absent' }, "another's route");
  assert.deepEqual(await s.replace(route('zz.example.com', 'ann')), { done: false, reason: 'absent' });
  assert.deepEqual(await s.replace(next, 7), { done: false, reason: 'stale', version: va });
  const replaced = await s.replace({ ...next, createdAt: 1, version: 99 }, va);
  const vr = stampOf(replaced);
  assert.ok(vr > vc, 'stamped after every earlier write of the list');
  assert.deepEqual(replaced, { done: true, route: { ...next, createdAt: 200, version: vr } });
  assert.deepEqual(
    await s.get('a.example.com'),
    { ...next, createdAt: 200, version: vr },
    'createdAt kept, version stamped',
  );
  assert.deepEqual(await s.delete('a.example.com', 'bo'), { done: false, reason: 'absent' });
  assert.deepEqual(await s.delete('a.example.com', 'ann', va), { done: false, reason: 'stale', version: vr });
  assert.deepEqual(await s.delete('a.example.com', 'ann', vr), {
    done: true,
    route: { ...next, createdAt: 200, version: vr },
  });
  assert.equal(await s.get('a.example.com'), undefined);
  assert.deepEqual(await s.delete('a.example.com', 'ann'), { done: false, reason: 'absent' });
  assert.ok((await s.owned('ann')).version > vr, 'the delete stamps the list');
  assert.equal((await s.owned('bo')).version, 0, "a refused write moved nobody's list");
  assert.deepEqual(
    (await s.routes()).map((r) => r.source),
    ['b.example.com', 'c.example.com'],
  );
  for (const source of ['b.example.com', 'c.example.com']) await s.delete(source, 'ann');
}

async function checkRouteTombstones(s: RouteStore): Promise<void> {
  const owner = 'tomb';
  const v1 = stampOf(await s.create(route('t1.example.com', owner)));
  stampOf(await s.create(route('t2.example.com', owner)));
  assert.deepEqual((await s.owned(owner)).deleted, [], 'nothing deleted yet');
  assert.deepEqual(await s.delete('t1.example.com', 'other'), { done: false, reason: 'absent' });
  assert.deepEqual((await s.owned(owner)).deleted, [], 'a refused delete leaves no tombstone');
  assert.equal((await s.delete('t1.example.com', owner)).done, true);
  const afterOne = await s.owned(owner);
  assert.deepEqual(
    afterOne.deleted,
    [{ source: 't1.example.com', lastModified: afterOne.version }],
    "the tombstone is stamped as the delete: the list's version",
  );
  assert.ok(afterOne.version > v1);
  assert.equal((await s.delete('t2.example.com', owner)).done, true);
  const afterTwo = await s.owned(owner);
  assert.deepEqual(
    afterTwo.deleted.map((t) => t.source),
    ['t1.example.com', 't2.example.com'],
    'by timestamp',
  );
  assert.equal(afterTwo.deleted[1].lastModified, afterTwo.version);
  assert.deepEqual((await s.owned('other')).deleted, [], "another owner's list has none");
  // Another owner routing the source does not undo the first owner's tombstone; its owner's create does.
  assert.equal((await s.create(route('t2.example.com', 'other'))).done, true);
  assert.equal((await s.owned(owner)).deleted.length, 2);
  await s.delete('t2.example.com', 'other');
  assert.equal((await s.create(route('t1.example.com', owner))).done, true);
  assert.deepEqual(
    (await s.owned(owner)).deleted.map((t) => t.source),
    ['t2.example.com'],
    'created again: no longer a tombstone',
  );
  await s.delete('t1.example.com', owner);
  const last = await s.owned(owner);
  const cut = last.deleted.find((t) => t.source === 't1.example.com')!.lastModified;
  // Every tombstone older than t1's goes (t2's, and those the checks before left), whoever's.
  assert.ok((await s.pruneTombstones(cut)) >= 2, "t2's and other's at least");
  assert.deepEqual((await s.owned(owner)).deleted, [{ source: 't1.example.com', lastModified: cut }]);
  assert.ok((await s.pruneTombstones(cut + 1)) >= 1);
  assert.deepEqual((await s.owned(owner)).deleted, []);
  assert.deepEqual((await s.owned('other')).deleted, [], 'pruned too');
}

async function checkRouteRaces(s: RouteStore): Promise<void> {
  const creates = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.create(route('race.example.com', `owner-${i}`))),
  );
  assert.equal(creates.filter((w) => w.done).length, 1, 'one source, one winner among 12 owners');
  const winner = (await s.get('race.example.com'))!;
  const replaces = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      s.replace(route('race.example.com', winner.owner, { readTimeoutMs: i }), winner.version),
    ),
  );
  assert.equal(replaces.filter((w) => w.done).length, 1, 'one replace at one version');
  const won = stampOf(replaces.find((w) => w.done)!);
  for (const w of replaces) if (!w.done) assert.deepEqual(w, { done: false, reason: 'stale', version: won });
  const listCreates = await Promise.all(
    Array.from({ length: 12 }, (_, i) => s.create(route(`l${i}.example.com`, winner.owner), won)),
  );
  assert.equal(listCreates.filter((w) => w.done).length, 1, 'one create at one list version');
  assert.equal((await s.owned(winner.owner)).routes.length, 2);
  for (const r of (await s.owned(winner.owner)).routes) await s.delete(r.source, winner.owner);
}

async function checkNodeTargets(s: RouteStore): Promise<void> {
  assert.equal(await s.syncNode(target('n-2', { version: 3 })), 'stored');
  assert.equal(await s.syncNode(target('n-2', { version: 3 })), 'unchanged');
  assert.equal(await s.syncNode(target('n-2', { version: 2, port: 1 })), 'stale', 'older: ignored');
  assert.equal(await s.syncNode(target('n-2', { version: 4, port: 4001 })), 'stored');
  assert.equal(await s.syncNode(target('n-1', { version: 1 })), 'stored');
  assert.deepEqual(await s.node('n-2'), target('n-2', { version: 4, port: 4001 }));
  assert.deepEqual(
    (await s.nodes()).map((n) => [n.id, n.version]),
    [
      ['n-1', 1],
      ['n-2', 4],
    ],
  );
  assert.equal(await s.syncNode(target('n-2', { version: 1, epoch: 'e2', port: 5000 })), 'stored', 'a new epoch');
  assert.equal((await s.node('n-2'))?.port, 5000);
  assert.equal(await s.dropNode('n-2', 1, 'e2'), true);
  assert.equal(await s.dropNode('n-2', 1, 'e2'), false, 'dropped already');
  assert.equal(await s.node('n-2'), undefined);
  assert.equal(await s.syncNode(target('n-2', { version: 1, epoch: 'e2' })), 'stale', 'a late sync of a dropped node');
  assert.equal(await s.syncNode(target('n-2', { version: 2, epoch: 'e2' })), 'stored', 'a newer one brings it back');
  assert.equal(await s.dropNode('n-9', 5, 'e1'), false, 'never held: a tombstone only');
  assert.equal(await s.syncNode(target('n-9', { version: 5 })), 'stale');
  assert.deepEqual(
    (await s.nodes()).map((n) => n.id),
    ['n-1', 'n-2'],
  );
  for (const id of ['n-1', 'n-2']) await s.dropNode(id, 10, 'e1');
  // The node's writers (who may route to it) are kept with it; none listed is its owner alone.
  const writers = ['system.Authenticated', 'account:ann', 'account:bob'];
  assert.equal(await s.syncNode(target('n-3', { write: writers })), 'stored');
  assert.deepEqual((await s.node('n-3'))?.write, writers);
  assert.equal(await s.syncNode(target('n-3', { version: 2, write: ['account:ann'] })), 'stored', 'withdrawn');
  assert.deepEqual((await s.nodes()).find((n) => n.id === 'n-3')?.write, ['account:ann']);
  assert.equal(await s.syncNode(target('n-4', { write: [] })), 'stored');
  assert.deepEqual((await s.node('n-4'))?.write, ['account:ann'], 'from before permissions: its owner alone');
  for (const id of ['n-3', 'n-4']) await s.dropNode(id, 10, 'e1');
}

/** Writes announce their changes on the topic, in the order made, once each (nothing for a refused or idle write). */
async function checkTopic(s: RouteStore): Promise<void> {
  const heard: RouteChange[] = [];
  await s.topic.subscribe({
    onMessage: (m) => {
      const change = decodeRouteChange(m);
      if (change !== undefined) heard.push(change);
    },
    onGap: () => undefined,
  });
  const made = await s.create(route('t.example.com', 'ann'));
  await s.create(route('t.example.com', 'bo'));
  const replaced = await s.replace(route('t.example.com', 'ann', { mode: 'redirect' }));
  await s.syncNode(target('t-1'));
  await s.syncNode(target('t-1'));
  await s.delete('t.example.com', 'ann');
  await s.dropNode('t-1', 1, 'e1');
  await s.dropNode('t-1', 1, 'e1');
  const expected: RouteChange[] = [
    { kind: 'route', route: made.done ? made.route : route('', '') },
    { kind: 'route', route: replaced.done ? replaced.route : route('', '') },
    { kind: 'node', node: target('t-1') },
    { kind: 'route_deleted', source: 't.example.com' },
    { kind: 'node_deleted', id: 't-1' },
  ];
  await until(async () => heard.length >= expected.length, 'every change announced');
  assert.deepEqual(heard, expected);
}

const CONTRACT: Array<[string, (s: RouteStore) => Promise<void>]> = [
  ['routes: create, get, owned, replace, delete; versions of each route and each owner list', checkRoutes],
  ['routes: 12 racers on one source, one version, one list version: one write each time', checkRouteRaces],
  [
    "routes: a delete leaves a tombstone in its owner's list, stamped as the write, until created again or pruned",
    checkRouteTombstones,
  ],
  [
    'node targets: newer versions win within an epoch, any version in a new one; drops leave tombstones',
    checkNodeTargets,
  ],
  ['the topic: every change, in order, once; refused and idle writes announce nothing', checkTopic],
];

async function contract(t: TestContext, config: Config): Promise<void> {
  const stores = await openStores(config, log, ['routes']);
  t.after(() => stores.close());
  for (const [name, check] of CONTRACT) await t.test(name, () => check(stores.routes));
}

/** Two instances on one shared store: each hears the other's writes; racing creates pass one at a time. */
async function twoInstances(t: TestContext, config: Config): Promise<void> {
  const [a, b] = await Promise.all([openStores(config, log, ['routes']), openStores(config, log, ['routes'])]);
  t.after(() => Promise.all([a.close(), b.close()]));
  const heard: string[] = [];
  await b.routes.topic.subscribe({ onMessage: (m) => heard.push(m), onGap: () => undefined });
  await a.routes.create(route('two.example.com', 'ann'));
  await until(async () => heard.some((m) => m.startsWith('r ')), "a's write announced to b");
  const races = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).routes.create(route('both.example.com', `o${i}`))),
  );
  assert.equal(races.filter((w) => w.done).length, 1);
}

test('memory route store keeps the contract', async (t) => {
  assert.equal(resolve('routes', defaultConfig()), 'memory');
  await contract(t, defaultConfig());
});

test('PostgreSQL route store keeps the contract; two instances', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const config = { ...defaultConfig(), databaseUrl: await pg.newDatabase(), databasePoolMax: 4, storeTimeoutMs: 2000 };
  assert.equal(resolve('routes', config), 'postgres');
  await contract(t, config);
  await t.test('two instances: one hears the other; racing creates pass one at a time', () => twoInstances(t, config));
  await t.test('migration 13: routes stored before it are deleted with a tombstone', async () =>
    tombstonesMigration(await pg.newDatabase()),
  );
});

/** A database at migration 12 with a route in it, upgraded: its delete leaves a tombstone. */
async function tombstonesMigration(url: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  try {
    await migrate(
      client,
      MIGRATIONS.filter((m) => m.version < 13),
    );
    await client.query(
      "INSERT INTO agora_routes (source, owner, created_at, version, record) VALUES ('old.example.com', 'ann', 1, 5, $1)",
      [routeBody(route('old.example.com', 'ann'))],
    );
    await client.query("INSERT INTO agora_route_lists (owner, version) VALUES ('ann', 5)");
    assert.deepEqual(
      await migrate(client),
      MIGRATIONS.filter((m) => m.version >= 13).map((m) => m.version),
    );
  } finally {
    client.release();
    await pool.end();
  }
  const stores = await openStores({ ...defaultConfig(), databaseUrl: url, storeTimeoutMs: 2000 }, log, ['routes']);
  try {
    assert.deepEqual(await stores.routes.owned('ann'), {
      routes: [route('old.example.com', 'ann', { createdAt: 1, version: 5 })],
      deleted: [],
      version: 5,
    });
    const gone = await stores.routes.delete('old.example.com', 'ann', 5);
    assert.equal(gone.done, true);
    const after = await stores.routes.owned('ann');
    assert.ok(after.version > 5);
    assert.deepEqual(after, {
      routes: [],
      deleted: [{ source: 'old.example.com', lastModified: after.version }],
      version: after.version,
    });
  } finally {
    await stores.close();
  }
}

test('Redis route store keeps the contract; two instances', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const config = { ...defaultConfig(), redisUrl: redis.url, redisPrefix: 'rt:', storeTimeoutMs: 2000 };
  assert.equal(resolve('routes', config), 'redis', 'routes go to Redis when it is configured');
  await contract(t, config);
  await t.test('two instances: one hears the other; racing creates pass one at a time', () =>
    twoInstances(t, { ...config, redisPrefix: 'rt2:' }),
  );
});
