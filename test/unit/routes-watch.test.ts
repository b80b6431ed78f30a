/**
 * The Watch side of services/routes: a stream gets hello, then every change of the store in
 * order (./relay.ts over the memory store's topic); a subscription that breaks makes every
 * stream reload once it hears again; a follower too far behind is cut off; shutdown ends all.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { GRPC } from '../../lib/errors';
import type { RouteChange as WireChange } from '../../lib/gen/agora/RouteChange';
import { createLogger } from '../../lib/log';
import type { Broadcast, RouteRecord } from '../../lib/store/contracts';
import { MemoryRouteStore } from '../../lib/store/routes-memory';
import { buildRoutes } from '../../services/routes/handlers';
import { ChangeRelay } from '../../services/routes/relay';
import { MAX_QUEUED, RouteWatchHub, type WatchCall } from '../../services/routes/watch';
import { until } from '../helpers/bus';
import { fakeSessions } from '../helpers/sessions';

const log = createLogger('test', 'silent');

/** A Watch call as grpc-js hands it to the handler: what it was written, whether it ended. */
class FakeCall extends EventEmitter {
  written: WireChange[] = [];
  ended = false;
  writableLength = 0;
  write(message: WireChange): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  getPeer(): string {
    return 'peer';
  }
}

const ROUTE: RouteRecord = {
  source: 'web.example.com',
  owner: 'alice',
  targetNode: 'n-1',
  targetUrl: '',
  mode: 'proxy',
  enforceHttps: false,
  connectTimeoutMs: 0,
  readTimeoutMs: 0,
  createdAt: 5,
  updatedAt: 5,
  version: 0,
};

test('a Watch stream: hello first, then every change in order; shutdown ends it', async () => {
  // A clock stopped at 0: each write's timestamp is its owner's count of writes (1, 2, …).
  const store = new MemoryRouteStore(() => 0);
  const routes = buildRoutes({ store, sessions: fakeSessions(), rules: { domain: 'd.test', admins: new Set() }, log });
  await routes.start(1000);
  const call = new FakeCall();
  routes.hub.attach(call as unknown as WatchCall);
  assert.deepEqual(call.written, [{ hello: true }]);
  const node = {
    id: 'n-1',
    name: 'web',
    owner: 'alice',
    status: 'ACTIVE',
    host: 'h',
    port: 1,
    version: 1,
    epoch: 'e',
    write: ['account:alice'],
  };
  await store.syncNode(node);
  await store.create(ROUTE);
  await store.replace({ ...ROUTE, mode: 'redirect' });
  await store.delete(ROUTE.source, 'alice');
  await store.dropNode('n-1', 1, 'e');
  await until(async () => call.written.length === 6, 2000, 'five changes');
  assert.deepEqual(call.written.slice(1), [
    { node },
    { route: { ...wire(ROUTE), version: 1 } },
    { route: { ...wire(ROUTE), mode: 'redirect', version: 2 } },
    { route_deleted: 'web.example.com' },
    { node_deleted: 'n-1' },
  ]);
  assert.equal(routes.hub.size, 1);
  routes.close();
  assert.equal(call.ended, true);
  assert.equal(routes.hub.size, 0);
});

function wire(route: RouteRecord): Record<string, unknown> {
  return {
    source: route.source,
    owner: route.owner,
    target_node: route.targetNode,
    target_url: route.targetUrl,
    mode: route.mode,
    enforce_https: route.enforceHttps,
    connect_timeout_ms: route.connectTimeoutMs,
    read_timeout_ms: route.readTimeoutMs,
    created_at: route.createdAt,
    updated_at: route.updatedAt,
    version: route.version,
  };
}

/** A topic this test controls: publishes come back unless muted; a gap on demand. */
class ControlledTopic implements Broadcast {
  muted = false;
  handlers: Parameters<Broadcast['subscribe']>[0] | undefined;
  async publish(message: string): Promise<void> {
    if (!this.muted) queueMicrotask(() => this.handlers?.onMessage(message));
  }
  async subscribe(handlers: Parameters<Broadcast['subscribe']>[0]): Promise<void> {
    this.handlers = handlers;
  }
  async close(): Promise<void> {}
}

test('the relay: a gap, or silence, and the first probe heard after it makes every follower reload', async (t) => {
  const topic = new ControlledTopic();
  const seen: string[] = [];
  const relay = new ChangeRelay({
    topic,
    sink: { change: (c) => seen.push(c.kind), reload: () => seen.push('reload') },
    log,
    probeMs: 20,
    silenceMs: 100,
  });
  t.after(() => relay.close());
  await relay.start(1000);
  assert.equal(relay.hearing, true);
  topic.handlers?.onMessage('R gone.example.com');
  topic.handlers?.onMessage('p someone-else 1');
  topic.handlers?.onMessage('garbage');
  assert.deepEqual(seen, ['route_deleted'], "changes pass; others' probes and noise do not");
  // 1. A gap: down at once; the next own probe heard makes the followers reload, once.
  topic.handlers?.onGap('connection lost');
  assert.equal(relay.hearing, false);
  await until(async () => seen.includes('reload'), 2000, 'a reload after the gap');
  assert.equal(relay.hearing, true);
  // 2. Silence: nothing comes back for silenceMs; then it does.
  topic.muted = true;
  await until(async () => !relay.hearing, 2000, 'the relay to notice the silence');
  topic.muted = false;
  await until(async () => seen.filter((s) => s === 'reload').length === 2, 2000, 'a second reload');
  assert.deepEqual(seen, ['route_deleted', 'reload', 'reload']);
});

test('the relay does not start before it hears itself', async () => {
  const topic = new ControlledTopic();
  topic.muted = true;
  const relay = new ChangeRelay({
    topic,
    sink: { change: () => undefined, reload: () => undefined },
    log,
    probeMs: 20,
  });
  await assert.rejects(relay.start(100), { code: 'AGORA_ERR_STORE_UNAVAILABLE' });
  relay.close();
});

test('a follower too far behind is cut off with RESOURCE_EXHAUSTED; the others go on', () => {
  const hub = new RouteWatchHub(log);
  const [slow, quick] = [new FakeCall(), new FakeCall()];
  const errors: unknown[] = [];
  slow.on('error', (e) => errors.push(e));
  hub.attach(slow as unknown as WatchCall);
  hub.attach(quick as unknown as WatchCall);
  slow.writableLength = MAX_QUEUED;
  hub.reload();
  assert.deepEqual(errors, [{ code: GRPC.RESOURCE_EXHAUSTED, details: `more than ${MAX_QUEUED} changes unsent` }]);
  assert.equal(hub.size, 1);
  assert.deepEqual(quick.written, [{ hello: true }, { reload: true }]);
  quick.emit('cancelled');
  assert.equal(hub.size, 0, 'a cancelled stream is forgotten');
});
