/**
 * gateway/v1/nodes.ts in-process with inject() and a hand-made bus: what reaches
 * Compute, status codes, the /v1 error body, and what never reaches the bus.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import { staleError } from '../../lib/etag';
import { createLogger } from '../../lib/log';
import { buildApp } from '../../gateway/app';

interface Call {
  method: string;
  params: Record<string, unknown>;
  options: CallOptions;
}

/** What the tests read of an answer's body: a node, a page of nodes, or the /v1 error body. */
interface Body {
  code?: number;
  errno?: number;
  info?: string;
  details?: { name: string }[] | { existing: Record<string, unknown> | null };
  data?: { id: string }[];
  permissions?: Record<string, string[]>;
}

/** The record a single answer carries (`data` of `{data, permissions}`). */
const one = (body: Body | undefined): Record<string, unknown> => body?.data as unknown as Record<string, unknown>;

const NODE = {
  id: 'n-1',
  name: 'web',
  owner: 'ann',
  image: 'http',
  size: 'small',
  command: '',
  status: 'BUILDING',
  task: '',
  reason: '',
  host: '',
  port: 0,
  pid: 0,
  exit_code: -1,
  signal: '',
  created_at: 1,
  updated_at: 1,
  version: 5,
  permissions: { read: ['account:bo'], write: ['account:ann'] },
};

/** NODE as /v1 shows it: a record whose last_modified is its version, its permissions beside it. */
const { version: _version, permissions: PERMISSIONS, ...FIELDS } = NODE;
const RECORD = { ...FIELDS, last_modified: 5 };

/** A Compute that answers `answer(method, params)` and records each call. */
function setUp(answer: (method: string, params: Record<string, unknown>) => unknown = () => NODE) {
  const calls: Call[] = [];
  const bus: BusCaller = {
    async call(service, method, params, options) {
      assert.equal(service, 'Compute');
      calls.push({ method, params: params[0] as Record<string, unknown>, options });
      return answer(method, params[0] as Record<string, unknown>);
    },
  };
  const app = buildApp({
    bus,
    log: createLogger('gateway', 'silent'),
    config: { busMaxBodyBytes: 65_536, requestTimeoutMs: 3000 },
  });
  const inject = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    auth: string | null = 'Bearer 77',
    extra: Record<string, string> = {},
  ) => {
    const headers: Record<string, string> = auth === null ? { ...extra } : { authorization: auth, ...extra };
    const res = await app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body === '' ? undefined : res.json<Body>() };
  };
  return { calls, inject };
}

test('each route makes one Compute call with the session key and its fields, and answers its status', async () => {
  const { calls, inject } = setUp((method) =>
    method === 'List' ? { nodes: [NODE], version: 3 } : method === 'Output' ? { id: 'n-1', lines: ['a'] } : NODE,
  );
  const created = await inject('POST', '/v1/nodes', { name: 'web', image: 'http', size: 'small' });
  assert.equal(created.status, 201);
  assert.equal(created.headers.location, '/v1/nodes/n-1');
  assert.deepEqual(created.body, { data: RECORD, permissions: PERMISSIONS });
  assert.deepEqual([created.headers.etag, created.headers['last-modified']], ['"5"', new Date(5).toUTCString()]);
  const listed = await inject('GET', '/v1/nodes');
  assert.deepEqual([listed.body, listed.headers.etag], [{ data: [RECORD] }, '"3"'], "the list's ETag is its version");
  assert.equal((await inject('GET', '/v1/nodes/n-1')).status, 200);
  assert.deepEqual((await inject('GET', '/v1/nodes/n-1/output')).body, { id: 'n-1', lines: ['a'] });
  assert.equal((await inject('PATCH', '/v1/nodes/n-1', { action: 'stop' })).status, 200);
  assert.equal((await inject('DELETE', '/v1/nodes/n-1')).status, 202);
  assert.deepEqual(
    calls.map((c) => [c.method, c.params]),
    [
      ['Create', { name: 'web', image: 'http', size: 'small', sesskey: 77 }],
      ['List', { sesskey: 77 }],
      ['Get', { sesskey: 77, id: 'n-1' }],
      ['Output', { sesskey: 77, id: 'n-1' }],
      ['Update', { action: 'stop', sesskey: 77, id: 'n-1' }],
      ['Delete', { sesskey: 77, id: 'n-1' }],
    ],
  );
  // Writes that are not idempotent are not retried by the broker; every call has a deadline.
  assert.deepEqual(
    calls.map((c) => c.options.idempotent),
    [false, true, true, true, false, true],
  );
  assert.ok(calls.every((c) => typeof c.options.deadline === 'number'));
});

