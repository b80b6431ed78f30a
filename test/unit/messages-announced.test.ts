/**
 * Posts that the store announces itself (lib/store/contracts.ts `announceHead`, lib/store/messages-postgres.ts
 * with a topic): the heads it completes, the call that carries them, and the Post handler leaving such a
 * post unannounced (services/messages/handlers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { publicChannel } from '../../lib/permissions';
import type { RpcContext } from '../../lib/rpc/service';
import {
  announceHead,
  completeAnnounce,
  decodeAnnounce,
  MAX_TOPIC_BYTES,
  type Appended,
  type MessageStore,
} from '../../lib/store/contracts';
import { PgMessageStore } from '../../lib/store/messages-postgres';
import type { PgDatabase } from '../../lib/store/postgres-pool';
import { MemoryMessageStore } from '../../lib/store/store-memory';
import { buildMessagesHandlers } from '../../services/messages/handlers';
import { postRequest } from '../helpers/messages';
import { fakeSessions } from '../helpers/sessions';

const log = createLogger('test', 'silent');
const ctx: RpcContext = { service: 'Messages', method: 'test', log };

test('a head completed with the id and stamp decodes to the announce; a long text is left out', () => {
  const head = announceHead('general', 'ann', 'hi "there" \u0000 😀');
  assert.ok(head !== undefined);
  assert.deepEqual(decodeAnnounce(completeAnnounce(head, 7, 1796481183306)), {
    c: 'general',
    u: 'ann',
    m: 'hi "there" \u0000 😀',
    i: 7,
    t: 1796481183306,
  });
  const long = announceHead('general', 'ann', 'é'.repeat(3500));
  assert.ok(long !== undefined);
  const text = completeAnnounce(long, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(decodeAnnounce(text), { c: 'general', i: Number.MAX_SAFE_INTEGER, t: Number.MAX_SAFE_INTEGER });
  const fits = announceHead('general', 'ann', 'é'.repeat(2000));
  assert.ok(fits !== undefined);
  const full = completeAnnounce(fits, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  assert.equal(decodeAnnounce(full)?.m, 'é'.repeat(2000), '2000 × 2 bytes fit');
  assert.ok(Buffer.byteLength(full) <= MAX_TOPIC_BYTES);
  assert.equal(announceHead('x'.repeat(8000), 'ann', 'hi'), undefined, 'no NOTIFY payload holds it');
});

test('with a topic, a call without keys carries the topic and a head per append, and answers them announced', async () => {
  const calls: Array<{ sql: string; params: unknown[]; name?: string }> = [];
  const query = (sql: string, params: unknown[], name?: string): Promise<unknown[]> => {
    calls.push({ sql, params, name });
    const n = (params[0] as string[]).length;
    const ids = Array.from({ length: n }, (_, i) => String(i + 1));
    return Promise.resolve(
      sql.includes('agora_append_messages_answered')
        ? ids.map((id) => ({ out_ord: id, out_id: id, out_stamp: '5000' }))
        : [{ out_ids: ids, out_stamps: ids.map(() => '5000') }],
    );
  };
  const store = new PgMessageStore({ query } as unknown as PgDatabase, 'agora_messages');
  assert.deepEqual(await store.append('a', 'ann', 'hi', 100), { messageid: 1, lastModified: 5000, announced: true });
  assert.match(calls[0].sql, /pg_notify\(\$5/);
  assert.equal(calls[0].name, 'agora_append_announced', 'a prepared statement');
  assert.equal(calls[0].params[4], 'agora_messages');
  assert.deepEqual(calls[0].params[5], [announceHead('a', 'ann', 'hi')]);
  const keyed = await store.append('a', 'ann', 'hi', 100, { key: 'k', now: 1, ttlMs: 10 });
  assert.deepEqual(keyed, { messageid: 1, lastModified: 5000 }, 'a call with a key is not announced');
  assert.doesNotMatch(calls[1].sql, /pg_notify/);
  assert.equal(calls[1].name, 'agora_append_keyed');
  const quiet = new PgMessageStore({ query } as unknown as PgDatabase);
  assert.deepEqual(await quiet.append('a', 'ann', 'hi', 100), { messageid: 1, lastModified: 5000 });
  assert.doesNotMatch(calls[2].sql, /pg_notify/);
  assert.equal(calls[2].name, 'agora_append_unkeyed');
});

test('Post leaves a post the store announced to it, and announces the others', async () => {
  const announced: string[] = [];
  const memory = new MemoryMessageStore();
  let storeAnnounces = true;
  const store: MessageStore = Object.assign(Object.create(memory) as MessageStore, {
    append: async (...args: Parameters<MessageStore['append']>): Promise<Appended> => {
      const appended = await memory.append(...args);
      return storeAnnounces ? { ...appended, announced: true } : appended;
    },
  });
  const h = buildMessagesHandlers({
    store,
    sessions: fakeSessions(),
    channelAccess: () => Promise.resolve(publicChannel('ann')),
    retain: 100,
    maxBytes: 4096,
    keyTtlMs: 60_000,
    onPosted: (channel, m) => void announced.push(`${channel}/${m.messageid}`),
  });
  const post = (message: string) => Promise.resolve(h.Post(postRequest(message), ctx));
  const first = await post('by the store');
  assert.equal(Number(first.messageid), 1);
  assert.deepEqual(announced, [], 'announced by the store: not again');
  storeAnnounces = false;
  await post('by the handler');
  assert.deepEqual(announced, ['general/2']);
});
