/**
 * The /v1 REST API (docs/API-V1.md) through the running mesh (broker, auth, channels, messages,
 * gateway: real processes from the Procfile's entry points): the error body and errno of
 * each failure kind, Bearer sessions, pagination over 250 messages, sorting and filters,
 * ETag round trips, batches, and the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startMesh, type Mesh } from '../helpers/mesh';
import { assertError, call, logon, type Answer, type Json } from '../helpers/v1';

/** Send raw bytes and parse the HTTP/1.1 answer (status, headers, JSON body). */
async function rawRequest(base: string, bytes: string): Promise<Answer> {
  const { port } = new URL(base);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (c: Buffer) => {
      data += String(c);
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  const [head, body] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = new Headers(
    lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body), text: body, rec: {} };
}

function detailNames(body: Json): string[] {
  return (body.details as { name: string }[]).map((d) => d.name);
}

/** Post `count` messages, `parallel` at a time, alternating two users; answers the ids. */
async function postMany(
  base: string,
  channel: string,
  keys: readonly number[],
  count: number,
  parallel = 8,
): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - i) }, (_, j) => i + j);
    const answers = await Promise.all(
      batch.map((n) =>
        call(base, 'POST', `/v1/channels/${channel}/messages`, {
          key: keys[n % keys.length],
          body: { message: `message ${n}${n % 10 === 0 ? ' TENTH' : ''}` },
        }),
      ),
    );
    for (const a of answers) {
      assert.equal(a.status, 201, a.text);
      ids.push(a.rec.messageid as number);
    }
  }
  return ids;
}

/** Follow Next-Page from `first` to the end; every page's records, in order. */
async function walk(base: string, key: number, first: string): Promise<{ pages: Json[][]; totals: string[] }> {
  const pages: Json[][] = [];
  const totals: string[] = [];
  let url: string | null = first;
  while (url !== null) {
    const res = await call(base, 'GET', url, { key });
    assert.equal(res.status, 200, res.text);
    pages.push((res.body as { data: Json[] }).data);
    totals.push(String(res.headers.get('total-records')));
    url = res.headers.get('next-page');
    if (url !== null) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1\/channels\/[^?]+\?.*_token=/);
    assert.ok(pages.length <= 100, 'the walk ends');
  }
  return { pages, totals };
}

/** The running mesh of the test below and its two users' session keys, which every subtest gets. */
interface V1Mesh {
  base: string;
  procs: Mesh['procs'];
  ann: number;
  bob: number;
}

async function sessions(mesh: V1Mesh): Promise<void> {
  const { base } = mesh;
  const res = await call(base, 'POST', '/v1/sessions', { body: { username: 'carol', password: 'pw-carol' } });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('location'), '/v1/sessions/current');
  const key = (res.body as Json).session as number;
  assert.deepEqual(res.body, { session: key, username: 'carol', created: true });
  const me = await call(base, 'GET', '/v1/sessions/current', { key });
  assert.equal(me.status, 200);
  assert.equal((me.body as Json).username, 'carol');
  const etag = String(me.headers.get('etag'));
  assert.equal(
    (await call(base, 'GET', '/v1/sessions/current', { key, headers: { 'if-none-match': etag } })).status,
    304,
  );
  assertError(
    await call(base, 'DELETE', '/v1/sessions/current', { key, headers: { 'if-match': '"stale"' } }),
    412,
    114,
    'stale If-Match on logoff',
  );
  const off = await call(base, 'DELETE', '/v1/sessions/current', { key, headers: { 'if-match': etag } });
  assert.equal(off.status, 204);
  const after = await call(base, 'GET', '/v1/channels', { key });
  assertError(after, 401, 105, 'a key after logoff');
  assert.equal(after.headers.get('www-authenticate'), 'Bearer realm="agora"');
  const none = await call(base, 'GET', '/v1/channels');
  assertError(none, 401, 104, 'no Authorization');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="agora"');
  const basic = assertError(
    await call(base, 'GET', '/v1/channels', { headers: { authorization: 'Basic YQ==' } }),
    401,
    105,
    'Basic credentials that are not username:password',
  );
  assert.deepEqual(detailNames(basic), ['authorization']);
  assertError(
    await call(base, 'GET', '/v1/channels', { headers: { authorization: 'Bearer 0123' } }),
    401,
    105,
    'malformed key',
  );
  assertError(
    await call(base, 'POST', '/v1/sessions', { body: { username: 'ann', password: 'wrong' } }),
    401,
    105,
    'wrong password',
  );
}

