/**
 * The topics of a process on one PostgreSQL database listen on one connection
 * (lib/store/postgres-broadcast.ts `PgListener`, docs/STORAGE.md "PostgreSQL"): each hears only its
 * own channel, all of them report a gap when that connection breaks and hear again once the server is
 * back, a topic closed stops hearing while the others go on, and the connection ends with the last.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { createLogger } from '../../lib/log';
import { PgBroadcast } from '../../lib/store/postgres-broadcast';
import { PgDatabase } from '../../lib/store/postgres-pool';
import { startPostgres, until } from '../helpers/backends';

const log = createLogger('test', 'silent');

/** The connections of the database whose last statement was a LISTEN or UNLISTEN (what a listener runs first). */
async function listeners(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND (query LIKE 'LISTEN %' OR query LIKE 'UNLISTEN %')`,
    );
    return rows[0].n;
  } finally {
    await c.end();
  }
}

test('the topics of a process listen on one connection, report a gap together, and hear again', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const url = await pg.newDatabase();
  const db = new PgDatabase({ url, poolMax: 2, timeoutMs: 2000, log });
  t.after(() => db.close());
  const names = ['agora_one', 'agora_two', 'agora_three'];
  const topics = names.map((name) => new PgBroadcast(db, name));
  const heard = names.map(() => [] as string[]);
  const gaps = names.map(() => 0);
  try {
    for (const [i, topic] of topics.entries())
      await topic.subscribe({ onMessage: (m) => heard[i].push(m), onGap: () => gaps[i]++ });
    assert.equal(await listeners(url), 1, 'one listening connection for three topics');
    // Published at once on the one connection: its statements take turns (pg warns when they do not).
    const warnings: string[] = [];
    const warned = (w: Error): number => warnings.push(w.message);
    process.on('warning', warned);
    await Promise.all(topics.map((topic, i) => topic.publish(`to ${names[i]}`)));
    await until(async () => heard.every((h) => h.length === 1), 'each topic to hear its message');
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', warned);
    assert.deepEqual(
      warnings.filter((w) => w.includes('already executing a query')),
      [],
    );
    assert.deepEqual(
      heard,
      names.map((n) => [`to ${n}`]),
      'each hears only its own channel',
    );

    await pg.stop();
    await until(async () => gaps.every((g) => g === 1), 'every topic to report the gap');
    await pg.restart();
    await until(
      async () => {
        await Promise.all(topics.map((topic) => topic.publish('again').catch(() => undefined)));
        return heard.every((h) => h.includes('again'));
      },
      'every topic to hear again after the restart',
      30_000,
      200,
    );

    await topics[0].close();
    const before = heard.map((h) => h.length);
    await topics[0].publish('after close');
    await topics[1].publish('still here');
    await until(async () => heard[1].at(-1) === 'still here', 'the topics left to hear on');
    assert.equal(heard[0].length, before[0], 'a closed topic hears nothing more');
    await topics[1].close();
    await topics[2].close();
    await until(async () => (await listeners(url)) === 0, 'the connection to end with the last topic');
  } finally {
    await Promise.all(topics.map((topic) => topic.close()));
  }
});
