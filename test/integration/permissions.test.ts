/**
 * Permissions through the whole mesh (docs/API-V1.md "Permissions"): broker, auth, channels,
 * messages, the driver, Routes, compute and the gateway, each its own process. A private channel
 * is invisible to others in /v1 and in the legacy /list, a legacy post to a channel one may read
 * but not write answers `status: false`; a node shared for reading is seen and not controlled,
 * shared for control is stopped and routed to by its new writer; refusals are 403 errno 121,
 * unreadable records 404, malformed permissions 400.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../helpers/bus';
import { startMesh } from '../helpers/mesh';
import { assertError, call, logon, type Json } from '../helpers/v1';

/** One call of the legacy messaging API; its parsed answer. */
async function legacy(base: string, path: string, body: Json): Promise<{ status: boolean; data: unknown }> {
  const res = await fetch(base + path, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200, path);
  return (await res.json()) as { status: boolean; data: unknown };
}

/** The gateway and the sessions of ann, bob and cy. */
interface Ctx {
  base: string;
  ann: number;
  bob: number;
  cy: number;
}

async function hello({ base, bob }: Ctx): Promise<void> {
  const hello = await call(base, 'GET', '/v1/', { key: bob });
  assert.deepEqual((hello.body as Json).user, {
    id: 'account:bob',
    principals: ['account:bob', 'system.Authenticated', 'system.Everyone'],
  });
}

async function privateChannel({ base, ann, bob }: Ctx): Promise<void> {
  const made = await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'secret', permissions: {} } });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(made.body, {
    data: { id: 'secret', name: 'secret', last_modified: made.rec.last_modified },
    permissions: { read: [], write: ['account:ann'] },
  });
  const open = await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'lobby' } });
  assert.deepEqual((open.body as Json).permissions, {
    read: ['system.Authenticated'],
    write: ['system.Authenticated', 'account:ann'],
  });
  const names = async (key: number) =>
    ((await call(base, 'GET', '/v1/channels', { key })).body as { data: Json[] }).data.map((c) => c.name);
  assert.deepEqual(await names(ann), ['lobby', 'secret']);
  assert.deepEqual(await names(bob), ['lobby']);
  assert.deepEqual(await legacy(base, '/list', { sesskey: bob }), { status: true, data: ['lobby'] });
  assert.deepEqual(await legacy(base, '/list', { sesskey: ann }), { status: true, data: ['lobby', 'secret'] });
  assertError(await call(base, 'GET', '/v1/channels/secret', { key: bob }), 404, 111, 'unreadable: absent');
  assertError(await call(base, 'GET', '/v1/channels/secret/messages', { key: bob }), 404, 111, 'its messages');
  assertError(
    await call(base, 'POST', '/v1/channels/secret/messages', { key: bob, body: { message: 'hi' } }),
    404,
    111,
    'a post to it',
  );
  const retrieve = await legacy(base, '/retrieve', { sesskey: bob, channel: 'secret', first: 1, last: 9 });
  assert.equal(retrieve.status, false);
  assertError(
    await call(base, 'PATCH', '/v1/channels/secret', { key: bob, body: { permissions: { read: ['account:bob'] } } }),
    404,
    111,
    'a PATCH of it',
  );
  // Creating it again: refused to whom may not read it, as nothing may be learnt of it.
  assertError(await call(base, 'POST', '/v1/channels', { key: bob, body: { name: 'secret' } }), 403, 121, 'create');
}

