/**
 * `If-Match` is exact on every /v1 write (docs/API-V1.md "Versions"): through the running
 * mesh, N writers naming one version at once — exactly one writes, every other gets 412
 * errno 114 with the current ETag in `info`, and nothing of theirs is stored. Run on the
 * embedded mesh (memory), then on two instances of every service over PostgreSQL and Redis,
 * where the racers reach different processes and only the store can tell them apart.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startPostgres, startRedis, until } from '../helpers/backends';
import { versionOf as versionOfTag } from '../../lib/etag';
import { startMesh } from '../helpers/mesh';
import { startScaledMesh } from '../helpers/scaled-mesh';
import { assertError, call, logon, type Answer, type Json } from '../helpers/v1';

const RACERS = 10;

/** The number a version ETag names (`"12"` → 12), read as the edge reads an If-Match. */
function versionOf(etag: string | null): number {
  const version = etag === null ? undefined : versionOfTag(etag);
  assert.ok(version !== undefined, `a version ETag: ${etag}`);
  return version;
}

/** `RACERS` calls at once, racer i made by `run(i)`. */
function race(run: (i: number) => Promise<Answer>): Promise<Answer[]> {
  return Promise.all(Array.from({ length: RACERS }, (_, i) => run(i)));
}

/** `RACERS` − 1 times `status`: what every racer but the winner answers. */
function losers(status: number): number[] {
  return Array<number>(RACERS - 1).fill(status);
}

/**
 * Exactly one answer has status `won`; each other is 412 errno 114 naming a current ETag
 * after `version`. Answers the winner.
 */
function oneWinner(answers: Answer[], won: number, version: number, what: string): Answer {
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [won, ...losers(412)].sort(),
    `${what}:\n${answers.map((a) => a.text).join('\n')}`,
  );
  for (const lost of answers.filter((a) => a.status === 412)) {
    const info = String(assertError(lost, 412, 114, `${what}: a racer that lost`).info);
    assert.match(info, /^current ETag: "\d+"$/, what);
    assert.ok(versionOf(info.slice('current ETag: '.length)) > version, `${what}: ${info} is after ${version}`);
  }
  return answers.find((a) => a.status === won)!;
}

/** The races, against a gateway at `base` (every part of the mesh running). */
async function races(t: TestContext, base: string): Promise<void> {
  const ann = await logon(base, 'ann');
  const bob = await logon(base, 'bob');
  const racers: Racers = { base, ann, bob, keyOf: (i) => (i % 2 === 0 ? ann : bob) };
  await t.test('POST /v1/channels with If-Match: the list version; one racer creates, the others create nothing', () =>
    channelCreates(racers),
  );
  await t.test('POST /v1/channels with If-None-Match: *: of racers creating one name, one creates', () =>
    createOnce(racers),
  );
  await t.test(
    "PATCH /v1/channels/{name} with If-Match: the channel's version; one racer changes it, the others get 412",
    () => channelPatches(racers),
  );
  await t.test(
    'PATCH /v1/channels/{name}: ten clients at once each adding a reader (read, then If-Match): all ten present',
    () => channelReaders(racers),
  );
  await t.test('DELETE /v1/sessions/current with If-Match: the session version; stale is 412, one racer logs off', () =>
    logoffs(racers),
  );
  await t.test(
    'POST, PATCH and DELETE /v1/nodes with If-Match: the list version, then the node version; one racer writes, the others nothing',
    () => nodeWrites(racers),
  );
  await t.test(
    "a list with another's shared node: its ETag is its timestamp; If-Match with it creates once; an unsharing moves it",
    () => sharedListWrites(racers),
  );
}

/** The gateway, and the sessions the races act as: ann's, bob's, and racer i's. */
interface Racers {
  base: string;
  ann: number;
  bob: number;
  keyOf: (i: number) => number;
}

