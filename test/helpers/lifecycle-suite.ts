/**
 * The whole node lifecycle through the gateway, with real node processes, for one driver
 * (docs/COMPUTE.md). test/integration/compute-lifecycle.test.ts runs it for each driver.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { until } from './bus';
import { startComputeMesh, type ComputeMesh } from './compute';
import { ended } from './proc';
import type { DriverSpec } from './drivers';
import { call, logon } from './v1';

interface Node {
  id: string;
  name: string;
  owner: string;
  image: string;
  size: string;
  status: string;
  task: string;
  reason: string;
  host: string;
  port: number;
  pid: number;
  exit_code: number;
  signal: string;
}
/** What the gateway answers in this suite: a node, a list of them, a node's output, or a Cliquet error body. */
interface Body extends Partial<Node> {
  data?: Node[];
  lines?: string[];
  code?: number;
  errno?: number;
  error?: string;
  message?: string;
}
interface Answer {
  status: number;
  headers: Headers;
  body: Body;
}
type Api = ReturnType<typeof apiOf>;

/** What the steps share: the mesh, its gateway, its two users, and alice's node `web` as the last step left it. */
class Steps {
  /** Set by the create step. */
  web!: Node;
  readonly api: Api;

  constructor(
    readonly mesh: ComputeMesh,
    readonly alice: number,
    readonly bob: number,
  ) {
    this.api = apiOf(mesh);
  }

  /** A node as `key`'s user sees it (alice by default). */
  readonly get = (id: string, key = this.alice): Promise<Answer> => this.api('GET', `/v1/nodes/${id}`, key);

  /** Wait until the node is in `status` with no task running; its last answer. */
  readonly settle = (id: string, status: string): Promise<Answer> =>
    poll(
      () => this.get(id),
      (a) => a.status === 200 && a.body.status === status && a.body.task === '',
      SETTLE_MS,
    );
}

const LIMIT = 3;
/** How long a node may take to become ACTIVE, STOPPED or gone on a loaded 2-core machine. */
const SETTLE_MS = 20_000;

/** Register the lifecycle test for `driver`. */
export function nodeLifecycleSuite(driver: DriverSpec): void {
  test(`node lifecycle through the gateway (${driver.name} driver)`, async (t) => {
    if (await driver.available(t)) await lifecycle(t, driver);
  });
}

/** Read until `done` holds of what was read; answers it, or fails after `ms`. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  let last!: T;
  await until(async () => done((last = await read())), ms);
  return last;
}

/** The steps in order. */
async function lifecycle(t: TestContext, driver: DriverSpec): Promise<void> {
  const mesh = await startComputeMesh(t, driver, { computeEnv: { AGORA_COMPUTE_MAX_NODES_PER_USER: String(LIMIT) } });
  const s = new Steps(mesh, await logon(mesh.http, 'alice'), await logon(mesh.http, 'bob'));

  await t.test('no session or a bad one: 401 in the /v1 error body', () => unauthenticated(s));
  await t.test('bad inputs: 400 for malformed, 422 for what the catalogue does not hold', () => badInputs(s));
  await t.test('create answers 201 in BUILDING; the node turns ACTIVE and answers on its port', () => create(s));
  await t.test('another user can neither see nor touch it: 404', () => othersSeeNothing(s));
  await t.test('illegal transitions: 409; bad PATCH bodies: 400', () => illegalTransitions(s));
  await t.test('stop: the node stops answering; rename and resize while STOPPED; start again', () =>
    stopChangeStart(s),
  );
  await t.test('a node killed from outside is reported in ERROR with how it ended', () => killedFromOutside(s));
  await t.test('the per-user limit: 403 beyond it, other users unaffected', () => perUserLimit(s));
  await t.test('compute restarted mid-way loses nothing', () => computeRestarted(s));
  await t.test(
    'the driver killed (SIGKILL) and started again: its node stays ACTIVE, the same process, answering',
    () => driverKilled(s),
  );
  await t.test('the driver restarted: its nodes are reported lost (ERROR), and start makes them again', () =>
    driverRestarted(s),
  );
  await t.test('delete answers 202 in DELETING; the process goes and the node with it', () => deleted(s));
}