test('refused at the edge, before any bus call: no session, bad bodies, unknown fields', async () => {
  const { calls, inject } = setUp();
  const missing = await inject('GET', '/v1/nodes', undefined, null);
  assert.deepEqual(
    [missing.status, missing.body?.errno, missing.headers['www-authenticate'] !== undefined],
    [401, 104, true],
  );
  assert.equal((await inject('DELETE', '/v1/nodes/x', undefined, 'Bearer 0')).status, 401);
  for (const [method, url, body, field] of [
    ['POST', '/v1/nodes', { image: 'http' }, 'name'],
    ['POST', '/v1/nodes', { name: 'web', image: 'http', sesskey: 1 }, 'sesskey'],
    ['POST', '/v1/nodes', { name: 'web', image: ['http'] }, 'image'],
    ['PATCH', '/v1/nodes/x', { action: 'reboot' }, 'action'],
    ['PATCH', '/v1/nodes/x', { id: 'y' }, 'id'],
  ] as const) {
    const answer = await inject(method, url, body);
    assert.equal(answer.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body?.errno, 107);
    assert.equal(
      (answer.body.details as { name: string }[] | undefined)?.[0]?.name,
      field,
      JSON.stringify(answer.body),
    );
  }
  assert.equal((await inject('PATCH', '/v1/nodes/x', {})).status, 400);
  assert.deepEqual(calls, []);
});

test("Compute's failures keep their status and errno; a malformed reply is a 502", async () => {
  const codes: Record<string, AgoraError> = {
    Get: new AgoraError('AGORA_ERR_NODE_NOT_FOUND', ['"x"']),
    Update: new AgoraError('AGORA_ERR_NODE_CONFLICT', ['start', 'ACTIVE']),
    Create: new AgoraError('AGORA_ERR_NODE_LIMIT', [3]),
    Delete: new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['Compute']),
  };
  const { inject } = setUp((method) => {
    if (method === 'List') return 'not a map';
    throw codes[method];
  });
  const expect: Array<[Promise<{ status: number; body?: Body }>, number, number]> = [
    [inject('GET', '/v1/nodes/x'), 404, 111],
    [inject('PATCH', '/v1/nodes/x', { action: 'start' }), 409, 122],
    [inject('POST', '/v1/nodes', { name: 'web', image: 'http' }), 403, 121],
    [inject('DELETE', '/v1/nodes/x'), 503, 201],
    [inject('GET', '/v1/nodes'), 502, 999],
  ];
  for (const [promise, status, errno] of expect) {
    const answer = await promise;
    assert.deepEqual(
      [answer.status, answer.body?.code, answer.body?.errno],
      [status, status, errno],
      JSON.stringify(answer.body),
    );
  }
});

test('the node list follows the /v1 list protocol: filters, sort, pages, Total-Records, unknown filters refused', async () => {
  const nodes = [1, 2, 3].map((i) => ({
    ...NODE,
    id: `n-${i}`,
    name: `web-${i}`,
    status: i === 2 ? 'STOPPED' : 'ACTIVE',
    created_at: i,
    updated_at: 10 * i,
    version: 10 * i,
  }));
  const { inject } = setUp((method) => (method === 'List' ? { nodes, version: 1 } : NODE));
  const active = await inject('GET', '/v1/nodes?status=ACTIVE&_sort=-created_at');
  assert.deepEqual(
    active.body?.data?.map((n) => n.id),
    ['n-3', 'n-1'],
  );
  assert.equal(active.headers['total-records'], '2');
  assert.equal((await inject('GET', '/v1/nodes?_since=15')).body?.data?.length, 2);
  assert.equal((await inject('GET', '/v1/nodes?_since="15"&_before=30')).body?.data?.length, 1, 'an ETag as _since');
  // Page by page: each page names the next in Next-Page until the last.
  const seen: string[] = [];
  let url: string | undefined = '/v1/nodes?_limit=2';
  while (url !== undefined) {
    const page = await inject('GET', url);
    assert.equal(page.status, 200);
    const data = page.body?.data;
    assert.ok(data !== undefined, url);
    seen.push(...data.map((n) => n.id));
    const next = page.headers['next-page'];
    url = typeof next === 'string' ? new URL(next).pathname + new URL(next).search : undefined;
  }
  assert.deepEqual(seen, ['n-1', 'n-2', 'n-3']);
  const unknown = await inject('GET', '/v1/nodes?colour=red');
  assert.deepEqual([unknown.status, unknown.body?.errno], [400, 107]);
});

