/**
 * The official Kinto JavaScript client, kinto-http, against `/v1` through the real mesh, with no
 * adapter between them: the server's info, settings, capabilities and user; a batch; a list
 * walked page by page; ETags (If-None-Match, a safe write and a safe delete as kinto-http builds
 * them from `last_modified`); records `{data, permissions}` with their timestamps, read whole or
 * with `_fields`, and what changed `_since` a list's ETag walked page by page; a refused safe
 * create with the record that exists; HTTP Basic with Auth's lockout; the end of service as the
 * client's `deprecated` event and a 410; permissions sent and read as Kinto's. Our resources are
 * not Kinto's buckets and collections, so the client's own `execute` and `paginatedList` reach them.
 *
 * kinto-http's Node entry point needs node-fetch and friends; its UMD bundle uses the global
 * fetch of Node 20, as a browser would, and is what this test loads.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type KintoClientType from 'kinto-http';
import { startMesh, type Mesh } from '../helpers/mesh';

const KintoClient = createRequire(__filename)('kinto-http/dist/kinto-http.min.js') as typeof KintoClientType;

type Client = InstanceType<typeof KintoClientType>;
interface Alert {
  code: string;
  message: string;
  url: string;
}
interface Failure {
  response?: { status: number };
  data?: { errno: number; details?: unknown };
}

type Json = Record<string, unknown>;
/** One record's answer. */
interface Record1 {
  data: Json & { id: string; last_modified: number };
  permissions: Json;
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function client(remote: string, authorization?: string): { client: Client; alerts: Alert[] } {
  const events = new EventEmitter();
  const alerts: Alert[] = [];
  events.on('deprecated', (alert: Alert) => void alerts.push(alert));
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
  return { client: new KintoClient(remote, { events, headers }), alerts };
}

/** The status and errno a kinto-http call was refused with. */
async function refusal(call: Promise<unknown>): Promise<{ status?: number; errno?: number }> {
  try {
    await call;
  } catch (e) {
    const failure = e as Failure;
    return { status: failure.response?.status, errno: failure.data?.errno };
  }
  assert.fail('the call was expected to fail');
}

interface Ctx {
  mesh: Mesh;
  remote: string;
  /** kinto-ann's Basic header. */
  ann: string;
  /** A client with that header, and the Alerts it has seen. */
  kinto: Client;
  alerts: Alert[];
}

async function serverInfo({ remote, kinto, alerts }: Ctx): Promise<void> {
  const info = await kinto.fetchServerInfo();
  assert.equal(info.url, `${remote}/`);
  assert.equal(await kinto.fetchHTTPApiVersion(), '1.0');
  const settings = await kinto.fetchServerSettings();
  assert.equal(settings.readonly, false);
  assert.equal(settings.batch_max_requests, 25);
  assert.ok('batch' in (await kinto.fetchServerCapabilities()));
  assert.deepEqual(await kinto.fetchUser(), {
    id: 'account:kinto-ann',
    principals: ['account:kinto-ann', 'system.Authenticated', 'system.Everyone'],
  });
  assert.deepEqual(alerts, [], 'no end of service, no Alert');
}

async function batchAndPages({ ann, kinto }: Ctx): Promise<void> {
  const responses = (await kinto.batch((batch: Client) => {
    void batch.execute({ method: 'POST', path: '/channels', headers: {}, body: { name: 'kinto-a' } });
    for (let i = 1; i <= 5; i++)
      void batch.execute({
        method: 'POST',
        path: '/channels/kinto-a/messages',
        headers: {},
        body: { message: `m${i}` },
      });
  })) as { status: number; body: { messageid?: number } }[];
  assert.deepEqual(
    responses.map((r) => r.status),
    [201, 201, 201, 201, 201, 201],
  );
  const auth = { Authorization: ann };
  const all = await kinto.paginatedList<{ message: string; last_modified: number }>(
    '/channels/kinto-a/messages',
    { sort: 'messageid', limit: 2, pages: Infinity },
    { headers: auth },
  );
  assert.deepEqual(
    all.data.map((m) => m.message),
    ['m1', 'm2', 'm3', 'm4', 'm5'],
  );
  assert.equal(
    all.last_modified,
    String(all.data[4].last_modified),
    "the list's ETag, as kinto-http keeps it: its newest message's last_modified",
  );
  const first = await kinto.paginatedList(
    '/channels/kinto-a/messages',
    { sort: 'messageid', limit: 2 },
    { headers: auth },
  );
  assert.equal(first.data.length, 2);
  assert.equal(first.hasNextPage, true);
  assert.equal((await first.next()).data.length, 2);

  const unchanged = await kinto.execute<unknown>(
    { path: '/channels/kinto-a/messages', headers: { ...auth, 'If-None-Match': `"${all.last_modified}"` } },
    { raw: true },
  );
  assert.equal((unchanged as { status: number }).status, 304);
  // A safe write as kinto-http builds one: If-Match: "<last_modified>".
  const post = (body: unknown) =>
    kinto.execute({
      method: 'POST',
      path: '/channels/kinto-a/messages',
      headers: { ...auth, 'If-Match': `"${all.last_modified}"` },
      body,
    });
  const safe = (await post({ message: 'safe' })) as { data: { last_modified: number } };
  assert.ok(safe.data.last_modified > all.data[4].last_modified);
  assert.deepEqual(safe, {
    data: { id: '6', messageid: 6, message: 'safe', last_modified: safe.data.last_modified },
    permissions: {},
  });
  assert.deepEqual(await refusal(post({ message: 'stale' })), { status: 412, errno: 114 });
}

async function recordsSince({ ann, kinto }: Ctx): Promise<void> {
  const auth = { Authorization: ann };
  const create = (name: string): Promise<Record1> =>
    kinto.execute<Record1>({ method: 'POST', path: '/channels', headers: auth, body: { name } }) as Promise<Record1>;
  const first = await create('kinto-r1');
  assert.deepEqual(
    [first.data.id, first.data.name, first.permissions],
    ['kinto-r1', 'kinto-r1', { read: ['system.Authenticated'], write: ['system.Authenticated', 'account:kinto-ann'] }],
  );
  const before = await kinto.paginatedList<Json>('/channels', { sort: '-last_modified', limit: 1 }, { headers: auth });
  assert.equal(before.last_modified, String(first.data.last_modified), "the list's ETag: its last create's timestamp");
  const made: Record1[] = [];
  for (const name of ['kinto-r2', 'kinto-r3', 'kinto-r4']) made.push(await create(name));
  const stamps = [first, ...made].map((r) => r.data.last_modified);
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1], `strictly increasing: ${stamps.join()}`);
  // What changed since the ETag read before, one record a page, the latest first, names only.
  const since = await kinto.paginatedList<Json>(
    '/channels',
    { since: before.last_modified, sort: '-last_modified', limit: 1, pages: Infinity, fields: ['name'] },
    { headers: auth },
  );
  assert.deepEqual(
    since.data,
    [...made].reverse().map((r) => ({ id: r.data.id, name: r.data.name, last_modified: r.data.last_modified })),
  );
  assert.equal(since.last_modified, String(stamps[3]));
  const older = await kinto.paginatedList<Json>(
    '/channels',
    { sort: 'last_modified', filters: { _before: String(stamps[2]), like_name: 'kinto-r' } },
    { headers: auth },
  );
  assert.deepEqual(
    older.data.map((c) => c.id),
    ['kinto-r1', 'kinto-r2'],
  );
  // One record, read as getRecord would (our paths are not a bucket's): data, permissions, its ETag.
  const raw = (await kinto.execute({ path: '/channels/kinto-r2', headers: auth }, { raw: true })) as {
    status: number;
    json: Record1;
    headers: Headers;
  };
  assert.deepEqual([raw.status, raw.json], [200, made[0]]);
  assert.equal(raw.headers.get('ETag'), `"${made[0].data.last_modified}"`);
  assert.equal(raw.headers.get('Last-Modified'), new Date(made[0].data.last_modified).toUTCString());
  const cut = (await kinto.execute<Record1>({ path: '/channels/kinto-r2?_fields=id', headers: auth })) as Record1;
  assert.deepEqual(cut.data, { id: 'kinto-r2', last_modified: made[0].data.last_modified });
  // A safe create as kinto-http sends one (If-None-Match: *): refused, with the record that exists.
  try {
    await kinto.execute({
      method: 'POST',
      path: '/channels',
      headers: { ...auth, 'If-None-Match': '*' },
      body: { name: 'kinto-r3' },
    });
    assert.fail('a safe create of an existing record');
  } catch (e) {
    const failure = e as Failure;
    assert.deepEqual(
      [failure.response?.status, failure.data?.errno, failure.data?.details],
      [412, 114, { existing: made[1].data }],
    );
  }
}