async function unauthenticated({ api }: Steps): Promise<void> {
  // Kinto errnos: 104 no credentials, 105 credentials that are malformed or not a live session.
  for (const [key, errno] of [
    [undefined, 104],
    ['Bearer nope', 105],
    ['Basic YWxpY2U=', 105], // "alice": Basic credentials without the password
    ['Bearer 12345', 105],
  ] as const) {
    const answer = await api('GET', '/v1/nodes', undefined, undefined, key === undefined ? {} : { authorization: key });
    assert.equal(answer.status, 401, JSON.stringify(answer.body));
    assert.equal(answer.body.code, 401);
    assert.equal(answer.body.errno, errno, `${key}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error, 'Unauthorized');
  }
  assert.equal((await api('POST', '/v1/nodes', undefined, { name: 'web', image: 'http' })).status, 401);
}

async function badInputs({ api, alice }: Steps): Promise<void> {
  const cases: Array<[unknown, number, RegExp]> = [
    [{ image: 'http' }, 400, /required property 'name'/],
    [{ name: 'web' }, 400, /required property 'image'/],
    [{ name: 'no spaces', image: 'http' }, 400, /name "no spaces" may only hold/],
    [{ name: 'x'.repeat(64), image: 'http' }, 400, /at most 63/],
    [{ name: 'Web', image: 'http' }, 400, /lower-case letters/],
    [{ name: 'web', image: 'http', colour: 'red' }, 400, /colour in body is not allowed/],
    [{ name: 'web', image: 42 }, 400, /image in body must be string/],
    [[1, 2], 400, /body must be object/],
    [{ name: 'web', image: 'windows' }, 422, /Unknown image "?windows"?/],
    [{ name: 'web', image: 'http', size: 'huge' }, 422, /Unknown size "?huge"?/],
    [{ name: 'web', image: 'command', command: 'sleep 60' }, 422, /not allowed/],
  ];
  for (const [body, status, message] of cases) {
    const answer = await api('POST', '/v1/nodes', alice, body);
    assert.equal(answer.status, status, `${JSON.stringify(body)} → ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.errno, 107);
    assert.match(String(answer.body.message), message);
  }
  const notJson = await api('POST', '/v1/nodes', alice, '{"name":');
  assert.equal(notJson.status, 400);
  assert.equal(nodesOf(await api('GET', '/v1/nodes', alice)).length, 0, 'a refused create left a node');
}

async function create(s: Steps): Promise<void> {
  const { api, alice, settle } = s;
  const created = await api('POST', '/v1/nodes', alice, { name: 'web', image: 'http' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const node = created.body as Node;
  assert.equal(created.headers.get('location'), `/v1/nodes/${node.id}`);
  assert.equal(node.status, 'BUILDING');
  assert.deepEqual([node.name, node.owner, node.image, node.size], ['web', 'alice', 'http', 'small']);
  s.web = (await settle(node.id, 'ACTIVE')).body as Node;
  const { web } = s;
  assert.equal(web.host, '127.0.0.1');
  assert.deepEqual(await hello(web), { id: web.id, name: 'web', image: 'http', size: 'small' });
  const list = await api('GET', '/v1/nodes', alice);
  assert.deepEqual(
    nodesOf(list).map((n) => n.id),
    [web.id],
  );
  const output = await api('GET', `/v1/nodes/${web.id}/output`, alice);
  assert.equal(output.status, 200);
  assert.ok(
    output.body.lines?.some((l) => l.includes('listening')),
    JSON.stringify(output.body),
  );
}

async function othersSeeNothing({ api, bob, get, web }: Steps): Promise<void> {
  assert.deepEqual((await api('GET', '/v1/nodes', bob)).body, { data: [] });
  for (const [method, path, body] of [
    ['GET', '', undefined],
    ['GET', '/output', undefined],
    ['PATCH', '', { action: 'stop' }],
    ['DELETE', '', undefined],
  ] as const) {
    const answer = await api(method, `/v1/nodes/${web.id}${path}`, bob, body);
    assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.errno, 111);
  }
  assert.equal((await get('00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await get(web.id)).body.status, 'ACTIVE', "bob's calls changed alice's node");
}

async function illegalTransitions({ api, alice, web }: Steps): Promise<void> {
  const conflicts: Array<[object, RegExp]> = [
    [{ action: 'start' }, /Cannot start a node that is ACTIVE/],
    [{ size: 'medium' }, /Cannot resize a node that is ACTIVE/],
  ];
  for (const [body, message] of conflicts) {
    const answer = await api('PATCH', `/v1/nodes/${web.id}`, alice, body);
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
    assert.equal(answer.body.errno, 122);
    assert.match(String(answer.body.message), message);
  }
  for (const body of [{}, { action: 'reboot' }, { name: '.hidden' }, { owner: 'bob' }]) {
    const answer = await api('PATCH', `/v1/nodes/${web.id}`, alice, body);
    assert.equal(answer.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.errno, 107);
  }
}

async function stopChangeStart(s: Steps): Promise<void> {
  const { api, alice, settle } = s;
  const stopping = await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'stop' });
  assert.equal(stopping.status, 200, JSON.stringify(stopping.body));
  const stopped = (await settle(s.web.id, 'STOPPED')).body as Node;
  assert.equal(stopped.port, 0);
  await assert.rejects(hello(s.web), 'the stopped node still answers');
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'stop' })).status, 409);
  const changed = await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { name: 'web-2', size: 'medium' });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.deepEqual([changed.body.name, changed.body.size, changed.body.status], ['web-2', 'medium', 'STOPPED']);
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'start' })).status, 200);
  s.web = (await settle(s.web.id, 'ACTIVE')).body as Node;
  assert.deepEqual(await hello(s.web), { id: s.web.id, name: 'web-2', image: 'http', size: 'medium' });
}

