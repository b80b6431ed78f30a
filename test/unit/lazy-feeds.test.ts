/** gateway/lazy-feeds.ts: the message feeds are made at the first stream, once, and closed if made. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LazyFeeds } from '../../gateway/lazy-feeds';
import type { FeedListener, MessageFeeds } from '../../lib/messages-feed';

const listener: FeedListener = { message: () => undefined, catchUp: () => undefined };

/** A stand-in for MessageFeeds that counts what it is asked. */
function fake(): { feeds: MessageFeeds; listened: string[]; closed: number } {
  const state = { listened: [] as string[], closed: 0 };
  const feeds = {
    listen: async (channel: string) => {
      state.listened.push(channel);
      return () => undefined;
    },
    close: () => {
      state.closed++;
    },
  } as unknown as MessageFeeds;
  return Object.assign(state, { feeds });
}

test('the feeds are made at the first listen, once, however many listen at once', async () => {
  const f = fake();
  let made = 0;
  const lazy = new LazyFeeds(async () => {
    made++;
    return f.feeds;
  });
  assert.equal(lazy.made, false);
  assert.equal(made, 0);
  await Promise.all([lazy.listen('a', listener), lazy.listen('b', listener)]);
  await lazy.listen('a', listener);
  assert.equal(made, 1);
  assert.deepEqual(f.listened, ['a', 'b', 'a']);
  lazy.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(f.closed, 1);
});

test('closed before any stream, nothing is made', async () => {
  let made = 0;
  const lazy = new LazyFeeds(async () => {
    made++;
    return fake().feeds;
  });
  lazy.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(made, 0);
  assert.equal(lazy.made, false);
});

test('a failure to make the feeds fails the listen that asked', async () => {
  const lazy = new LazyFeeds(() => Promise.reject(new Error('no proto')));
  await assert.rejects(lazy.listen('a', listener), /no proto/);
  lazy.close();
});