async function sharedForReading({ base, ann, bob, cy }: Ctx): Promise<void> {
  const current = await call(base, 'GET', '/v1/channels/secret', { key: ann });
  const before = String(current.headers.get('etag'));
  const listBefore = String((await call(base, 'GET', '/v1/channels', { key: ann })).headers.get('etag'));
  const body = { permissions: { read: ['account:bob'] } };
  const stale = await call(base, 'PATCH', '/v1/channels/secret', { key: ann, body, headers: { 'if-match': '"x"' } });
  assertError(stale, 412, 114, 'If-Match naming another ETag');
  const shared = await call(base, 'PATCH', '/v1/channels/secret', { key: ann, body, headers: { 'if-match': before } });
  assert.equal(shared.status, 200, shared.text);
  const stamp = Number(shared.rec.last_modified);
  assert.ok(stamp > Number(current.rec.last_modified), 'a change of permissions is a write: stamped');
  assert.deepEqual(shared.body, {
    data: { id: 'secret', name: 'secret', last_modified: stamp },
    permissions: { read: ['account:bob'], write: ['account:ann'] },
  });
  assert.deepEqual(
    [shared.headers.get('etag'), shared.headers.get('last-modified')],
    [`"${stamp}"`, new Date(stamp).toUTCString()],
  );
  assert.equal(
    shared.headers.get('etag'),
    (await call(base, 'GET', '/v1/channels/secret', { key: ann })).headers.get('etag'),
  );
  const list = await call(base, 'GET', '/v1/channels', { key: ann });
  assert.deepEqual(
    [list.headers.get('etag') !== listBefore, list.headers.get('etag')],
    [true, `"${stamp}"`],
    "the channel list's ETag: the stamp of the change",
  );
  assertError(
    await call(base, 'PATCH', '/v1/channels/secret', { key: ann, body, headers: { 'if-match': before } }),
    412,
    114,
    'If-Match naming the ETag from before the change',
  );
  const unmodified = assertError(
    await call(base, 'PATCH', '/v1/channels/secret', {
      key: ann,
      body,
      headers: { 'if-unmodified-since': new Date(stamp - 1000).toUTCString() },
    }),
    412,
    114,
    'If-Unmodified-Since a second before the change',
  );
  assert.deepEqual(unmodified.details, { existing: shared.rec }, 'the 412 shows the channel as it is');
  assert.equal(
    (await call(base, 'POST', '/v1/channels/secret/messages', { key: ann, body: { message: 'for bob' } })).status,
    201,
  );
  // Granted by the time the PATCH answered (Messages' copy of the permissions from before is gone).
  const read = await call(base, 'GET', '/v1/channels/secret/messages', { key: bob });
  assert.deepEqual(
    (read.body as { data: Json[] }).data.map((m) => m.message),
    ['for bob'],
  );
  assert.deepEqual(await legacy(base, '/list', { sesskey: bob }), { status: true, data: ['lobby', 'secret'] });
  assertError(
    await call(base, 'POST', '/v1/channels/secret/messages', { key: bob, body: { message: 'me too' } }),
    403,
    121,
    'a reader posts',
  );
  assert.deepEqual(await legacy(base, '/post', { sesskey: bob, channel: 'secret', message: 'me too' }), {
    status: false,
    data: 'You may not post to channel "secret"',
  });
  assertError(
    await call(base, 'PATCH', '/v1/channels/secret', { key: bob, body: { permissions: { write: ['account:bob'] } } }),
    403,
    121,
    'a reader changes permissions',
  );
  // The public channel: every signed-in user posts, through either API, as always.
  assert.deepEqual(await legacy(base, '/post', { sesskey: cy, channel: 'lobby', message: 'hello' }), {
    status: true,
    data: true,
  });
}

async function malformed({ base, ann }: Ctx): Promise<void> {
  for (const permissions of [{ read: ['bob'] }, { read: ['system.Nobody'] }, { admin: ['account:ann'] }, { read: 'x' }])
    assertError(
      await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'bad', permissions } }),
      400,
      107,
      JSON.stringify(permissions),
    );
  assertError(await call(base, 'GET', '/v1/channels/bad', { key: ann }), 404, 111, 'nothing was created');
  assertError(
    await call(base, 'PATCH', '/v1/channels/lobby', { key: ann, body: { permissions: { write: ['account:'] } } }),
    400,
    107,
    'a PATCH',
  );
  assertError(await call(base, 'PATCH', '/v1/channels/lobby', { key: ann, body: {} }), 400, 107, 'no permissions');
}