async function errorBodies(mesh: V1Mesh): Promise<void> {
  const { base, ann } = mesh;
  const missing = assertError(
    await call(base, 'POST', '/v1/channels', { key: ann, body: { nom: 'x' } }),
    400,
    107,
    'wrong body field',
  );
  assert.deepEqual(detailNames(missing).sort(), ['name', 'nom']);
  assert.ok((missing.details as { location: string }[]).every((d) => d.location === 'body'));
  const badName = assertError(
    await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'a b' } }),
    400,
    107,
    'bad channel name',
  );
  assert.deepEqual(detailNames(badName), ['name']);
  assertError(await call(base, 'POST', '/v1/channels', { key: ann, body: '{"name": ' }), 400, 106, 'body not JSON');
  assertError(
    await call(base, 'POST', '/v1/channels', {
      key: ann,
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    415,
    107,
    'form body',
  );
  assertError(await call(base, 'GET', '/v1/nothing-here', { key: ann }), 404, 111, 'unknown path');
  assertError(await call(base, 'GET', '/v1/channels/no-such-channel', { key: ann }), 404, 111, 'unknown channel');
  assertError(
    await call(base, 'GET', '/v1/channels/no-such-channel/messages', { key: ann }),
    404,
    111,
    'messages of an unknown channel',
  );
  const wrongMethod = assertError(
    await call(base, 'PATCH', '/v1/channels', { key: ann, body: {} }),
    405,
    115,
    'PATCH on a list',
  );
  assert.equal(wrongMethod.message, 'PATCH /v1/channels is not allowed; use GET, POST');
  assertError(
    await call(base, 'GET', '/v1/channels', { key: ann, headers: { accept: 'text/html' } }),
    406,
    107,
    'Accept: text/html',
  );
  // fetch and node:http always send a length; a raw request with neither Content-Length nor a
  // chunked body is what 411 is for.
  const noLength = await rawRequest(
    base,
    `POST /v1/channels HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ann}\r\nConnection: close\r\n\r\n`,
  );
  assertError(noLength, 411, 112, 'POST without Content-Length');
  assertError(
    await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'x'.repeat(2_000_000) } }),
    413,
    113,
    'body over the limit',
  );
  assert.equal((await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'errors' } })).status, 201);
  assertError(
    await call(base, 'POST', '/v1/channels/errors/messages', { key: ann, body: { message: 'x'.repeat(5000) } }),
    413,
    113,
    'message too long',
  );
  assertError(
    await call(base, 'POST', '/v1/channels/errors/messages', { key: ann, body: { message: 1 } }),
    400,
    107,
    'message not a string',
  );
  assertError(await call(base, 'GET', '/v1/channels/errors/messages/0', { key: ann }), 400, 107, 'message id 0');
  assertError(
    await call(base, 'GET', '/v1/channels/errors/messages/7', { key: ann }),
    404,
    111,
    'message never posted',
  );
  for (let i = 0; i < 3; i++)
    await call(base, 'POST', '/v1/sessions', { body: { username: 'dave', password: `wrong-${i}` } });
  assertError(
    await call(base, 'POST', '/v1/sessions', { body: { username: 'dave', password: 'wrong' } }),
    429,
    117,
    'logons throttled',
  );
}

