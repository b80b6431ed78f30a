/**
 * GET /v1/channels/{name}/messages/stream in process, with a hand-made bus (Messages.Last and
 * Retrieve over an array) and a hand-made feed: each client gets every id once and in order even
 * when the feed hands them out of order or skips one, the session is checked at connect and at
 * each heartbeat, and without a feed the route answers 503.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BusCaller } from '../../gateway/app';
import { AgoraError } from '../../lib/errors';
import type { FeedListener } from '../../lib/messages-feed';
import { createLogger } from '../../lib/log';
import { openSse } from '../helpers/sse';

const KEY = 4503599627370497;
const CONFIG = { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 1000, sseHeartbeatMs: 200 };

interface Msg {
  messageid: number;
  username: string;
  message: string;
  last_modified: number;
}

/** Messages over an array, the session good while `live.ok`, the channel readable unless `live.readable` is false. */
function fakeBus(stored: Msg[], live: { ok: boolean; readable?: boolean }): BusCaller {
  return {
    call: async (service, method, params) => {
      const p = params[0] as { sesskey: number; channel: string; first?: number; last?: number };
      if (!live.ok || p.sesskey !== KEY) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
      if (p.channel !== 'general' || live.readable === false)
        throw new AgoraError('AGORA_ERR_CHANNEL_NOT_FOUND', [JSON.stringify(p.channel)]);
      if (method === 'Last') return { messageid: stored.length === 0 ? 0 : stored[stored.length - 1].messageid };
      if (method === 'Retrieve')
        return { messages: stored.filter((m) => m.messageid >= p.first! && m.messageid <= p.last!) };
      throw new Error(`unexpected ${service}.${method}`);
    },
  };
}

async function serve(t: TestContext, bus: BusCaller, feeds?: { listeners: FeedListener[] }): Promise<string> {
  const app: FastifyInstance = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: CONFIG,
    build: { name: 'agora', version: '0', commit: 'unknown', source: null },
    feeds:
      feeds === undefined
        ? undefined
        : {
            listen: async (_channel, listener) => {
              feeds.listeners.push(listener);
              return () => feeds.listeners.splice(feeds.listeners.indexOf(listener), 1);
            },
          },
  });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

const msg = (id: number): Msg => ({
  messageid: id,
  username: 'ann',
  message: `m${id}`,
  last_modified: 1_796_481_183_300 + id,
});

test('a client gets every id once, in order: gaps are fetched, late and repeated ids dropped', async (t) => {
  const stored = [msg(1), msg(2)];
  const feeds = { listeners: [] as FeedListener[] };
  const base = await serve(t, fakeBus(stored, { ok: true }), feeds);
  const s = await openSse(`${base}/v1/channels/general/messages/stream`, { authorization: `Bearer ${KEY}` });
  t.after(() => s.close());
  assert.equal(s.status, 200);
  assert.equal(feeds.listeners.length, 1);
  const [feed] = feeds.listeners;
  stored.push(msg(3), msg(4));
  feed.message(msg(4)); // 3 not handed yet: fetched first
  feed.message(msg(3)); // late: already sent
  feed.message(msg(4)); // twice
  stored.push(msg(5));
  feed.message(msg(5));
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await s.next()).id);
  assert.deepEqual(ids, ['3', '4', '5']);
  // Missed altogether (a broken topic): the heartbeat's check fetches it.
  stored.push(msg(6));
  const sixth = await s.next(2000);
  assert.equal(sixth.id, '6');
  assert.deepEqual(JSON.parse(sixth.data), msg(6), 'with its last_modified');
  // Announced without its stamp (an older Messages instance): fetched, so the event has it.
  stored.push(msg(7));
  feed.message({ ...msg(7), last_modified: 0 });
  assert.deepEqual(JSON.parse((await s.next()).data), msg(7));
  s.close();
  await s.ended;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(feeds.listeners.length, 0, 'the client left its feed');
});

test('Last-Event-ID replays after the id; a session gone at a heartbeat ends the stream with its 401 body', async (t) => {
  const stored = [msg(1), msg(2), msg(3)];
  const live = { ok: true };
  const base = await serve(t, fakeBus(stored, live), { listeners: [] });
  const s = await openSse(`${base}/v1/channels/general/messages/stream`, {
    authorization: `Bearer ${KEY}`,
    'last-event-id': '1',
  });
  assert.deepEqual([(await s.next()).id, (await s.next()).id], ['2', '3']);
  live.ok = false;
  const end = await s.next(2000);
  assert.equal(end.event, 'end');
  assert.deepEqual(
    { code: (JSON.parse(end.data) as { code: number }).code, errno: (JSON.parse(end.data) as { errno: number }).errno },
    { code: 401, errno: 105 },
  );
  await s.ended;
});

test('a channel no longer readable at a heartbeat (its permissions changed) ends the stream with its 404 body', async (t) => {
  const live = { ok: true, readable: true };
  const feeds = { listeners: [] as FeedListener[] };
  const base = await serve(t, fakeBus([msg(1)], live), feeds);
  const s = await openSse(`${base}/v1/channels/general/messages/stream`, { authorization: `Bearer ${KEY}` });
  assert.equal(s.status, 200);
  live.readable = false;
  const end = await s.next(2000);
  assert.equal(end.event, 'end');
  const body = JSON.parse(end.data) as { code: number; errno: number };
  assert.deepEqual([body.code, body.errno], [404, 111]);
  await s.ended;
});

test('401 without a session or with a dead one, 404 for an unknown channel, 503 without a feed', async (t) => {
  const base = await serve(t, fakeBus([], { ok: true }), { listeners: [] });
  const none = await openSse(`${base}/v1/channels/general/messages/stream`);
  assert.equal(none.status, 401);
  assert.equal((JSON.parse(none.text!) as { errno: number }).errno, 104);
  const bad = await openSse(`${base}/v1/channels/general/messages/stream`, { authorization: 'Bearer 7' });
  assert.equal(bad.status, 401);
  assert.equal((JSON.parse(bad.text!) as { errno: number }).errno, 105);
  const nowhere = await openSse(`${base}/v1/channels/nowhere/messages/stream`, { authorization: `Bearer ${KEY}` });
  assert.equal(nowhere.status, 404);
  const noFeed = await serve(t, fakeBus([], { ok: true }));
  const down = await openSse(`${noFeed}/v1/channels/general/messages/stream`, { authorization: `Bearer ${KEY}` });
  assert.equal(down.status, 503);
  assert.match(String((JSON.parse(down.text!) as { message: string }).message), /Messages/);
});
