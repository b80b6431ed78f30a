/**
 * Nothing lost, with PostgreSQL holding everything (sessions included, and the auth
 * instances' invalidations going over LISTEN/NOTIFY):
 * 1. 1,000 posts from 8 concurrent clients through two messages instances, one of which is
 *    SIGKILLed in the middle; then every process and PostgreSQL itself are restarted, and
 *    every acknowledged message is there, once, under gap-free ids, with its text;
 * 2. PostgreSQL restarted under load: calls fail cleanly (an answer, status false) while it
 *    is down and succeed again after, without restarting any service.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPostgres, until, type Postgres } from '../helpers/backends';
import { legacy, logon, startScaledMesh, type ScaledMesh } from '../helpers/scaled-mesh';

const CLIENTS = 8;
const PER_CLIENT = 125;

/** The gateway's /__heartbeat__ map (503 when a check fails). */
async function heartbeat(base: string): Promise<Record<string, boolean>> {
  const res = await fetch(`${base}/__heartbeat__`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as Record<string, boolean>;
}

test('nothing acknowledged is lost: SIGKILL of a messages instance, restart of everything, PostgreSQL restarted under load', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  // Short heartbeats: the broker drops the killed worker soon, so the test stays short.
  const env = {
    AGORA_DATABASE_URL: await pg.newDatabase(),
    AGORA_MESSAGES_RETAINED: '2000',
    AGORA_HEARTBEAT_MS: '1000',
  };
  let mesh: ScaledMesh | undefined = await startScaledMesh(2, env);
  t.after(() => mesh?.stop());
  const keys: number[] = [];
  for (let i = 0; i < CLIENTS; i++) keys.push(await logon(mesh.base, `poster${i}`));
  assert.equal((await legacy(mesh.base, '/create', { sesskey: keys[0], channel: 'log' })).status, true);

  // 1. Post; SIGKILL messages.1 once 300 posts are acknowledged.
  const acked = await postThroughKill(mesh, keys);

  // 2. Restart everything, PostgreSQL included.
  await mesh.stop();
  mesh = undefined;
  await pg.stop();
  await pg.restart();
  mesh = await startScaledMesh(2, env);
  await assertAllStored(mesh.base, keys, acked);

  // 3. PostgreSQL down under load: every call answers (status false) promptly; back up: calls succeed, same processes.
  await outageUnderLoad(pg, mesh, keys);
});

/** Every client posts PER_CLIENT messages; messages.1 is SIGKILLed on the way. Answers the acknowledged texts. */
async function postThroughKill(mesh: ScaledMesh, keys: number[]): Promise<string[]> {
  const acked: string[] = [];
  let killed: Promise<unknown> | undefined;
  const victim = mesh.messages[0];
  const client = async (c: number): Promise<void> => {
    for (let j = 0; j < PER_CLIENT; j++) {
      const text = `c${c}-${j}`;
      const answer = await legacy(mesh.base, '/post', { sesskey: keys[c], channel: 'log', message: text }).catch(
        () => ({ status: false }),
      );
      if (answer.status) acked.push(text);
      if (acked.length >= 300 && killed === undefined) killed = victim.stop('SIGKILL');
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  assert.equal(await killed, 'SIGKILL', 'the messages instance was killed during the run');
  assert.ok(acked.length >= 900, `most posts are acknowledged (${acked.length})`);
  return acked;
}

/** Every acknowledged message is stored, once, under gap-free ids, with its text and poster. */
async function assertAllStored(base: string, keys: number[], acked: string[]): Promise<void> {
  // The session made before the restarts still works: sessions are in PostgreSQL too.
  const got = await legacy(base, '/retrieve', { sesskey: keys[0], channel: 'log', first: 1, last: 5000 });
  assert.equal(got.status, true, JSON.stringify(got));
  const stored = got.data as Array<{ messageid: number; username: string; message: string }>;
  assert.deepEqual(
    stored.map((m) => m.messageid),
    Array.from({ length: stored.length }, (_, i) => i + 1),
    'ids are gap-free from 1',
  );
  const texts = stored.map((m) => m.message);
  assert.equal(new Set(texts).size, texts.length, 'no message is stored twice');
  const kept = new Set(texts);
  const lost = acked.filter((text) => !kept.has(text));
  assert.deepEqual(lost, [], 'every acknowledged message is stored');
  for (const m of stored) assert.equal(m.username, `poster${m.message.slice(1, m.message.indexOf('-'))}`);
  const last = await legacy(base, '/lastmessage', { sesskey: keys[0], channel: 'log' });
  assert.equal(last.data, stored.length);
}

/** PostgreSQL stopped while four clients post, then started again: clean failures, then success, same processes. */
async function outageUnderLoad(pg: Postgres, mesh: ScaledMesh, keys: number[]): Promise<void> {
  const base = mesh.base;
  const pids = mesh.all().map((p) => p.child.pid);
  let stop = false;
  const outcomes: Array<{ ok: boolean; during: boolean }> = [];
  let down = false;
  const load = async (c: number): Promise<void> => {
    for (let j = 0; !stop; j++) {
      const answer = await legacy(base, '/post', { sesskey: keys[c], channel: 'log', message: `load ${c}-${j}` });
      outcomes.push({ ok: answer.status, during: down });
      if (!answer.status) assert.equal(typeof answer.data, 'string', 'a failure carries its reason');
    }
  };
  const loaders = Array.from({ length: 4 }, (_, c) => load(c));
  await until(async () => outcomes.filter((o) => o.ok).length >= 20, 'posts before the outage');
  await pg.stop();
  down = true;
  await until(async () => outcomes.filter((o) => o.during && !o.ok).length >= 4, 'posts refused during the outage');
  await until(
    async () => (await heartbeat(base))['Messages.postgres'] === false,
    '/__heartbeat__ to name the database as failing',
  );
  await pg.restart();
  down = false;
  const before = outcomes.length;
  await until(
    async () => outcomes.slice(before).filter((o) => o.ok).length >= 20,
    'posts accepted again after the outage',
    30_000,
  );
  await until(
    async () => (await heartbeat(base))['Messages.postgres'] === true,
    '/__heartbeat__ to find the database again',
  );
  stop = true;
  await Promise.all(loaders);
  assert.deepEqual(
    mesh.all().map((p) => p.child.pid),
    pids,
  );
  assert.ok(
    mesh.all().every((p) => p.child.exitCode === null && p.child.signalCode === null),
    'no process died',
  );
  const after = await legacy(base, '/retrieve', { sesskey: keys[0], channel: 'log', first: 1, last: 1_000_000 });
  const ids = (after.data as Array<{ messageid: number }>).map((m) => m.messageid);
  assert.deepEqual(
    ids,
    Array.from({ length: ids.length }, (_, i) => i + 1),
    'ids stay gap-free across the outage',
  );
}