async function pagination(mesh: V1Mesh): Promise<void> {
  const { base, ann, bob } = mesh;
  assert.equal((await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'busy' } })).status, 201);
  const ids = await postMany(base, 'busy', [ann, bob], 250);
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    Array.from({ length: 250 }, (_, i) => i + 1),
  );

  const up = await walk(base, ann, '/v1/channels/busy/messages?_limit=40');
  assert.deepEqual(
    up.pages.map((p) => p.length),
    [40, 40, 40, 40, 40, 40, 10],
  );
  assert.deepEqual(
    up.pages.flat().map((m) => m.messageid),
    Array.from({ length: 250 }, (_, i) => i + 1),
  );
  assert.ok(
    up.totals.every((n) => n === '250'),
    up.totals.join(),
  );
  // Each item carries the store's last_modified (ms since the epoch), strictly increasing in id order.
  const stamps = up.pages.flat().map((m) => m.last_modified as number);
  assert.ok(
    stamps.every((t, i) => Number.isSafeInteger(t) && t > 1e12 && (i === 0 || t > stamps[i - 1])),
    stamps.join(),
  );

  const down = await walk(base, ann, '/v1/channels/busy/messages?_limit=64&_sort=-messageid');
  assert.deepEqual(
    down.pages.flat().map((m) => m.messageid),
    Array.from({ length: 250 }, (_, i) => 250 - i),
  );

  // The server's maximum (50) caps a larger _limit, and applies without one.
  const capped = await call(base, 'GET', '/v1/channels/busy/messages?_limit=1000', { key: ann });
  assert.equal((capped.body as { data: unknown[] }).data.length, 50);
  assert.equal((await walk(base, ann, '/v1/channels/busy/messages')).pages.length, 5);

  // A message posted during a walk shows up once, at the end; nothing is skipped or repeated.
  const first = await call(base, 'GET', '/v1/channels/busy/messages?_limit=100', { key: ann });
  await postMany(base, 'busy', [bob], 1);
  const rest = await walk(base, ann, String(first.headers.get('next-page')));
  const seen = [...(first.body as { data: Json[] }).data, ...rest.pages.flat()].map((m) => m.messageid);
  assert.deepEqual(
    seen,
    Array.from({ length: 251 }, (_, i) => i + 1),
  );
}