async function sharedNode({ base, ann, bob, cy }: Ctx): Promise<void> {
  const made = await call(base, 'POST', '/v1/nodes', {
    key: ann,
    body: { name: 'web', image: 'http', permissions: { read: ['account:bob'] } },
  });
  assert.equal(made.status, 201, made.text);
  const id = String(made.rec.id);
  assert.deepEqual((made.body as Json).permissions, { read: ['account:bob'], write: ['account:ann'] });
  assert.equal('permissions' in made.rec, false, 'beside the record, not in it');
  const path = `/v1/nodes/${id}`;
  await until(
    async () => (await call(base, 'GET', path, { key: ann })).rec.status === 'ACTIVE',
    20_000,
    'the node ACTIVE',
  );
  // bob reads it: the record, its output, and in his own list (without permissions: a list keeps its shape).
  const seen = await call(base, 'GET', path, { key: bob });
  assert.equal(seen.status, 200, seen.text);
  assert.deepEqual((seen.body as Json).permissions, { read: ['account:bob'], write: ['account:ann'] });
  assert.equal((await call(base, 'GET', `${path}/output`, { key: bob })).status, 200);
  const listed = await call(base, 'GET', '/v1/nodes', { key: bob });
  const items = (listed.body as { data: Json[] }).data;
  assert.deepEqual(
    items.map((n) => [n.id, 'permissions' in n]),
    [[id, false]],
  );
  const first = listTimestamp(listed, Number(items[0].last_modified));
  assert.equal(
    (await call(base, 'GET', '/v1/nodes', { key: bob, headers: { 'if-none-match': `"${first}"` } })).status,
    304,
  );
  // If-Match with that ETag creates into bob's list while nothing changed; once it did, 412.
  const own = await call(base, 'POST', '/v1/nodes', {
    key: bob,
    body: { name: 'own', image: 'http' },
    headers: { 'if-match': `"${first}"` },
  });
  assert.equal(own.status, 201, own.text);
  const ownList = await call(base, 'GET', '/v1/nodes', { key: bob });
  const second = listTimestamp(ownList, first + 1);
  const late = await call(base, 'POST', '/v1/nodes', {
    key: bob,
    body: { name: 'late', image: 'http' },
    headers: { 'if-match': `"${first}"` },
  });
  assertError(late, 412, 114, 'an If-Match of the list before bob created');
  assertError(await call(base, 'GET', path, { key: cy }), 404, 111, 'cy may not read it');
  assert.deepEqual(((await call(base, 'GET', '/v1/nodes', { key: cy })).body as { data: Json[] }).data, []);
  // ...and controls nothing of it.
  for (const body of [{ action: 'stop' }, { name: 'mine' }, { permissions: { write: ['account:bob'] } }])
    assertError(await call(base, 'PATCH', path, { key: bob, body }), 403, 121, `bob PATCHes ${JSON.stringify(body)}`);
  assertError(await call(base, 'DELETE', path, { key: bob }), 403, 121, 'bob deletes');
  assertError(
    await call(base, 'POST', '/v1/routes', { key: bob, body: { source: 'bob.example.com', target_node: id } }),
    404,
    111,
    'bob routes to it',
  );
  // Shared for control: bob stops it and may route to it.
  const granted = await call(base, 'PATCH', path, { key: ann, body: { permissions: { write: ['account:bob'] } } });
  assert.equal(granted.status, 200, granted.text);
  assert.deepEqual((granted.body as Json).permissions, {
    read: ['account:bob'],
    write: ['account:ann', 'account:bob'],
  });
  assert.ok(Number(granted.rec.last_modified) > Number(made.rec.last_modified), 'a change of permissions stamps it');
  assert.equal(granted.headers.get('etag'), `"${String(granted.rec.last_modified)}"`);
  const stopped = await call(base, 'PATCH', path, { key: bob, body: { action: 'stop' } });
  assert.equal(stopped.status, 200, stopped.text);
  assert.equal(stopped.rec.owner, 'ann', "the node stays ann's");
  // Routes hears of the new writer from compute a moment later.
  await until(
    async () =>
      (await call(base, 'POST', '/v1/routes', { key: bob, body: { source: 'bob.example.com', target_node: id } }))
        .status === 201,
    10_000,
    'bob routes to the node shared with him',
  );
  // Withdrawn: bob reads it again only.
  await call(base, 'PATCH', path, { key: ann, body: { permissions: { write: [] } } });
  assertError(await call(base, 'PATCH', path, { key: bob, body: { action: 'start' } }), 403, 121, 'withdrawn');
  const ownPath = `/v1/nodes/${String(own.rec.id)}`;
  await until(async () => (await call(base, 'GET', ownPath, { key: bob })).rec.status === 'ACTIVE', 20_000, 'own');
  const before = listTimestamp(await call(base, 'GET', '/v1/nodes', { key: bob }), second);
  // Unshared: it leaves bob's list without a tombstone, and the list's timestamp moves on, never back.
  assert.equal((await call(base, 'PATCH', path, { key: ann, body: { permissions: { read: [] } } })).status, 200);
  const unshared = await call(base, 'GET', '/v1/nodes', { key: bob, headers: { 'if-none-match': `"${before}"` } });
  assert.equal(unshared.status, 200, 'no 304 with the ETag of the list before the unsharing');
  assert.deepEqual(
    (unshared.body as { data: Json[] }).data.map((n) => n.id),
    [own.rec.id],
  );
  const after = listTimestamp(unshared, before + 1);
  const since = await call(base, 'GET', `/v1/nodes?_since=${before}`, { key: bob });
  assert.deepEqual((since.body as { data: Json[] }).data, [], 'no tombstone of a node bob no longer sees');
  assert.equal((await call(base, 'DELETE', path, { key: ann })).status, 202);
  listTimestamp(await call(base, 'GET', '/v1/nodes', { key: bob }), after);
  assert.equal((await call(base, 'DELETE', ownPath, { key: bob })).status, 202);
}