test('tombstones: a _since reader sees the nodes deleted after it, others never; Last-Modified and _fields', async () => {
  const nodes = [1, 2].map((i) => ({ ...NODE, id: `n-${i}`, name: `web-${i}`, created_at: i, version: 100 * i }));
  const deleted = [
    { id: 'gone-1', last_modified: 150 },
    { id: 'gone-2', last_modified: 250 },
  ];
  const { inject } = setUp((method) => (method === 'List' ? { nodes, version: 250, deleted } : NODE));
  const all = await inject('GET', '/v1/nodes');
  assert.deepEqual(
    all.body?.data?.map((n) => n.id),
    ['n-1', 'n-2'],
    'no tombstone without _since',
  );
  assert.deepEqual([all.headers.etag, all.headers['last-modified']], ['"250"', new Date(250).toUTCString()]);
  const since = await inject('GET', '/v1/nodes?_since=120&_sort=last_modified&_fields=name');
  assert.deepEqual(since.body?.data, [
    { id: 'gone-1', last_modified: 150, deleted: true },
    { id: 'n-2', name: 'web-2', last_modified: 200 },
    { id: 'gone-2', last_modified: 250, deleted: true },
  ]);
  const filtered = await inject('GET', '/v1/nodes?_since=0&name=web-1');
  assert.deepEqual(
    filtered.body?.data?.map((n) => n.id),
    ['n-1'],
    'a tombstone has no fields to match a filter on',
  );
  const filters = await inject('GET', '/v1/nodes?not_name=web-1&gt_last_modified=99&contains_any_name=2,9');
  assert.deepEqual(
    filters.body?.data?.map((n) => n.id),
    ['n-2'],
  );
  const newest = await inject('GET', '/v1/nodes?_sort=-last_modified&_limit=1');
  assert.deepEqual(
    newest.body?.data?.map((n) => n.id),
    ['n-2'],
  );
  const bad = await inject('GET', '/v1/nodes?lt_port=ten');
  assert.deepEqual([bad.status, bad.body?.errno], [400, 107]);
  const notModified = await inject('GET', '/v1/nodes', undefined, 'Bearer 77', {
    'if-modified-since': new Date(1000).toUTCString(),
  });
  assert.equal(notModified.status, 304, 'the list did not change after that second');
});

test('ETags on nodes: the version; 304 on an unchanged read; If-Match travels to Compute, whose 412 is rendered with the current ETag', async () => {
  let current: Record<string, unknown> = { ...NODE, status: 'ACTIVE', version: 4 };
  const { calls, inject } = setUp((method, params) => {
    if (method === 'Get') return current;
    // A Compute comparing the version as it writes (services/compute claims the record in one step).
    if (params.check_version === true && params.expected_version !== current.version) {
      throw staleError('AGORA_ERR_NODE_STALE', ['n-1', params.expected_version], Number(current.version));
    }
    current = {
      ...current,
      status: method === 'Update' ? 'STOPPED' : 'DELETING',
      version: Number(current.version) + 1,
    };
    return current;
  });
  const first = await inject('GET', '/v1/nodes/n-1');
  assert.equal(first.headers.etag, '"4"');
  const unchanged = await inject('GET', '/v1/nodes/n-1', undefined, 'Bearer 77', { 'if-none-match': '"4"' });
  assert.deepEqual([unchanged.status, unchanged.body, unchanged.headers.etag], [304, undefined, '"4"']);
  // 1. A write naming the current version: Compute is asked to compare it, and answers the new one.
  const stopped = await inject('PATCH', '/v1/nodes/n-1', { action: 'stop' }, 'Bearer 77', { 'if-match': '"4"' });
  assert.deepEqual([stopped.status, stopped.headers.etag, one(stopped.body).last_modified], [200, '"5"', 5]);
  assert.deepEqual(calls.at(-1)?.params, {
    action: 'stop',
    check_version: true,
    expected_version: 4,
    sesskey: 77,
    id: 'n-1',
  });
  assert.equal(calls.filter((c) => c.method === 'Get').length, 2, 'a single version tag needs no read first');
  // 2. The old version again: Compute refuses; 412, errno 114, the current ETag in info.
  const stale = await inject('PATCH', '/v1/nodes/n-1', { action: 'start' }, 'Bearer 77', { 'if-match': '"4"' });
  assert.deepEqual([stale.status, stale.body?.errno, stale.body?.info], [412, 114, 'current ETag: "5"']);
  assert.deepEqual(
    stale.body?.details,
    { existing: { ...RECORD, status: 'STOPPED', last_modified: 5 } },
    'a 412 shows the record as it is now',
  );
  const staleDelete = await inject('DELETE', '/v1/nodes/n-1', undefined, 'Bearer 77', { 'if-match': '"4"' });
  assert.deepEqual([staleDelete.status, staleDelete.body?.info], [412, 'current ETag: "5"']);
  assert.equal(
    calls.filter((c) => c.method === 'Delete').at(-1)?.options.idempotent,
    false,
    'a compared delete is not retried',
  );
  assert.equal(calls.at(-1)?.method, 'Get', "the record as it is now read for the 412's details");
  // 3. A tag that names no version is refused at the edge against a fresh read, before any write.
  const writes = calls.filter((c) => c.method !== 'Get').length;
  const foreign = await inject('DELETE', '/v1/nodes/n-1', undefined, 'Bearer 77', { 'if-match': '"abc"' });
  assert.deepEqual([foreign.status, foreign.body?.info], [412, 'current ETag: "5"']);
  assert.equal(calls.filter((c) => c.method !== 'Get').length, writes);
  // 4. Several tags, one of them current: the version read is the one compared at the write.
  const deleted = await inject('DELETE', '/v1/nodes/n-1', undefined, 'Bearer 77', { 'if-match': '"3", "5"' });
  assert.deepEqual([deleted.status, deleted.headers.etag], [202, '"6"']);
  assert.deepEqual(calls.at(-1)?.params, { id: 'n-1', check_version: true, expected_version: 5, sesskey: 77 });
});
