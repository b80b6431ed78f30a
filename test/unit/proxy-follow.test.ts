/**
 * The proxy's table following Routes (services/proxy/follow.ts): implicit node hosts and
 * custom routes, changes held while a load is under way and applied after it, stale changes
 * ignored, a custom route winning over an implicit host, a failed load tried again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { Route__Output } from '../../lib/gen/agora/Route';
import type { RouteChange__Output } from '../../lib/gen/agora/RouteChange';
import type { RouteTable__Output } from '../../lib/gen/agora/RouteTable';
import { createLogger } from '../../lib/log';
import type { RouteWatchHandlers } from '../../lib/routes-client';
import { RouteFollower } from '../../services/proxy/follow';
import { RouteTable } from '../../services/proxy/routes';

const log = createLogger('test', 'silent');
const DOMAIN = 'nodes.localhost';
const ID = '3dde8c00-4477-4cc3-88eb-4dd738f217a7';
const ID2 = '9c1e8c00-4477-4cc3-88eb-4dd738f217a7';

function node(over: Partial<NodeTarget__Output> = {}): NodeTarget__Output {
  return {
    id: ID,
    name: 'web',
    owner: 'ann',
    status: 'ACTIVE',
    host: '127.0.0.1',
    port: 4000,
    version: 1,
    epoch: 'e',
    write: ['account:ann'],
    ...over,
  };
}

function route(over: Partial<Route__Output> = {}): Route__Output {
  return {
    source: 'www.example.com',
    owner: 'ann',
    target_node: ID,
    target_url: '',
    mode: 'proxy',
    enforce_https: false,
    connect_timeout_ms: 0,
    read_timeout_ms: 0,
    created_at: 1,
    updated_at: 1,
    version: 1,
    ...over,
  };
}

/** A Routes feed driven by the test: each `table()` waits for `answer`. */
class Feed {
  handlers: RouteWatchHandlers | undefined;
  private answers: Array<{ resolve: (t: RouteTable__Output) => void; reject: (e: Error) => void }> = [];

  table(): Promise<RouteTable__Output> {
    return new Promise((resolve, reject) => this.answers.push({ resolve, reject }));
  }

  watch(handlers: RouteWatchHandlers): { close(): void } {
    this.handlers = handlers;
    return { close: () => undefined };
  }

  get asked(): number {
    return this.answers.length;
  }

  answer(table: RouteTable__Output): void {
    this.answers.shift()!.resolve(table);
  }

  fail(): void {
    this.answers.shift()!.reject(new Error('Routes is down'));
  }

  change(change: Partial<RouteChange__Output>): void {
    this.handlers!.onChange!(change);
  }
}

function setup(): { feed: Feed; table: RouteTable; follower: RouteFollower; started: Promise<void> } {
  const feed = new Feed();
  const table = new RouteTable({ connectTimeoutMs: 1000, readTimeoutMs: 1000 });
  const follower = new RouteFollower({ routes: feed, table, domain: DOMAIN, log, retryMs: 1 });
  const started = follower.start();
  return { feed, table, follower, started };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a load: implicit hosts and custom routes; a custom route wins over an implicit host', async () => {
  const { feed, table, started } = setup();
  feed.handlers!.onReload();
  feed.answer({
    nodes: [node(), node({ id: ID2, name: 'api', status: 'STOPPED', host: '', port: 0 })],
    routes: [
      route(),
      route({ source: `api.ann.${DOMAIN}`, target_node: '', target_url: 'http://127.0.0.1:9000/x' }),
      route({ source: 'gone.example.com', target_node: 'c0ffee00-4477-4cc3-88eb-4dd738f217a7' }),
    ],
  });
  await started;
  assert.deepEqual(table.lookup(`web.ann.${DOMAIN}:8000`)?.node, {
    id: ID,
    status: 'ACTIVE',
    host: '127.0.0.1',
    port: 4000,
    routes: 2,
  });
  assert.equal(table.lookup('www.example.com')?.node?.id, ID);
  assert.equal(table.lookup(`api.ann.${DOMAIN}`)?.url?.prefix, '/x', 'the custom route wins');
  assert.equal(table.lookup('gone.example.com')?.node?.status, 'DELETING', 'a route to an unknown node leads nowhere');
});