/** The timestamp a node list answered as its ETag and Last-Modified, checked to be at least `least`. */
function listTimestamp(list: { status: number; text: string; headers: Headers }, least: number): number {
  assert.equal(list.status, 200, list.text);
  const etag = String(list.headers.get('etag'));
  assert.match(etag, /^"\d+"$/, "a list's ETag is its timestamp, another's node in it or not");
  const ts = Number(etag.slice(1, -1));
  assert.equal(list.headers.get('last-modified'), new Date(ts).toUTCString(), 'its Last-Modified');
  assert.ok(ts >= least, `${ts} at least ${least}`);
  return ts;
}

/**
 * Taken away: the writer's very next post after the PATCH answers is refused, although it posted a
 * moment before (so Messages had the permissions from before in its cache).
 */
async function revoked({ base, ann, cy }: Ctx): Promise<void> {
  const made = await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'square' } });
  assert.equal(made.status, 201, made.text);
  const post = (message: string) => call(base, 'POST', '/v1/channels/square/messages', { key: cy, body: { message } });
  assert.equal((await post('one')).status, 201);
  assert.equal((await legacy(base, '/post', { sesskey: cy, channel: 'square', message: 'two' })).status, true);
  const body = { permissions: { write: ['account:ann'] } };
  const changed = await call(base, 'PATCH', '/v1/channels/square', { key: ann, body });
  assert.equal(changed.status, 200, changed.text);
  assertError(await post('three'), 403, 121, 'the next /v1 post after the answer');
  assert.equal((await legacy(base, '/post', { sesskey: cy, channel: 'square', message: 'four' })).status, false);
  const kept = await call(base, 'GET', '/v1/channels/square/messages', { key: cy });
  assert.deepEqual(
    (kept.body as { data: Json[] }).data.map((m) => m.message),
    ['one', 'two'],
  );
}

test('permissions of channels and nodes, through the gateway and the legacy messaging API', async (t) => {
  const { base } = await startMesh(t, {}, { compute: true });
  const ctx: Ctx = { base, ann: await logon(base, 'ann'), bob: await logon(base, 'bob'), cy: await logon(base, 'cy') };
  await t.test('the hello lists the principals permissions are judged with', () => hello(ctx));
  await t.test('a private channel is invisible to others in /v1 and in the legacy /list', () => privateChannel(ctx));
  await t.test('shared for reading: read, listed, a post refused (403; legacy status false)', () =>
    sharedForReading(ctx),
  );
  await t.test("a writer's permission taken away: its next post is refused", () => revoked(ctx));
  await t.test('malformed permissions are 400 errno 107, nothing created', () => malformed(ctx));
  await t.test('a node shared for reading is seen; shared for control, its new writer stops and routes to it', () =>
    sharedNode(ctx),
  );
});