async function killedFromOutside(s: Steps): Promise<void> {
  const { api, alice, settle } = s;
  assert.ok(s.web.pid > 0, 'the driver reports no pid');
  process.kill(s.web.pid, 'SIGKILL');
  const dead = (await settle(s.web.id, 'ERROR')).body as Node;
  assert.equal(dead.signal, 'SIGKILL');
  assert.match(dead.reason, /SIGKILL/);
  // From ERROR it can be started again.
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'start' })).status, 200);
  s.web = (await settle(s.web.id, 'ACTIVE')).body as Node;
  assert.equal((await hello(s.web)).name, 'web-2');
}

async function perUserLimit({ api, alice, bob }: Steps): Promise<void> {
  for (let i = 2; i <= LIMIT; i++)
    assert.equal((await api('POST', '/v1/nodes', alice, { name: `extra-${i}`, image: 'http' })).status, 201);
  const over = await api('POST', '/v1/nodes', alice, { name: 'one-too-many', image: 'http' });
  assert.equal(over.status, 403, JSON.stringify(over.body));
  assert.equal(over.body.errno, 121);
  assert.equal(nodesOf(await api('GET', '/v1/nodes', alice)).length, LIMIT);
  assert.equal((await api('POST', '/v1/nodes', bob, { name: 'bobs', image: 'http' })).status, 201);
}

async function computeRestarted({ mesh, api, alice, bob, get, settle, web }: Steps): Promise<void> {
  const before = nodesOf(await api('GET', '/v1/nodes', alice)).map((n) => n.id);
  const extra = before.find((id) => id !== web.id)!;
  await settle(extra, 'ACTIVE');
  assert.equal((await api('PATCH', `/v1/nodes/${extra}`, alice, { action: 'stop' })).status, 200);
  // Shared with bob for reading: the permissions are compute's, and must outlive its restart.
  const shared = { read: ['account:bob'] };
  assert.equal((await api('PATCH', `/v1/nodes/${extra}`, alice, { permissions: shared })).status, 200);
  const permissionsOf = async (id: string): Promise<unknown> =>
    ((await call(mesh.http, 'GET', `/v1/nodes/${id}`, { key: alice })).body as { permissions?: unknown }).permissions;
  const sharedBefore = await permissionsOf(extra);
  assert.deepEqual(sharedBefore, { read: ['account:bob'], write: ['account:alice'] });
  await mesh.restartCompute();
  const after = await poll(
    () => api('GET', '/v1/nodes', alice),
    (a) => a.status === 200,
    SETTLE_MS,
  );
  assert.deepEqual(
    nodesOf(after).map((n) => n.id),
    before,
  );
  assert.equal((await get(web.id)).body.status, 'ACTIVE');
  assert.equal((await hello(web)).id, web.id);
  await settle(extra, 'STOPPED');
  assert.deepEqual(await permissionsOf(extra), sharedBefore, 'the permissions came back with the record');
  assert.deepEqual(await permissionsOf(web.id), { read: [], write: ['account:alice'] }, "web: its owner's alone");
  assert.deepEqual(
    nodesOf(await api('GET', '/v1/nodes', bob))
      .map((n) => n.id)
      .includes(extra),
    true,
    'bob still reads the node shared with him',
  );
  assert.equal((await get(extra, bob)).status, 200);
  assert.equal((await get(web.id, bob)).status, 404, 'nothing of web given away in the restart');
  // As it was before: alice's alone again.
  const back = { read: [] as string[] };
  assert.equal((await api('PATCH', `/v1/nodes/${extra}`, alice, { permissions: back })).status, 200);
}