async function channelCreates({ base, ann, bob, keyOf }: Racers): Promise<void> {
  const before = await call(base, 'GET', '/v1/channels', { key: ann });
  const version = versionOf(before.headers.get('etag'));
  const answers = await race((i) =>
    call(base, 'POST', '/v1/channels', {
      key: keyOf(i),
      body: { name: `racer-${i}` },
      headers: { 'if-match': `"${version}"` },
    }),
  );
  const won = oneWinner(answers, 201, version, 'channel creates');
  const after = await call(base, 'GET', '/v1/channels', { key: bob });
  const next = Number(won.rec.last_modified);
  assert.ok(next > version, 'the create stamped the list later');
  assert.equal(after.headers.get('etag'), `"${next}"`, "one create: the list's timestamp is its channel's");
  const names = (after.body as { data: Json[] }).data.map((c) => c.name);
  assert.deepEqual(
    names.filter((n) => String(n).startsWith('racer-')),
    [won.rec.name],
  );
  for (const lost of answers.filter((a) => a.status === 412)) {
    const body = assertError(lost, 412, 114, 'loser');
    assert.equal(body.info, `current ETag: "${next}"`);
    assert.deepEqual(body.details, { existing: null }, 'a loser had no channel of its name: nothing existing');
  }
  // A batch sub-request goes through the same route, and the same store check.
  const batch = await call(base, 'POST', '/v1/batch', {
    key: ann,
    body: {
      requests: [
        {
          method: 'POST',
          path: '/channels',
          body: { name: 'batched-late' },
          headers: { 'If-Match': `"${version}"` },
        },
      ],
    },
  });
  const [sub] = (batch.body as { responses: Array<{ status: number; body: Json }> }).responses;
  assert.deepEqual([sub.status, sub.body.errno, sub.body.info], [412, 114, `current ETag: "${next}"`]);
}

async function channelPatches({ base, ann }: Racers): Promise<void> {
  const made = await call(base, 'POST', '/v1/channels', {
    key: ann,
    body: { name: 'patched', permissions: { read: [], write: [] } },
  });
  assert.equal(made.status, 201, made.text);
  const version = versionOf(made.headers.get('etag'));
  const answers = await race((i) =>
    call(base, 'PATCH', '/v1/channels/patched', {
      key: ann,
      body: { permissions: { read: [`account:r${i}`] } },
      headers: { 'if-match': `"${version}"` },
    }),
  );
  const won = oneWinner(answers, 200, version, 'channel permission changes');
  const after = await call(base, 'GET', '/v1/channels/patched', { key: ann });
  assert.deepEqual(after.body, won.body, "the winner's change is the one stored");
  for (const lost of answers.filter((a) => a.status === 412)) {
    const body = assertError(lost, 412, 114, 'loser');
    assert.equal(body.info, `current ETag: "${String(won.rec.last_modified)}"`);
    assert.deepEqual(body.details, { existing: won.rec }, 'the channel as it is now');
  }
  // If-Unmodified-Since before its last change: refused, nothing written.
  const dated = await call(base, 'PATCH', '/v1/channels/patched', {
    key: ann,
    body: { permissions: { read: [] } },
    headers: { 'if-unmodified-since': new Date(Number(won.rec.last_modified) - 5000).toUTCString() },
  });
  assertError(dated, 412, 114, 'If-Unmodified-Since before the change');
  assert.deepEqual((await call(base, 'GET', '/v1/channels/patched', { key: ann })).body, won.body);
}

async function channelReaders({ base, ann }: Racers): Promise<void> {
  assert.equal(
    (await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'readers', permissions: { read: [] } } }))
      .status,
    201,
  );
  /** Add a reader as a Kinto client does: read, write the readers plus one naming the version read, again on 412. */
  const addReader = async (principal: string): Promise<number> => {
    for (let tries = 1; ; tries++) {
      const read = await call(base, 'GET', '/v1/channels/readers', { key: ann });
      const readers = ((read.body as { permissions: { read: string[] } }).permissions.read ?? []).concat(principal);
      const written = await call(base, 'PATCH', '/v1/channels/readers', {
        key: ann,
        body: { permissions: { read: readers } },
        headers: { 'if-match': String(read.headers.get('etag')) },
      });
      if (written.status === 200) return tries;
      assertError(written, 412, 114, `${principal}: a lost race`);
      assert.ok(tries < 50, `${principal}: too many tries`);
    }
  };
  const principals = Array.from({ length: RACERS }, (_, i) => `account:reader${i}`);
  await Promise.all(principals.map(addReader));
  const after = await call(base, 'GET', '/v1/channels/readers', { key: ann });
  const { read } = (after.body as { permissions: { read: string[] } }).permissions;
  assert.deepEqual([...read].sort(), [...principals].sort(), 'no change lost');
}