async function sortingAndFilters(mesh: V1Mesh): Promise<void> {
  const { base, bob } = mesh;
  const get = async (query: string): Promise<Json[]> => {
    const res = await call(base, 'GET', `/v1/channels/busy/messages?${query}`, { key: bob });
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    return (res.body as { data: Json[] }).data;
  };
  const anns = await get('username=ann&_limit=50');
  assert.ok(anns.length === 50 && anns.every((m) => m.username === 'ann'));
  assert.deepEqual(
    (await get('in_messageid=3,5,250,999')).map((m) => m.messageid),
    [3, 5, 250],
  );
  assert.deepEqual(
    (await get('min_messageid=10&max_messageid=12')).map((m) => m.messageid),
    [10, 11, 12],
  );
  // _since and _before compare last_modified (as an ETag, quoted, too), not ids.
  const [at4] = await get('messageid=4');
  const [at247] = await get('messageid=247');
  assert.deepEqual(
    (await get(`_since=${String(at247.last_modified)}`)).map((m) => m.messageid),
    [248, 249, 250, 251],
  );
  assert.deepEqual(
    (await get(`_since="${String(at247.last_modified)}"&_sort=-last_modified`)).map((m) => m.messageid),
    [251, 250, 249, 248],
  );
  assert.deepEqual(
    (await get(`_before=${String(at4.last_modified)}`)).map((m) => m.messageid),
    [1, 2, 3],
  );
  assert.equal((await get('_since=247&_limit=50')).length, 50, 'an id is no timestamp: every message is after 247 ms');
  assert.deepEqual(await get('_before=4'), []);
  // last_modified is a field like the others: filtered and sorted on.
  const [at248] = await get('messageid=248');
  assert.deepEqual(
    (await get(`min_last_modified=${String(at248.last_modified)}`)).map((m) => m.messageid),
    [248, 249, 250, 251],
  );
  assert.deepEqual(
    (await get('_sort=-last_modified&_limit=3')).map((m) => m.messageid),
    [251, 250, 249],
  );
  const tenths = await get('like_message=tenth&max_messageid=60');
  assert.deepEqual(
    tenths.map((m) => m.message),
    [
      'message 0 TENTH',
      'message 10 TENTH',
      'message 20 TENTH',
      'message 30 TENTH',
      'message 40 TENTH',
      'message 50 TENTH',
    ],
  );
  assert.equal(
    (await get('like_message=mess*TENTH&_limit=50')).length,
    26,
    'messages 0, 10, …, 240, and the 0 posted during a walk',
  );
  assert.equal((await get('has_username=false')).length, 0);
  const sorted = await get('_sort=username,-messageid&_limit=50&min_messageid=241');
  assert.deepEqual(
    sorted.map((m) => `${String(m.username)}:${String(m.messageid)}`),
    [...sorted]
      .sort((a, b) =>
        a.username === b.username
          ? (b.messageid as number) - (a.messageid as number)
          : String(a.username) < String(b.username)
            ? -1
            : 1,
      )
      .map((m) => `${String(m.username)}:${String(m.messageid)}`),
  );
  assert.deepEqual(new Set(sorted.map((m) => m.username)), new Set(['ann', 'bob']));
  const channels = await call(base, 'GET', '/v1/channels?like_name=bus&_sort=-name', { key: bob });
  const [busy] = (channels.body as { data: Json[] }).data;
  assert.deepEqual(channels.body, { data: [{ id: 'busy', name: 'busy', last_modified: busy.last_modified }] });
  const stamp = Number(busy.last_modified);
  assert.ok(Number.isSafeInteger(stamp) && stamp > 1_600_000_000_000, `a timestamp: ${stamp}`);
  const named = await call(base, 'GET', '/v1/channels?_fields=name&like_name=bus', { key: bob });
  assert.deepEqual(named.body, { data: [{ id: 'busy', name: 'busy', last_modified: stamp }] }, '_fields keeps id');
}

/** Unknown filters and sort fields, bad bounds, forged or foreign tokens: 400 naming the parameter. */
async function refusedQueries(mesh: V1Mesh): Promise<void> {
  const { base, bob } = mesh;
  const unknown = assertError(
    await call(base, 'GET', '/v1/channels/busy/messages?colour=red', { key: bob }),
    400,
    107,
    'unknown filter',
  );
  assert.deepEqual(unknown.details, [{ location: 'querystring', name: 'colour', description: 'is not allowed here' }]);
  assert.deepEqual(
    detailNames(
      assertError(
        await call(base, 'GET', '/v1/channels/busy/messages?_sort=colour', { key: bob }),
        400,
        107,
        'unknown sort field',
      ),
    ),
    ['_sort'],
  );
  assert.deepEqual(
    detailNames(
      assertError(
        await call(base, 'GET', '/v1/channels/busy/messages?min_messageid=ten', { key: bob }),
        400,
        107,
        'non-integer bound',
      ),
    ),
    ['min_messageid'],
  );
  assert.deepEqual(
    detailNames(
      assertError(
        await call(base, 'GET', '/v1/channels/busy/messages?_token=garbage', { key: bob }),
        400,
        107,
        'forged token',
      ),
    ),
    ['_token'],
  );
  const page = await call(base, 'GET', '/v1/channels/busy/messages?_limit=5&username=ann', { key: bob });
  const token = new URL(String(page.headers.get('next-page'))).searchParams.get('_token');
  assertError(
    await call(base, 'GET', `/v1/channels/busy/messages?_limit=5&username=bob&_token=${token}`, { key: bob }),
    400,
    107,
    'token of other filters',
  );
  assertError(await call(base, 'GET', '/v1/channels/busy/messages?_limit=0', { key: bob }), 400, 107, '_limit 0');
}