async function bearerSafeDelete({ remote, kinto }: Ctx): Promise<void> {
  const logon = (await kinto.execute({
    method: 'POST',
    path: '/sessions',
    headers: {},
    body: { username: 'kinto-ann', password: 'secret-1' },
  })) as { session: number };
  const bearer = { Authorization: `Bearer ${logon.session}` };
  const current = (await kinto.execute({ path: '/sessions/current', headers: bearer }, { raw: true })) as {
    headers: Headers;
  };
  const etag = String(current.headers.get('ETag'));
  const logoff = (ifMatch: string) =>
    kinto.execute(
      { method: 'DELETE', path: '/sessions/current', headers: { ...bearer, 'If-Match': ifMatch } },
      {
        raw: true,
      },
    ) as Promise<{ status: number }>;
  assert.deepEqual(await refusal(logoff('"1"')), { status: 412, errno: 114 });
  assert.equal((await logoff(etag)).status, 204);
  const { client: gone } = client(remote, bearer.Authorization);
  assert.deepEqual(await refusal(gone.fetchUser()), { status: 401, errno: 105 });
}

/** Permissions as kinto-http sends and reads them: in the body of a POST and of a PATCH, beside the record. */
async function permissions({ kinto, ann }: Ctx): Promise<void> {
  type Channel = {
    data: { id: string; name: string; last_modified: number };
    permissions: { read: string[]; write: string[] };
  };
  const made = (await kinto.execute<Channel>({
    method: 'POST',
    path: '/channels',
    headers: { Authorization: ann },
    body: { name: 'kinto-private', permissions: { read: [] } },
  })) as Channel;
  assert.deepEqual(made, {
    data: { id: 'kinto-private', name: 'kinto-private', last_modified: made.data.last_modified },
    permissions: { read: [], write: ['account:kinto-ann'] },
  });
  // bob by a session key (his Basic header would stay cached past the lockout step below).
  const { session } = (await kinto.execute<{ session: number }>({
    method: 'POST',
    path: '/sessions',
    headers: {},
    body: { username: 'kinto-bob', password: 'secret-2' },
  })) as { session: number };
  const bobs = { Authorization: `Bearer ${session}` };
  const read = async () =>
    (await kinto.execute<Channel>({ path: '/channels/kinto-private', headers: bobs })) as Channel;
  assert.deepEqual(await refusal(read()), { status: 404, errno: 111 }, 'a channel bob may not read is absent');
  const patch = async (headers: Record<string, string>, body: unknown) =>
    (await kinto.execute<Channel>({ method: 'PATCH', path: '/channels/kinto-private', headers, body })) as Channel;
  const shared = await patch({ Authorization: ann }, { permissions: { read: ['account:kinto-bob'] } });
  assert.deepEqual(shared.permissions, { read: ['account:kinto-bob'], write: ['account:kinto-ann'] });
  assert.ok(shared.data.last_modified > made.data.last_modified, 'a change of permissions is a write: stamped');
  assert.deepEqual(await read(), shared);
  assert.deepEqual(await refusal(patch(bobs, { permissions: { write: ['account:kinto-bob'] } })), {
    status: 403,
    errno: 121,
  });
}