async function driverKilled(s: Steps): Promise<void> {
  const { mesh, api, alice, get, settle } = s;
  const running = (await get(s.web.id)).body as Node;
  assert.equal(running.status, 'ACTIVE');
  await mesh.restartDriver('SIGKILL');
  // The new driver is registered (compute's own check of it), and has the node: same process.
  await poll(
    () => call(mesh.http, 'GET', '/__heartbeat__'),
    (a) => (a.body as Record<string, unknown> | null)?.['Compute.driver'] === true,
    SETTLE_MS,
  );
  const after = (await get(s.web.id)).body as Node;
  assert.deepEqual([after.status, after.reason, after.pid, after.port], ['ACTIVE', '', running.pid, running.port]);
  assert.equal((await hello(after)).id, s.web.id);
  // The adopted node obeys the new driver: stop, then start again.
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'stop' })).status, 200);
  await settle(s.web.id, 'STOPPED');
  await until(async () => ended(running.pid), SETTLE_MS); // the adopted process is stopped too
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'start' })).status, 200);
  s.web = (await settle(s.web.id, 'ACTIVE')).body as Node;
  assert.equal((await hello(s.web)).id, s.web.id);
}

async function driverRestarted(s: Steps): Promise<void> {
  const { mesh, api, alice, settle } = s;
  await mesh.restartDriver();
  const lost = (await settle(s.web.id, 'ERROR')).body as Node;
  assert.equal(lost.reason, 'the driver no longer has this node');
  await assert.rejects(hello(s.web), 'a node of the stopped driver still answers');
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'stop' })).status, 409);
  assert.equal((await api('PATCH', `/v1/nodes/${s.web.id}`, alice, { action: 'start' })).status, 200);
  s.web = (await settle(s.web.id, 'ACTIVE')).body as Node;
  assert.deepEqual(await hello(s.web), { id: s.web.id, name: 'web-2', image: 'http', size: 'medium' });
}

async function deleted({ api, alice, get, web }: Steps): Promise<void> {
  const deleting = await api('DELETE', `/v1/nodes/${web.id}`, alice);
  assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
  assert.equal(deleting.body.status, 'DELETING');
  // While it is DELETING nothing else is allowed (409), and once gone it is unknown (404).
  const late = await api('PATCH', `/v1/nodes/${web.id}`, alice, { action: 'start' });
  assert.ok([409, 404].includes(late.status), JSON.stringify(late.body));
  await poll(
    () => get(web.id),
    (a) => a.status === 404,
    SETTLE_MS,
  );
  await assert.rejects(hello(web), 'the deleted node still answers');
  assert.throws(() => process.kill(web.pid, 0), { code: 'ESRCH' });
  assert.equal((await api('DELETE', `/v1/nodes/${web.id}`, alice)).status, 404);
  assert.equal(nodesOf(await api('GET', '/v1/nodes', alice)).length, LIMIT - 1);
}

/** The nodes of a list answer. */
function nodesOf(answer: Answer): Node[] {
  assert.ok(Array.isArray(answer.body.data), JSON.stringify(answer.body));
  return answer.body.data;
}

/** A call to the gateway (a string body is sent as it is); `key` becomes `Authorization: Bearer <key>`. */
function apiOf(mesh: ComputeMesh) {
  return async (
    method: string,
    path: string,
    key?: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const answer = await call(mesh.http, method, path, { key, body, headers });
    // A node's answer is a record, `{data: node, permissions}`: the steps read the node.
    const one = Object.keys(answer.rec).length > 0;
    if (one) assert.ok('last_modified' in answer.rec && 'id' in answer.rec, answer.text);
    return { status: answer.status, headers: answer.headers, body: (one ? answer.rec : answer.body) as Body };
  };
}

/** What the node's own HTTP server answers (it rejects when nothing listens). */
async function hello(node: Node): Promise<Record<string, unknown>> {
  const response = await fetch(`http://${node.host}:${node.port}/`, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
}