/** A record's last_modified, checked to be ms since the epoch. */
function stampOf(record: unknown): number {
  const stamp = (record as Json).last_modified;
  assert.ok(Number.isSafeInteger(stamp) && (stamp as number) > 1e12, `last_modified ${String(stamp)}`);
  return stamp as number;
}

async function versions(mesh: V1Mesh): Promise<void> {
  const { base, ann, bob } = mesh;
  const list = await call(base, 'GET', '/v1/channels/busy/messages?_limit=1', { key: ann });
  const newest = await call(base, 'GET', '/v1/channels/busy/messages?_sort=-messageid&_limit=2', { key: ann });
  const [at251, at250] = (newest.body as { data: Json[] }).data.map(stampOf);
  // The list's version is the collection's timestamp, the newest message's last_modified, as Kinto's.
  const tag251 = `"${at251}"`;
  assert.equal(list.headers.get('etag'), tag251, "a message list's ETag: its newest last_modified");
  assert.equal(list.headers.get('last-modified'), new Date(at251).toUTCString());
  assert.equal(
    (await call(base, 'GET', '/v1/channels/busy/messages', { key: ann, headers: { 'if-none-match': tag251 } })).status,
    304,
  );
  assert.equal(
    (
      await call(base, 'GET', '/v1/channels/busy/messages', {
        key: ann,
        headers: { 'if-modified-since': new Date(at251).toUTCString() },
      })
    ).status,
    304,
  );
  for (const tag of [`"${at250}"`, '"251"']) {
    const stale = assertError(
      await call(base, 'POST', '/v1/channels/busy/messages', {
        key: ann,
        body: { message: 'late' },
        headers: { 'if-match': tag },
      }),
      412,
      114,
      `stale If-Match ${tag}`,
    );
    assert.equal(stale.info, `current ETag: ${tag251}`);
    assert.deepEqual(stale.details, { existing: null }, 'a post overwrites nothing: no existing record');
  }
  const posted = await call(base, 'POST', '/v1/channels/busy/messages', {
    key: ann,
    body: { message: 'on time' },
    headers: { 'if-match': tag251 },
  });
  assert.equal(posted.status, 201);
  const at252 = stampOf(posted.rec);
  assert.ok(at252 > at251);
  assert.deepEqual(posted.rec, { id: '252', messageid: 252, message: 'on time', last_modified: at252 });
  assert.equal(posted.headers.get('etag'), `"${at252}"`, "a message's ETag: its last_modified");
  assert.equal(posted.headers.get('last-modified'), new Date(at252).toUTCString());
  assert.equal(posted.headers.get('location'), '/v1/channels/busy/messages/252');
  const one = await call(base, 'GET', '/v1/channels/busy/messages/252', { key: bob });
  assert.equal(one.headers.get('etag'), `"${at252}"`);
  assert.deepEqual(one.body, {
    data: { id: '252', messageid: 252, username: 'ann', message: 'on time', last_modified: at252 },
    permissions: {},
  });
  const cut = await call(base, 'GET', '/v1/channels/busy/messages/252?_fields=message', { key: bob });
  assert.deepEqual(
    cut.rec,
    { id: '252', message: 'on time', last_modified: stampOf(cut.rec) },
    '_fields on one record',
  );
  assert.equal(
    (
      await call(base, 'GET', '/v1/channels/busy/messages/252', {
        key: bob,
        headers: { 'if-none-match': String(one.headers.get('etag')) },
      })
    ).status,
    304,
  );
  assert.equal(
    (
      await call(base, 'GET', '/v1/channels/busy/messages?_limit=1', {
        key: ann,
        headers: { 'if-none-match': tag251 },
      })
    ).status,
    200,
    'a new message changes the list ETag',
  );
  // An empty channel: ETag "0" and no Last-Modified, as any empty collection; If-Match "0" posts its first.
  assert.equal((await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'empty' } })).status, 201);
  const empty = await call(base, 'GET', '/v1/channels/empty/messages', { key: ann });
  assert.deepEqual([empty.headers.get('etag'), empty.headers.get('last-modified')], ['"0"', null]);
  const firstPost = (tag: string) =>
    call(base, 'POST', '/v1/channels/empty/messages', {
      key: ann,
      body: { message: 'first' },
      headers: { 'if-match': tag },
    });
  assertError(await firstPost('"1"'), 412, 114, 'an empty channel is at "0"');
  assert.equal((await firstPost('"0"')).status, 201);
  assertError(await firstPost('"0"'), 412, 114, 'no longer empty');
  await channelVersions(mesh);
}