async function endOfService({ mesh, ann }: Ctx): Promise<void> {
  const env = { AGORA_EOS_MESSAGE: 'Moving to v2', AGORA_EOS_URL: 'https://example.org/eos' };
  const soon = await mesh.gateway('eos-soft', { ...env, AGORA_EOS: '2999-01-01' });
  const { client: soft, alerts: softAlerts } = client(`${soon.base}/v1`, ann);
  assert.equal(((await soft.fetchServerInfo()) as { eos?: string }).eos, '2999-01-01');
  assert.deepEqual(softAlerts, [{ code: 'soft-eol', message: 'Moving to v2', url: 'https://example.org/eos' }]);

  const past = await mesh.gateway('eos-hard', { ...env, AGORA_EOS: '2000-01-01' });
  const { client: hard, alerts: hardAlerts } = client(`${past.base}/v1`, ann);
  assert.equal((await hard.fetchUser())?.id, 'account:kinto-ann', 'the hello still answers');
  const list = hard.paginatedList('/channels', { sort: 'name' }, { headers: { Authorization: ann } });
  assert.deepEqual(await refusal(list), { status: 410, errno: 202 });
  assert.deepEqual(
    hardAlerts.map((a) => a.code),
    ['hard-eol', 'hard-eol'],
  );
}

