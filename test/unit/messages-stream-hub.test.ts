/**
 * Messages' stream hub on a topic shared with other instances (services/messages/stream.ts): the topic
 * is heard only while streams are open, a stream's hello comes once it is heard (so a follower that
 * catches up after its hello misses nothing), the subscription is left `lingerMs` after the last
 * stream and made again for the next, and a topic that cannot be heard refuses the stream with
 * UNAVAILABLE instead of leaving it silent.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { within } from '../../lib/deadline';
import { GRPC } from '../../lib/errors';
import type { StreamEvent } from '../../lib/gen/agora/StreamEvent';
import { createLogger } from '../../lib/log';
import { encodeAnnounce, type StoredMessage } from '../../lib/store/contracts';
import { MemoryTopic } from '../../lib/store/routes-memory';
import { MessageStreamHub, type StreamCall } from '../../services/messages/stream';

const log = createLogger('test', 'silent');

/** The in-process topic, counting subscriptions; `gate` holds a subscription until it resolves, `refuse` fails it. */
class CountedTopic extends MemoryTopic {
  subscribed = 0;
  closed = 0;
  gate: Promise<void> = Promise.resolve();
  refuse: Error | undefined;

  override async subscribe(handlers: Parameters<MemoryTopic['subscribe']>[0]): Promise<void> {
    this.subscribed++;
    await this.gate;
    if (this.refuse !== undefined) throw this.refuse;
    await super.subscribe(handlers);
  }

  override async close(): Promise<void> {
    this.closed++;
    await super.close();
  }
}

/** A gRPC server stream as the hub uses it: what it writes is kept in `events`. */
class Call extends EventEmitter {
  readonly events: StreamEvent[] = [];
  readonly writableLength = 0;
  ended = false;
  constructor(readonly request: { channel: string }) {
    super();
  }
  write(event: StreamEvent): boolean {
    this.events.push(event);
    this.emit('event');
    return true;
  }
  end(): void {
    this.ended = true;
  }
  getPeer(): string {
    return 'test';
  }
}

const open = (hub: MessageStreamHub, channel: string): Call => {
  const call = new Call({ channel });
  hub.attach(call as unknown as StreamCall);
  return call;
};

/** Wait until `call` has been written `count` events (2 s at most). */
async function nextEvent(call: Call, count: number): Promise<void> {
  const written = async (): Promise<void> => {
    while (call.events.length < count) await once(call, 'event');
  };
  await within(written(), 2000, () => new Error(`${call.events.length} events written, ${count} awaited`));
}

/** Wait until `done()` holds, looking at each turn of the event loop (2 s at most). */
async function until(done: () => boolean, what: string): Promise<void> {
  const reached = async (): Promise<void> => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  await within(reached(), 2000, () => new Error(`never: ${what}`));
}

const stored = (id: number): StoredMessage => ({
  messageid: id,
  username: 'ann',
  message: `m${id}`,
  lastModified: 1000 + id,
});

test('the topic is heard from the first stream on, and the hello comes only once it is', async () => {
  const topic = new CountedTopic();
  const hub = new MessageStreamHub(topic, log, 60_000);
  assert.equal(topic.subscribed, 0, 'no stream, no subscription');
  let release!: () => void;
  topic.gate = new Promise((resolve) => (release = resolve));
  const a = open(hub, 'general');
  const b = open(hub, 'general');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(topic.subscribed, 1, 'one subscription for both streams');
  assert.equal(hub.size, 2);
  // Announced before the topic is heard: not written (the follower fetches it after its hello).
  topic.deliver(encodeAnnounce('general', stored(1)));
  assert.deepEqual(a.events, [], 'nothing before the hello');
  release();
  await nextEvent(a, 1);
  await nextEvent(b, 1);
  assert.deepEqual(a.events, [{ hello: true }]);
  hub.announce('general', stored(2));
  hub.announce('other', stored(1));
  await nextEvent(a, 2);
  await nextEvent(b, 2);
  assert.equal((a.events[1] as StreamEvent).message?.messageid, 2);
  assert.equal(a.events.length, 2, 'another channel is not written to this one');
  hub.close();
  assert.ok(a.ended && b.ended);
  assert.equal(hub.size, 0);
});

test('the subscription is left after the last stream, and made again for the next', async () => {
  const topic = new CountedTopic();
  const hub = new MessageStreamHub(topic, log, 20);
  const a = open(hub, 'general');
  await nextEvent(a, 1);
  a.emit('cancelled');
  assert.equal(hub.size, 0);
  assert.ok(hub.hears, 'still heard while the linger lasts');
  // A stream within the linger keeps the subscription.
  const b = open(hub, 'general');
  await nextEvent(b, 1);
  assert.equal(topic.subscribed, 1);
  b.emit('close');
  await until(() => !hub.hears && topic.closed === 1, 'the topic left after the linger');
  // Announces of the old subscription reach no one; a new stream subscribes again and is written to.
  const c = open(hub, 'general');
  await nextEvent(c, 1);
  assert.equal(topic.subscribed, 2);
  hub.announce('general', stored(3));
  await nextEvent(c, 2);
  assert.equal(c.events[1].message?.messageid, 3);
  hub.close();
});

test('a topic that cannot be heard refuses the stream with UNAVAILABLE, and the next stream tries again', async () => {
  const topic = new CountedTopic();
  topic.refuse = new Error('connection refused');
  const hub = new MessageStreamHub(topic, log, 60_000);
  const a = new Call({ channel: 'general' });
  const refused = once(a, 'error');
  hub.attach(a as unknown as StreamCall);
  const [err] = (await refused) as [{ code: number; details: string }];
  assert.equal(err.code, GRPC.UNAVAILABLE);
  assert.match(err.details, /connection refused/);
  assert.equal(hub.size, 0);
  topic.refuse = undefined;
  const b = open(hub, 'general');
  await nextEvent(b, 1);
  assert.deepEqual(b.events, [{ hello: true }]);
  assert.equal(topic.subscribed, 2);
  hub.close();
});

test('in memory (no topic) the hello is at once and announces stay in the process', async () => {
  const hub = new MessageStreamHub(undefined, log);
  const a = open(hub, 'general');
  assert.deepEqual(a.events, [{ hello: true }]);
  hub.announce('general', stored(1));
  await nextEvent(a, 2);
  assert.equal((a.events[1] as StreamEvent).message?.messageid, 1);
  hub.close();
});