/** A channel and the channel list: ETag, Last-Modified, If-None-Match, If-Match, If-(Un)Modified-Since. */
async function channelVersions({ base, ann }: V1Mesh): Promise<void> {
  const channels = await call(base, 'GET', '/v1/channels', { key: ann });
  const listTag = String(channels.headers.get('etag'));
  assert.equal(
    (await call(base, 'GET', '/v1/channels', { key: ann, headers: { 'if-none-match': listTag } })).status,
    304,
  );
  const channel = await call(base, 'GET', '/v1/channels/busy', { key: ann });
  const stamp = Number(channel.rec.last_modified);
  assert.deepEqual(
    [channel.headers.get('etag'), channel.headers.get('last-modified'), channel.body],
    [
      `"${stamp}"`,
      new Date(stamp).toUTCString(),
      {
        data: { id: 'busy', name: 'busy', last_modified: stamp },
        permissions: { read: ['system.Authenticated'], write: ['system.Authenticated', 'account:ann'] },
      },
    ],
    'a channel is a record: its ETag and Last-Modified are its timestamp',
  );
  assert.equal(
    (
      await call(base, 'GET', '/v1/channels/busy', {
        key: ann,
        headers: { 'if-none-match': String(channel.headers.get('etag')) },
      })
    ).status,
    304,
  );
  // If-Modified-Since (without If-None-Match): 304 from the second of Last-Modified on, 200 before it.
  const at = (ms: number): Record<string, string> => ({ 'if-modified-since': new Date(ms).toUTCString() });
  const since = (ms: number) => call(base, 'GET', '/v1/channels/busy', { key: ann, headers: at(ms) });
  assert.equal((await since(stamp)).status, 304);
  assert.equal((await since(stamp - 1000)).status, 200);
  assert.equal((await since(Number.NaN)).status, 200, 'a date that is not one is ignored');
  assert.equal((await call(base, 'GET', '/v1/channels', { key: ann, headers: at(Date.now() + 5000) })).status, 304);
  const existing = assertError(
    await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'busy' }, headers: { 'if-none-match': '*' } }),
    412,
    114,
    'create-only on an existing channel',
  );
  assert.deepEqual(existing.details, { existing: { id: 'busy', name: 'busy', last_modified: stamp } });
  const again = await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'busy' } });
  assert.equal(again.status, 200, 'creating an existing channel without a precondition is a no-op');
  assert.equal(
    (
      await call(base, 'POST', '/v1/channels', {
        key: ann,
        body: { name: 'fresh' },
        headers: { 'if-none-match': '*', 'if-match': listTag },
      })
    ).status,
    201,
  );
  assertError(
    await call(base, 'POST', '/v1/channels', {
      key: ann,
      body: { name: 'fresher' },
      headers: { 'if-match': listTag },
    }),
    412,
    114,
    'the list changed since its ETag',
  );
  assertError(
    await call(base, 'GET', '/v1/channels/fresher', { key: ann }),
    404,
    111,
    'a refused create created nothing',
  );
  // If-Unmodified-Since (without If-Match): 412 once the list changed after the date.
  const unmodified = (ms: number, name: string) =>
    call(base, 'POST', '/v1/channels', {
      key: ann,
      body: { name },
      headers: { 'if-unmodified-since': new Date(ms).toUTCString() },
    });
  assertError(await unmodified(stamp - 1000, 'too-late'), 412, 114, 'the list changed after that date');
  assert.equal((await unmodified(Date.now() + 5000, 'in-time')).status, 201);
  // A message list's version is a timestamp too: If-Unmodified-Since applies to a post.
  const dated = (ms: number) =>
    call(base, 'POST', '/v1/channels/busy/messages', {
      key: ann,
      body: { message: 'dated' },
      headers: { 'if-unmodified-since': new Date(ms).toUTCString() },
    });
  assertError(await dated(0), 412, 114, 'the message list changed after that date');
  assert.equal((await dated(Date.now() + 5000)).status, 201);
}