async function basicLockout({ remote, ann }: Ctx): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const { client: guess } = client(remote, basic('kinto-ann', `guess-${i}`));
    assert.deepEqual(await refusal(guess.fetchUser()), { status: 401, errno: 105 }, `guess ${i}`);
  }
  const { client: right } = client(remote, ann);
  // The header verified earlier is served from the gateway's cache, without a logon.
  assert.equal((await right.fetchUser())?.id, 'account:kinto-ann');
  // The same credentials spelled otherwise are a new header: a logon, which the lockout refuses.
  const { client: respelled } = client(remote, ann.replace(' ', '  '));
  assert.deepEqual(await refusal(respelled.fetchUser()), { status: 429, errno: 117 }, 'the user is locked out');
  const { client: bob } = client(remote, basic('kinto-bob', 'secret-2'));
  assert.deepEqual(await refusal(bob.fetchUser()), { status: 429, errno: 117 }, 'the address is locked out');
}

test('kinto-http against /v1 through the mesh', async (t) => {
  const mesh = await startMesh(t, { AGORA_LOGON_MAX_FAILURES: '3' });
  const remote = `${mesh.base}/v1`;
  const ann = basic('kinto-ann', 'secret-1');
  const { client: kinto, alerts } = client(remote, ann);
  const ctx: Ctx = { mesh, remote, ann, kinto, alerts };
  await t.test('server info, settings, capabilities, user (Basic)', () => serverInfo(ctx));
  await t.test('a batch, then the list page by page, with ETags and a safe write', () => batchAndPages(ctx));
  await t.test('records with timestamps: _since pages, _fields, one record raw, a refused safe create', () =>
    recordsSince(ctx),
  );
  await t.test('a session key as Bearer; a safe delete, sent with Content-Type and no body', () =>
    bearerSafeDelete(ctx),
  );
  await t.test('permissions: sent with a create and a PATCH, read beside the record, 404 and 403', () =>
    permissions(ctx),
  );
  await t.test('end of service: the deprecated event before the date, 410 after it', () => endOfService(ctx));
  // Last: the lockout it provokes holds the test's address for the lockout window.
  await t.test('Basic: wrong passwords are refused, then locked out; a verified credential still serves', () =>
    basicLockout(ctx),
  );
});