async function createOnce({ base, keyOf }: Racers): Promise<void> {
  const answers = await race((i) =>
    call(base, 'POST', '/v1/channels', {
      key: keyOf(i),
      body: { name: 'only-once' },
      headers: { 'if-none-match': '*' },
    }),
  );
  assert.deepEqual(answers.map((a) => a.status).sort(), [201, ...losers(412)], answers.map((a) => a.text).join('\n'));
  for (const lost of answers.filter((a) => a.status === 412)) assertError(lost, 412, 114, 'create-only racer');
}

async function logoffs({ base }: Racers): Promise<void> {
  const key = await logon(base, 'carol');
  const me = await call(base, 'GET', '/v1/sessions/current', { key });
  const version = versionOf(me.headers.get('etag'));
  const stale = assertError(
    await call(base, 'DELETE', '/v1/sessions/current', { key, headers: { 'if-match': `"${version + 1000}"` } }),
    412,
    114,
    'another version',
  );
  assert.equal(stale.info, `current ETag: "${version}"`);
  assert.equal((await call(base, 'GET', '/v1/sessions/current', { key })).status, 200, 'a refused logoff ends nothing');
  const answers = await race(() =>
    call(base, 'DELETE', '/v1/sessions/current', { key, headers: { 'if-match': `"${version}"` } }),
  );
  // The losers find their key dead: a session that is gone has no version to report, and
  // its key authenticates nothing any more (401, as any call with it).
  assert.deepEqual(answers.map((a) => a.status).sort(), [204, ...losers(401)], answers.map((a) => a.text).join('\n'));
  for (const lost of answers.filter((a) => a.status === 401)) assertError(lost, 401, 105, 'a logoff racer that lost');
  assertError(await call(base, 'GET', '/v1/sessions/current', { key }), 401, 105, 'the key after the logoff');
}

async function nodeWrites({ base, ann }: Racers): Promise<void> {
  const empty = await call(base, 'GET', '/v1/nodes', { key: ann });
  const listVersion = versionOf(empty.headers.get('etag'));
  const creates = await race((i) =>
    call(base, 'POST', '/v1/nodes', {
      key: ann,
      body: { name: `contested-${i}`, image: 'http' },
      headers: { 'if-match': `"${listVersion}"` },
    }),
  );
  const made = oneWinner(creates, 201, listVersion, 'node creates');
  const id = String(made.rec.id);
  const listed = await call(base, 'GET', '/v1/nodes', { key: ann });
  assert.deepEqual(
    (listed.body as { data: Json[] }).data.map((n) => n.id),
    [id],
    "one node, the winner's",
  );
  let node!: Answer;
  // Wait until the node stops moving (ACTIVE): the sync loop's own writes bump the version too.
  await until(
    async () =>
      (node = await call(base, 'GET', `/v1/nodes/${id}`, { key: ann })).status === 200 && node.rec.status === 'ACTIVE',
    'the node ACTIVE',
    20_000,
  );
  const version = versionOf(node.headers.get('etag'));
  assert.equal(node.rec.last_modified, version, 'the ETag is the last_modified in the body');
  assert.equal(node.headers.get('last-modified'), new Date(version).toUTCString());
  const renames = await race((i) =>
    call(base, 'PATCH', `/v1/nodes/${id}`, {
      key: ann,
      body: { name: `renamed-${i}` },
      headers: { 'if-match': `"${version}"` },
    }),
  );
  const renamed = oneWinner(renames, 200, version, 'node renames');
  const now = await call(base, 'GET', `/v1/nodes/${id}`, { key: ann });
  assert.equal(now.rec.name, renamed.rec.name, "the winner's name, nobody else's");
  for (const lost of renames.filter((a) => a.status === 412)) {
    const existing = (assertError(lost, 412, 114, 'a rename that lost').details as { existing: Json }).existing;
    assert.deepEqual([existing.id, typeof existing.name], [id, 'string'], 'the node as it was after the winner');
  }
  const current = versionOf(now.headers.get('etag'));
  const deletes = await race(() =>
    call(base, 'DELETE', `/v1/nodes/${id}`, { key: ann, headers: { 'if-match': `"${current}"` } }),
  );
  const deleted = oneWinner(deletes, 202, current, 'node deletes');
  assert.equal(deleted.rec.status, 'DELETING');
  await until(
    async () => (await call(base, 'GET', `/v1/nodes/${id}`, { key: ann })).status === 404,
    'the node gone',
    20_000,
  );
}