async function ifMatchRace(mesh: V1Mesh): Promise<void> {
  const { base, ann, bob } = mesh;
  assert.equal((await call(base, 'POST', '/v1/channels', { key: ann, body: { name: 'race' } })).status, 201);
  const seed = await call(base, 'POST', '/v1/channels/race/messages', { key: ann, body: { message: 'seed' } });
  const version = String(seed.headers.get('etag'));
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      call(base, 'POST', '/v1/channels/race/messages', {
        key: i % 2 === 0 ? ann : bob,
        body: { message: `racer ${i}` },
        headers: { 'if-match': version },
      }),
    ),
  );
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [201, ...Array<number>(11).fill(412)],
    answers.map((a) => a.text).join('\n'),
  );
  for (const refused of answers.filter((a) => a.status === 412)) assertError(refused, 412, 114, 'a racer that lost');
  const list = await call(base, 'GET', '/v1/channels/race/messages', { key: ann });
  assert.deepEqual(
    (list.body as { data: Json[] }).data.map((m) => m.messageid),
    [1, 2],
    'one racer posted, the others nothing',
  );
}

async function batches(mesh: V1Mesh): Promise<void> {
  const { base, bob } = mesh;
  const res = await call(base, 'POST', '/v1/batch', {
    key: bob,
    body: {
      defaults: { method: 'POST' },
      requests: [
        { path: '/channels', body: { name: 'batched' } },
        { path: '/v1/channels/batched/messages', body: { message: 'from a batch' } },
        { method: 'GET', path: '/channels/batched/messages' },
        { path: '/channels', body: { name: 'not valid!' } },
        { method: 'GET', path: '/nowhere' },
        { method: 'GET', path: '/channels', headers: { Authorization: 'Bearer 1' } },
      ],
    },
  });
  assert.equal(res.status, 200, res.text);
  const responses = (res.body as { responses: Json[] }).responses;
  assert.deepEqual(
    responses.map((r) => r.status),
    [201, 201, 200, 400, 404, 401],
  );
  assert.deepEqual(
    responses.map((r) => r.path),
    [
      '/v1/channels',
      '/v1/channels/batched/messages',
      '/v1/channels/batched/messages',
      '/v1/channels',
      '/v1/nowhere',
      '/v1/channels',
    ],
  );
  const batched = (responses[2].body as { data: Json[] }).data;
  assert.deepEqual(batched, [
    { id: '1', messageid: 1, username: 'bob', message: 'from a batch', last_modified: stampOf(batched[0]) },
  ]);
  assert.equal((responses[2].headers as Json).etag, `"${stampOf(batched[0])}"`);
  assert.equal((responses[3].body as Json).errno, 107);
  assert.deepEqual(
    ((responses[3].body as Json).details as { name: string }[]).map((d) => d.name),
    ['name'],
  );
  assert.equal((responses[4].body as Json).errno, 111);
  assert.equal((responses[5].body as Json).errno, 105);

  const tooMany = assertError(
    await call(base, 'POST', '/v1/batch', {
      key: bob,
      body: { requests: Array.from({ length: 7 }, () => ({ method: 'GET', path: '/channels' })) },
    }),
    400,
    107,
    'over the batch limit',
  );
  assert.deepEqual(detailNames(tooMany), ['requests']);
  const nested = assertError(
    await call(base, 'POST', '/v1/batch', {
      key: bob,
      body: { requests: [{ method: 'POST', path: '/batch', body: { requests: [] } }] },
    }),
    400,
    107,
    'a batch in a batch',
  );
  assert.deepEqual(nested.details, [
    { location: 'body', name: 'requests.0.path', description: 'may not be a batch itself' },
  ]);
  const noMethod = assertError(
    await call(base, 'POST', '/v1/batch', { key: bob, body: { requests: [{ path: '/channels' }] } }),
    400,
    107,
    'no method anywhere',
  );
  assert.deepEqual(noMethod.details, [
    { location: 'body', name: 'requests.0.method', description: 'is required (in the request or in defaults)' },
  ]);
  const anonymous = await call(base, 'POST', '/v1/batch', {
    body: { requests: [{ method: 'GET', path: '/channels' }] },
  });
  assert.equal(
    (anonymous.body as { responses: Json[] }).responses[0].status,
    401,
    'a batch without Authorization gives none to its sub-requests',
  );
}

