/**
 * Storage failures as callers see them (lib/store/postgres-pool.ts, lib/store/outage.ts): an
 * error never names the backend's address, and a write whose connection is cut after it was
 * sent says its outcome is unknown (AGORA_ERR_STORE_OUTCOME_UNKNOWN) — PostgreSQL may well
 * have committed it, as the test then reads. The cut is made by a TCP proxy between the
 * pool and a real PostgreSQL server. A post sent again with its idempotency key after such an
 * outcome is stored once, whether the first attempt was (docs/API-V1.md "Idempotency-Key").
 */
import { publicChannel } from '../../lib/permissions';
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { Client } from 'pg';
import { AgoraError, isAgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { PgDatabase } from '../../lib/store/postgres-pool';
import { RedisConnection } from '../../lib/store/store-redis';
import { PgMessageStore } from '../../lib/store/messages-postgres';
import type { RpcContext } from '../../lib/rpc/service';
import { buildMessagesHandlers } from '../../services/messages/handlers';
import { ALICE, fakeSessions } from '../helpers/sessions';
import { startPostgres, until } from '../helpers/backends';
import { freePort } from '../helpers/proc';
import type { Appended } from '../../lib/store/contracts';

/** The id of the message an append answered. */
const idOf = async (p: Promise<Appended>): Promise<number> => (await p).messageid;

const log = createLogger('test', 'silent');

async function failure(promise: Promise<unknown>): Promise<AgoraError> {
  const e = await promise.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(isAgoraError(e), `an AgoraError, got ${String(e)}`);
  return e;
}

function database(t: TestContext, url: string, poolMax = 1): PgDatabase {
  const db = new PgDatabase({ url, poolMax, timeoutMs: 5000, log });
  t.after(() => db.close());
  return db;
}

/** A TCP proxy to `port` whose connections `cut()` destroys at once. */
async function proxy(t: TestContext, port: number): Promise<{ port: number; cut(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

test('a backend that cannot be reached: AGORA_ERR_STORE_UNAVAILABLE, naming neither its address nor its port', async (t) => {
  const port = await freePort();
  for (const [url, reason] of [
    [`postgres://agora:secret@127.0.0.1:${port}/agora`, 'connection refused'],
    ['postgres://agora:secret@db.internal.invalid:5432/agora', 'host not found'],
  ]) {
    const e = await failure(database(t, url).query('SELECT 1'));
    assert.equal(e.code, 'AGORA_ERR_STORE_UNAVAILABLE');
    assert.equal(e.message, `The PostgreSQL backend is unavailable: ${reason}`);
  }
  const redis = new RedisConnection({ url: `redis://127.0.0.1:${port}/0`, prefix: 't:', timeoutMs: 500, log });
  t.after(() => redis.close());
  const e = await failure(redis.script('return 1', [], []));
  assert.equal(e.code, 'AGORA_ERR_STORE_UNAVAILABLE');
  assert.doesNotMatch(e.message, new RegExp(`127\\.0\\.0\\.1|${port}`));
  assert.match(e.message, /^The Redis backend is unavailable: [a-z ]+$/);
});

test('a write cut off after it was sent: AGORA_ERR_STORE_OUTCOME_UNKNOWN, and it was in fact stored; a read cut off: AGORA_ERR_STORE_UNAVAILABLE', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const url = await pg.newDatabase();
  const direct = database(t, url, 2);
  await direct.migrate();
  const cutter = await proxy(t, pg.port);
  const proxied = database(t, url.replace(`:${pg.port}/`, `:${cutter.port}/`));
  const messages = new PgMessageStore(proxied);
  assert.equal(await idOf(messages.append('c', 'ann', 'first', 100)), 1);

  // 1. Another session holds the channel's counter row: the next append is sent and waits on it.
  const locker = new Client({ connectionString: url });
  locker.on('error', () => undefined); // the server stops before it at the end of the test
  await locker.connect();
  t.after(() => locker.end());
  await locker.query('BEGIN');
  await locker.query("UPDATE agora_message_counters SET last_id = last_id WHERE channel = 'c'");
  const append = idOf(messages.append('c', 'ann', 'second', 100));
  await until(
    async () =>
      (
        await direct.query(
          "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%agora_message_counters%'",
        )
      ).length === 1,
    'the append waiting on the row lock',
  );
  // 2. Its connection is cut before any answer.
  cutter.cut();
  const e = await failure(append);
  assert.equal(e.code, 'AGORA_ERR_STORE_OUTCOME_UNKNOWN');
  assert.equal(e.status, 503);
  assert.doesNotMatch(e.message, /127\.0\.0\.1|terminated/);
  // 3. The server carried on once the lock was released: the message the caller could not confirm is there.
  await locker.query('COMMIT');
  await until(async () => (await idOf(new PgMessageStore(direct).last('c'))) === 2, 'the cut-off append committed');
  assert.deepEqual(
    (await new PgMessageStore(direct).range('c', 2, 2)).map((m) => m.message),
    ['second'],
  );

  // 4. A read cut off the same way changed nothing: the backend is just unavailable.
  const read = proxied.query('SELECT 1 FROM pg_sleep(30)');
  await until(
    async () =>
      (await direct.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT 1 FROM pg_sleep%'")).length === 1,
    'the read running',
  );
  cutter.cut();
  const r = await failure(read);
  assert.equal(r.code, 'AGORA_ERR_STORE_UNAVAILABLE');
  assert.equal(r.message, 'The PostgreSQL backend is unavailable: connection lost');
  // 5. The pool connects again by itself.
  assert.equal(await idOf(messages.last('c')), 2);
});

test('a post with an Idempotency-Key whose outcome is unknown, sent again with its key: one message, the same answer, stored or not', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const url = await pg.newDatabase();
  const direct = database(t, url, 2);
  await direct.migrate();
  const cutter = await proxy(t, pg.port);
  // Messages as it serves Post, over the store through the proxy (pool of 2: the retry needs a connection).
  const messages = buildMessagesHandlers({
    store: new PgMessageStore(database(t, url.replace(`:${pg.port}/`, `:${cutter.port}/`), 2)),
    sessions: fakeSessions(),
    channelAccess: async () => publicChannel('alice'),
    retain: 100,
    maxBytes: 4096,
    keyTtlMs: 60_000,
  });
  const ctx: RpcContext = { service: 'Messages', method: 'Post', log };
  const post = (message: string, key: string) =>
    Promise.resolve(
      messages.Post(
        {
          sesskey: ALICE,
          channel: 'c',
          message,
          check_last: false,
          expected_last: 0,
          check_last_modified: false,
          expected_last_modified: 0,
          idempotency_key: key,
        },
        ctx,
      ),
    ).then(({ messageid }) => ({ messageid })); // the ids are what this test follows
  const texts = async () => (await new PgMessageStore(direct).range('c', 1, 100)).map((m) => m.message);
  assert.deepEqual(await post('first', 'k-0'), { messageid: 1 });

  const locker = new Client({ connectionString: url });
  locker.on('error', () => undefined);
  await locker.connect();
  t.after(() => locker.end());
  /** A post of `message` with `key` sent, held on the channel's counter row, its connection then cut. */
  const unknownOutcome = async (message: string, key: string): Promise<number> => {
    await locker.query('BEGIN');
    await locker.query("UPDATE agora_message_counters SET last_id = last_id WHERE channel = 'c'");
    const first = post(message, key);
    let waiting: Array<{ pid: number }> = [];
    await until(async () => {
      waiting = await direct.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%agora_message_counters%'",
      );
      return waiting.length === 1;
    }, 'the post waiting on the row lock');
    cutter.cut();
    const e = await failure(first);
    assert.equal(e.code, 'AGORA_ERR_STORE_OUTCOME_UNKNOWN');
    return waiting[0].pid;
  };

  // 1. The first attempt was stored: the retry, sent while it still waits to commit, waits for its key
  //    and answers its id.
  await unknownOutcome('second', 'k-1');
  const retry = post('second', 'k-1');
  await locker.query('COMMIT');
  assert.deepEqual(await retry, { messageid: 2 }, 'the id the first attempt was given');
  assert.deepEqual(await texts(), ['first', 'second'], 'posted once');
  assert.deepEqual(await post('second', 'k-1'), { messageid: 2 });

  // 2. The first attempt was not stored (its server process ended before it committed): the retry posts it.
  const pid = await unknownOutcome('third', 'k-2');
  await direct.query('SELECT pg_terminate_backend($1)', [pid]);
  await locker.query('COMMIT');
  assert.deepEqual(await texts(), ['first', 'second'], 'the first attempt left nothing');
  assert.deepEqual(await post('third', 'k-2'), { messageid: 3 });
  assert.deepEqual(await post('third', 'k-2'), { messageid: 3 });
  assert.deepEqual(await texts(), ['first', 'second', 'third'], 'posted once');
  const [keys] = await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM agora_message_keys');
  assert.equal(keys.n, 3, 'one key per post');
});
