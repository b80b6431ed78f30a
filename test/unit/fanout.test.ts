/**
 * lib/fanout.ts: session invalidations across auth instances, on an in-process
 * ordered topic (a narrow fake of Broadcast), with t.mock.timers and an injected clock.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../lib/log';
import type { Broadcast } from '../../lib/store/contracts';
import { BOUND_MS, FENCE_CHECK_MS, FENCE_MS, InvalidationFanout, type LocalWatchers } from '../../lib/fanout';

const log = createLogger('test', 'silent');

/** One topic: every published message reaches every connected subscriber, in order, on a later microtask. */
class Topic {
  readonly subs = new Set<FakeBroadcast>();
  publish(message: string): void {
    for (const sub of this.subs) queueMicrotask(() => sub.deliver(message));
  }
}

class FakeBroadcast implements Broadcast {
  connected = true;
  private handlers: { onMessage(m: string): void; onGap(reason: string): void } | undefined;
  constructor(private readonly topic: Topic) {}
  async publish(message: string): Promise<void> {
    this.topic.publish(message);
  }
  async subscribe(handlers: { onMessage(m: string): void; onGap(reason: string): void }): Promise<void> {
    this.handlers = handlers;
    this.topic.subs.add(this);
  }
  async close(): Promise<void> {
    this.topic.subs.delete(this);
  }
  deliver(message: string): void {
    if (this.connected) this.handlers?.onMessage(message);
  }
  gap(): void {
    this.handlers?.onGap('test');
  }
}

/** A hub that records what it is told; its invalidations finish when the test says. */
class FakeHub implements LocalWatchers {
  invalidated: number[][] = [];
  fenced: boolean | undefined;
  private releases: Array<() => void> = [];
  hold = false;
  invalidate(keys: readonly number[]): Promise<void> {
    this.invalidated.push([...keys]);
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.releases.push(resolve));
  }
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
  /** How many times the fan-out told it its state. */
  fences = 0;
  fence(on: boolean): void {
    this.fenced = on;
    this.fences++;
  }
}

/** Let queued microtasks and promise chains run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

async function setup(t: TestContext, n: number) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  let now = 0;
  const tick = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 10) {
      now += Math.min(10, left);
      t.mock.timers.tick(Math.min(10, left));
      await settle();
    }
  };
  const topic = new Topic();
  const nodes = Array.from({ length: n }, () => {
    const hub = new FakeHub();
    const broadcast = new FakeBroadcast(topic);
    const fanout = new InvalidationFanout({ broadcast, hub, log, clock: () => now });
    return { hub, broadcast, fanout };
  });
  t.after(() => nodes.forEach((x) => x.fanout.close()));
  await Promise.all(nodes.map((x) => x.fanout.start(1000)));
  await tick(500); // heartbeats: everyone hears everyone
  return { nodes, tick };
}

test('fan-out: an invalidation answers only once every other instance has emptied its watchers', async (t) => {
  const { nodes, tick } = await setup(t, 3);
  const [a, b, c] = nodes;
  for (const x of nodes) assert.equal(x.hub.fenced, false, 'fresh instances serve watchers');
  assert.deepEqual(a.fanout.livePeers.sort(), [b.fanout.id, c.fanout.id].sort());
  b.hub.hold = true;
  let done = false;
  const pending = a.fanout.invalidate([7, 8]).then((told) => {
    done = true;
    return told;
  });
  await tick(100);
  assert.deepEqual(a.hub.invalidated, [[7, 8]]);
  assert.deepEqual(b.hub.invalidated, [[7, 8]]);
  assert.deepEqual(c.hub.invalidated, [[7, 8]]);
  assert.equal(done, false, 'b has not finished yet');
  b.hub.release();
  await tick(20);
  assert.equal(done, true);
  assert.equal(await pending, true, 'every other instance was told');
});

test('fan-out: a peer that stops hearing the topic is waited for at most BOUND_MS, and fences itself first', async (t) => {
  const { nodes, tick } = await setup(t, 2);
  const [a, b] = nodes;
  b.broadcast.connected = false; // b hears nothing any more (its pings still go out)
  let done = false;
  const pending = a.fanout.invalidate([9]).then(() => (done = true));
  await tick(FENCE_MS + FENCE_CHECK_MS + 20);
  assert.equal(b.hub.fenced, true, 'b cut its watchers off: it no longer hears its own heartbeats');
  assert.deepEqual(b.hub.invalidated, [], 'b never got the invalidation');
  assert.equal(done, false, 'a still waits: the watchers of b may hold leases until they run out');
  await tick(BOUND_MS - (FENCE_MS + FENCE_CHECK_MS + 20) + 20);
  assert.equal(done, true, 'a answers once no cache fed by b can still answer');
  await pending;
});

test('fan-out: a fresh instance looks at its fence when it hears itself and when freshness would end, not every few ms', async (t) => {
  const { nodes, tick } = await setup(t, 1);
  const [a] = nodes;
  const before = a.hub.fences;
  await tick(2000);
  const looks = a.hub.fences - before;
  // Ten heartbeats heard back, and a timer that finds each time that one came back meanwhile: about 12,
  // where a check every FENCE_CHECK_MS would make 40.
  assert.ok(looks >= 10 && looks <= 14, `${looks} looks in 2 s`);
  assert.equal(a.hub.fenced, false);
  a.broadcast.connected = false;
  await tick(FENCE_MS + 20);
  assert.equal(a.hub.fenced, true, 'fenced when freshness ends');
});

test('fan-out: a broken subscription fences at once; hearing itself again lifts the fence', async (t) => {
  const { nodes, tick } = await setup(t, 1);
  const [a] = nodes;
  assert.equal(a.hub.fenced, false);
  a.broadcast.gap();
  assert.equal(a.hub.fenced, true, 'messages may have been lost: watchers are cut at once');
  await tick(300);
  assert.equal(a.hub.fenced, false, 'its own heartbeat came back');
  // Alone, an invalidation answers as soon as its own message comes back.
  await a.fanout.invalidate([1]);
  assert.deepEqual(a.hub.invalidated, [[1]]);
});

test('fan-out: a publish that fails does not fail the invalidation: local watchers are emptied first, the others heal later', async (t) => {
  const { nodes, tick } = await setup(t, 2);
  const [a, b] = nodes;
  // 1. a's topic refuses invalidations (as a Redis unreachable from a would), heartbeats still pass.
  const publish = a.broadcast.publish.bind(a.broadcast);
  a.broadcast.publish = async (message: string) => {
    if ((JSON.parse(message) as { t?: unknown }).t === 'inv') throw new Error('publish refused');
    return publish(message);
  };
  a.hub.hold = true;
  let done = false;
  const pending = a.fanout.invalidate([5, 6]).then((told) => {
    done = true;
    return told;
  });
  await tick(20);
  // 2. It waits for its own watchers all the same…
  assert.deepEqual(a.hub.invalidated, [[5, 6]]);
  assert.equal(done, false, 'the local watchers have not dropped the keys yet');
  a.hub.release();
  await tick(20);
  // 3. …then resolves, though b never heard of the keys (its caches heal on their next touch).
  assert.equal(done, true);
  assert.equal(await pending, false, 'answered as not told to the others');
  assert.deepEqual(b.hub.invalidated, []);
});