async function openApiDocument(mesh: V1Mesh): Promise<void> {
  const { base } = mesh;
  const res = await call(base, 'GET', '/v1/openapi.json');
  assert.equal(res.status, 200);
  const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  await SwaggerParser.validate(structuredClone(doc) as never);
  for (const path of ['/logon', '/v1/sessions', '/v1/channels/{name}/messages/{id}', '/v1/batch', '/v1/openapi.json'])
    assert.ok(doc.paths[path] !== undefined, path);
  const ui = await call(base, 'GET', '/v1/docs/');
  assert.equal(ui.status, 200);
  assert.match(ui.text, /swagger/i);
}

async function stoppedService(mesh: V1Mesh): Promise<void> {
  const { base, procs, ann } = mesh;
  await procs.messages.stop();
  assertError(await call(base, 'GET', '/v1/channels/busy/messages', { key: ann }), 503, 201, 'Messages stopped');
  assert.equal((await call(base, 'GET', '/v1/channels/busy', { key: ann })).status, 200);
}

test('the /v1 API through the running mesh', async (t: TestContext) => {
  // 1. The mesh, keeping 300 messages per channel, 50 records per page, batches of 6.
  const { base, procs } = await startMesh(t, {
    AGORA_MESSAGES_RETAINED: '300',
    AGORA_PAGE_MAX_RECORDS: '50',
    AGORA_BATCH_MAX_REQUESTS: '6',
    AGORA_LOGON_MAX_FAILURES: '3',
  });
  const mesh: V1Mesh = { base, procs, ann: await logon(base, 'ann'), bob: await logon(base, 'bob') };

  await t.test('sessions: Bearer key, who am I, 401 with WWW-Authenticate, logoff', () => sessions(mesh));

  await t.test('one error body, with its errno, for each kind of failure', () => errorBodies(mesh));

  await t.test('pagination walks 250 messages page by page with no gap and no repeat', () => pagination(mesh));

  await t.test('sorting and filters; unknown filters and foreign tokens answer 400', async () => {
    await sortingAndFilters(mesh);
    await refusedQueries(mesh);
  });

  await t.test('ETag, If-None-Match and If-Match round trips', () => versions(mesh));

  await t.test('If-Match on a post is exact: of 12 posters naming the same version, one posts and 11 get 412', () =>
    ifMatchRace(mesh),
  );

  await t.test('a batch runs good and bad sub-requests in order, through the same checks', () => batches(mesh));

  await t.test('the OpenAPI document validates as OpenAPI 3 and Swagger UI answers', () => openApiDocument(mesh));

  await t.test('a stopped service answers 503 with errno 201; the others keep serving', () => stoppedService(mesh));
});