/** A node list answered 200 with its timestamp as ETag and Last-Modified; that timestamp. */
function listStamp(list: Answer): number {
  assert.equal(list.status, 200, list.text);
  const stamp = versionOf(list.headers.get('etag'));
  assert.equal(list.headers.get('last-modified'), new Date(stamp).toUTCString());
  return stamp;
}

/** Until node `id` is ACTIVE (the sync loop's writes stop moving the lists). */
async function active(base: string, key: number, id: string): Promise<void> {
  await until(
    async () => (await call(base, 'GET', `/v1/nodes/${id}`, { key })).rec.status === 'ACTIVE',
    `node ${id} ACTIVE`,
    20_000,
  );
}

async function sharedListWrites({ base, ann, bob }: Racers): Promise<void> {
  const shared = await call(base, 'POST', '/v1/nodes', {
    key: ann,
    body: { name: 'lent', image: 'http', permissions: { read: ['account:bob'] } },
  });
  assert.equal(shared.status, 201, shared.text);
  const sharedId = String(shared.rec.id);
  await active(base, ann, sharedId);
  const first = await call(base, 'GET', '/v1/nodes', { key: bob });
  const seen = listStamp(first);
  assert.ok(
    (first.body as { data: Json[] }).data.some((n) => n.id === sharedId),
    "ann's node in bob's list",
  );
  const fresh = await call(base, 'GET', '/v1/nodes', { key: bob, headers: { 'if-none-match': `"${seen}"` } });
  assert.equal(fresh.status, 304, 'nothing changed');
  const creates = await race((i) =>
    call(base, 'POST', '/v1/nodes', {
      key: bob,
      body: { name: `borrower-${i}`, image: 'http' },
      headers: { 'if-match': `"${seen}"` },
    }),
  );
  const own = String(oneWinner(creates, 201, seen, "creates into a list with another's node").rec.id);
  await active(base, bob, own);
  const before = listStamp(await call(base, 'GET', '/v1/nodes', { key: bob }));
  assert.ok(before > seen, 'the create moved it');
  const unshare = { permissions: { read: [] } };
  assert.equal((await call(base, 'PATCH', `/v1/nodes/${sharedId}`, { key: ann, body: unshare })).status, 200);
  const after = await call(base, 'GET', '/v1/nodes', { key: bob, headers: { 'if-none-match': `"${before}"` } });
  const moved = listStamp(after);
  assert.ok(moved > before, `the unsharing moved it on: ${before}, then ${moved}`);
  assert.deepEqual(
    (after.body as { data: Json[] }).data.map((n) => n.id),
    [own],
  );
  const stale = await call(base, 'POST', '/v1/nodes', {
    key: bob,
    body: { name: 'after-unsharing', image: 'http' },
    headers: { 'if-match': `"${before}"` },
  });
  assertError(stale, 412, 114, 'If-Match of the list before the unsharing');
  for (const [key, id] of [
    [bob, own],
    [ann, sharedId],
  ] as const)
    assert.equal((await call(base, 'DELETE', `/v1/nodes/${id}`, { key })).status, 202);
}

test('If-Match is exact on every write: the embedded mesh', async (t) => {
  const { base } = await startMesh(t, {}, { compute: true });
  await races(t, base);
});

test('If-Match is exact on every write: two instances of each service over PostgreSQL and Redis', async (t) => {
  const pg = await startPostgres(t);
  const redis = await startRedis(t);
  if (pg === undefined || redis === undefined) return;
  const mesh = await startScaledMesh(2, { AGORA_DATABASE_URL: await pg.newDatabase(), AGORA_REDIS_URL: redis.url });
  t.after(() => mesh.stop());
  await races(t, mesh.base);
});