test('changes during a load wait for it; stale ones are ignored; moves and renames follow', async () => {
  const { feed, table, started } = setup();
  feed.handlers!.onReload();
  // Arrives before the table: applied after it.
  feed.change({ node: node({ port: 4001, version: 2 }) });
  feed.answer({ nodes: [node()], routes: [] });
  await started;
  assert.equal(table.lookup(`web.ann.${DOMAIN}`)?.node?.port, 4001);
  // Older than what is held: ignored.
  feed.change({ node: node({ port: 3999, version: 1 }) });
  assert.equal(table.lookup(`web.ann.${DOMAIN}`)?.node?.port, 4001);
  // Another epoch replaces whatever its version.
  feed.change({ node: node({ port: 4100, version: 1, epoch: 'f' }) });
  assert.equal(table.lookup(`web.ann.${DOMAIN}`)?.node?.port, 4100);
  // A rename moves the implicit host.
  feed.change({ node: node({ name: 'www', port: 4100, version: 2, epoch: 'f' }) });
  assert.equal(table.lookup(`web.ann.${DOMAIN}`), undefined);
  assert.equal(table.lookup(`www.ann.${DOMAIN}`)?.node?.port, 4100);
  // Routes: made, a stale version ignored, deleted.
  feed.change({ route: route({ version: 3 }) });
  feed.change({ route: route({ version: 2, target_node: '', target_url: 'http://127.0.0.1:1/' }) });
  assert.equal(table.lookup('www.example.com')?.node?.id, ID);
  feed.change({ route_deleted: 'www.example.com' });
  assert.equal(table.lookup('www.example.com'), undefined);
  // The node gone: its host too.
  feed.change({ node_deleted: ID });
  assert.equal(table.lookup(`www.ann.${DOMAIN}`), undefined);
});

test('a failed load is tried again; a reload replaces everything', async () => {
  const { feed, table, started } = setup();
  feed.handlers!.onReload();
  feed.fail();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(feed.asked, 1, 'asked again');
  feed.answer({ nodes: [node()], routes: [route()] });
  await started;
  assert.equal(table.size, 2);
  feed.handlers!.onReload();
  feed.answer({ nodes: [], routes: [] });
  await tick();
  assert.equal(table.size, 0);
});

test("a custom route leads to a node while its owner may write it: another's node shared, then withdrawn", async () => {
  const { feed, table, started } = setup();
  feed.handlers!.onReload();
  const shared = node({ write: ['account:ann', 'account:bob'] });
  feed.answer({ nodes: [shared], routes: [route({ source: 'bob.example.com', owner: 'bob' })] });
  await started;
  assert.equal(table.lookup('bob.example.com')?.node?.id, ID, "bob may write ann's node: routed");
  // ann withdraws bob's write: his route leads nowhere, her node's own host still serves.
  feed.change({ node: node({ version: 2, write: ['account:ann'] }) });
  assert.equal(table.lookup('bob.example.com'), undefined);
  assert.equal(table.lookup(`web.ann.${DOMAIN}`)?.node?.id, ID);
  // Every signed-in user may write it: routed again.
  feed.change({ node: node({ version: 3, write: ['system.Authenticated', 'account:ann'] }) });
  assert.equal(table.lookup('bob.example.com')?.node?.id, ID);
  // A target without writers (from before permissions) is its owner's alone.
  feed.change({ node: node({ version: 4, write: [] }) });
  assert.equal(table.lookup('bob.example.com'), undefined);
  assert.equal(table.lookup('www.example.com'), undefined, 'no route of ann there');
  feed.change({ route: route({ version: 2 }) });
  assert.equal(table.lookup('www.example.com')?.node?.id, ID, "ann's own route");
});
