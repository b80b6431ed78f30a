/**
 * The legacy messaging API end to end: broker, auth, channels, messages and the gateway, each its own
 * process started from the Procfile's entry point on free loopback ports, called over
 * HTTP with fetch, a Python client (standard library only) and a curl script.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { AgoraError, type ErrorCode } from '../../lib/errors';
import { channelNameProblem } from '../../services/channels/handlers';
import { startMesh, type Mesh } from '../helpers/mesh';
import { ROOT, skipOrFail } from '../helpers/proc';

const run = promisify(execFile);
const MAX_KEY = Number.MAX_SAFE_INTEGER;

/** POST a body (an object is sent as JSON text, with fetch's default text/plain type); the raw answer. */
async function post(base: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(base + route, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers,
  });
  assert.equal(res.status, 200, `${route} answered HTTP ${res.status}`);
  return res.text();
}

function ok(data: unknown): string {
  return JSON.stringify({ status: true, data });
}

function fail(data: string): string {
  return JSON.stringify({ status: false, data });
}

/** The reason the registry gives for `code` (the services fill the same templates). */
function reason(code: ErrorCode, ...args: unknown[]): string {
  return new AgoraError(code, args).message;
}

const BAD_SESSION = fail(reason('AGORA_ERR_AUTH_BAD_SESSION'));

async function logon(base: string, username: string, password = `pw-${username}`): Promise<number> {
  const answer = await post(base, '/logon', { username, password });
  assert.match(answer, /^\{"status":true,"data":[1-9]\d*\}$/, answer);
  const key = (JSON.parse(answer) as { data: number }).data;
  assert.ok(Number.isSafeInteger(key) && key <= MAX_KEY);
  return key;
}

/** Resolve once `probe` answers true, checking again after `every()` ms, or fail at the deadline. */
async function until(
  probe: () => Promise<boolean>,
  every: () => number,
  deadlineMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every()));
  }
}

/** A tool the test needs, or a skip that fails under CI (docs/ARCHITECTURE.md "Tests and measurement"). */
async function need(t: TestContext, command: string, args: string[]): Promise<boolean> {
  try {
    await run(command, args, { timeout: 10_000 });
    return true;
  } catch (e) {
    return skipOrFail(t, `${command} is not usable here (${(e as Error).message.split('\n')[0]})`, command);
  }
}

async function exactBodies(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  // 1. logon: a key; a wrong password and a missing field fail.
  const ann = await logon(base, 'ann');
  assert.equal(
    await post(base, '/logon', { username: 'ann', password: 'wrong' }),
    fail(reason('AGORA_ERR_AUTH_BAD_CREDENTIALS')),
  );
  assert.equal(
    await post(base, '/logon', { username: 'ann' }),
    fail('Invalid parameters: password is required: a string'),
  );
  assert.notEqual(await logon(base, 'ann'), ann, 'each logon is a new session');
  // 2. create and list.
  assert.equal(await post(base, '/list', { sesskey: ann }), ok([]));
  assert.equal(await post(base, '/create', { sesskey: ann, channel: 'general' }), ok(true));
  assert.equal(
    await post(base, '/create', { sesskey: ann, channel: 'general' }),
    ok(true),
    'creating an existing channel succeeds',
  );
  assert.equal(await post(base, '/create', { sesskey: ann, channel: 'Zeta' }), ok(true));
  assert.equal(
    await post(base, '/create', { sesskey: ann, channel: 'no spaces' }),
    fail(reason('AGORA_ERR_CHANNEL_INVALID_NAME', channelNameProblem('no spaces'))),
  );
  assert.equal(await post(base, '/list', { sesskey: ann }), ok(['Zeta', 'general']));
  // 3. post, lastmessage, retrieve.
  assert.equal(await post(base, '/lastmessage', { sesskey: ann, channel: 'general' }), ok(0));
  assert.equal(await post(base, '/retrieve', { sesskey: ann, channel: 'general', first: 1, last: 10 }), ok([]));
  assert.equal(await post(base, '/post', { sesskey: ann, channel: 'general', message: 'hello "world"' }), ok(true));
  assert.equal(
    await post(base, '/post', { sesskey: `${ann}`, channel: 'general', message: 'café €😀' }),
    ok(true),
    'the key as a string of digits',
  );
  assert.equal(await post(base, '/lastmessage', { sesskey: ann, channel: 'general' }), ok(2));
  const retrieved = await post(base, '/retrieve', { sesskey: ann, channel: 'general', first: 1, last: 2 });
  assert.equal(
    retrieved,
    '{"status":true,"data":[{"messageid":1,"username":"ann","message":"hello \\"world\\""},{"messageid":2,"username":"ann","message":"café €😀"}]}',
  );
  // Messages.Retrieve answers each message's last_modified too (the /v1 protocol's); this API leaves it out.
  assert.doesNotMatch(retrieved, /last_modified|lastModified/);
  // A message that begins with a byte order mark keeps it, however long (the bus decodes long texts apart).
  const marked = `\uFEFF${'m'.repeat(300)}`;
  assert.equal(await post(base, '/post', { sesskey: ann, channel: 'general', message: marked }), ok(true));
  assert.equal(
    await post(base, '/retrieve', { sesskey: ann, channel: 'general', first: 3, last: 3 }),
    ok([{ messageid: 3, username: 'ann', message: marked }]),
  );
  assert.equal(
    await post(base, '/post', { sesskey: ann, channel: 'nowhere', message: 'm' }),
    fail('No channel named "nowhere"'),
  );
  assert.equal(
    await post(base, '/post', { sesskey: ann, channel: 'general', message: '' }),
    fail(reason('AGORA_ERR_MESSAGE_INVALID', 'the message is empty')),
  );
  assert.equal(
    await post(base, '/post', { sesskey: ann, channel: 'general', message: 'x'.repeat(4097) }),
    fail(reason('AGORA_ERR_MESSAGE_TOO_LONG', 4097, 4096)),
  );
  assert.equal(
    await post(base, '/lastmessage', { sesskey: ann, channel: 'nowhere' }),
    fail('No channel named "nowhere"'),
  );
  assert.equal(
    await post(base, '/retrieve', { sesskey: ann, channel: 'nowhere', first: 1, last: 2 }),
    fail('No channel named "nowhere"'),
  );
  // 4. every route refuses a forged key, before looking at anything else.
  const forged = ann === MAX_KEY ? 1 : ann + 1;
  for (const [route, body] of [
    ['/logoff', {}],
    ['/list', {}],
    ['/create', { channel: 'general' }],
    ['/post', { channel: 'general', message: 'm' }],
    ['/lastmessage', { channel: 'general' }],
    ['/retrieve', { channel: 'nowhere', first: 1, last: 2 }],
  ] as const) {
    assert.equal(await post(base, route, { sesskey: forged, ...body }), BAD_SESSION, `${route} with a forged key`);
  }
  assert.equal(await post(base, '/list', { sesskey: MAX_KEY }), BAD_SESSION);
  assert.equal(
    await post(base, '/list', { sesskey: 0 }),
    fail(
      'Invalid parameters: sesskey must be the numeric session key that /logon answered (an integer from 1 to 9007199254740991), got 0',
    ),
  );
  // 5. logoff.
  const other = await logon(base, 'ann');
  assert.equal(await post(base, '/logoff', { sesskey: other }), ok(true));
  assert.equal(await post(base, '/logoff', { sesskey: other }), BAD_SESSION, 'a second logoff fails');
  assert.equal(
    await post(base, '/list', { sesskey: ann }),
    ok(['Zeta', 'general']),
    'other sessions of the user live on',
  );
}

async function logoffEverywhere(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const key = await logon(base, 'leaver');
  // 1. Every service learns the key (and may keep it).
  assert.equal(await post(base, '/list', { sesskey: key }), ok(['Zeta', 'general']));
  assert.equal(await post(base, '/post', { sesskey: key, channel: 'Zeta', message: 'bye' }), ok(true));
  assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'Zeta' }), ok(1));
  // 2. Logoff, then the very next call of each service fails.
  assert.equal(await post(base, '/logoff', { sesskey: key }), ok(true));
  assert.equal(await post(base, '/list', { sesskey: key }), BAD_SESSION);
  assert.equal(await post(base, '/create', { sesskey: key, channel: 'Zeta' }), BAD_SESSION);
  assert.equal(await post(base, '/post', { sesskey: key, channel: 'Zeta', message: 'again' }), BAD_SESSION);
  assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'Zeta' }), BAD_SESSION);
  assert.equal(await post(base, '/retrieve', { sesskey: key, channel: 'Zeta', first: 1, last: 9 }), BAD_SESSION);
}

async function retentionAndBounds(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const key = await logon(base, 'poster');
  assert.equal(await post(base, '/create', { sesskey: key, channel: 'busy' }), ok(true));
  for (let i = 1; i <= 250; i++)
    assert.equal(await post(base, '/post', { sesskey: key, channel: 'busy', message: `m${i}` }), ok(true));
  const expected = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ({
      messageid: from + i,
      username: 'poster',
      message: `m${from + i}`,
    }));
  const retrieve = (first: unknown, last: unknown) =>
    post(base, '/retrieve', { sesskey: key, channel: 'busy', first, last });
  assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'busy' }), ok(250));
  assert.equal(await retrieve(1, 1000), ok(expected(151, 250)));
  assert.equal(await retrieve(1, 150), ok([]));
  assert.equal(await retrieve(200, 100), ok([]), 'first > last');
  assert.equal(await retrieve(-5, 160), ok(expected(151, 160)), 'a negative first');
  assert.equal(await retrieve(249, MAX_KEY), ok(expected(249, 250)), 'the largest exact last');
  assert.equal(await retrieve(-MAX_KEY, 151), ok(expected(151, 151)), 'the smallest exact first');
  const ID = 'an integer message id (from -9007199254740991 to 9007199254740991)';
  assert.equal(await retrieve(1, 1e300), fail(`Invalid parameters: last must be ${ID}, got 1e+300`));
  assert.equal(await retrieve(1, 2 ** 53), fail(`Invalid parameters: last must be ${ID}, got 9007199254740992`));
  assert.equal(await retrieve(1.5, 200), fail(`Invalid parameters: first must be ${ID}, got a number with a fraction`));
  assert.equal(await retrieve('160', 200), fail(`Invalid parameters: first must be ${ID}, got the string "160"`));
  assert.equal(await retrieve(null, 200), fail(`Invalid parameters: first must be ${ID}, got null`));
  assert.equal(await post(base, '/post', { sesskey: key, channel: 'busy', message: 'm251' }), ok(true));
  assert.equal(await retrieve(150, 151), ok([]), 'id 151 fell out when 251 came');
  assert.equal(await retrieve(250, 251), ok(expected(250, 251)));
}

async function concurrentPosters(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  const CLIENTS = 50;
  const EACH = 2;
  const owner = await logon(base, 'crowd-owner');
  assert.equal(await post(base, '/create', { sesskey: owner, channel: 'crowd' }), ok(true));
  const keys = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => logon(base, `crowd${c}`)));
  // 1. Every client posts its messages one after another, all clients at once.
  await Promise.all(
    keys.map(async (key, c) => {
      for (let j = 0; j < EACH; j++)
        assert.equal(await post(base, '/post', { sesskey: key, channel: 'crowd', message: `c${c}-${j}` }), ok(true));
    }),
  );
  // 2. Ids 1..100, each once; every message is there; each client's come in its own order.
  const total = CLIENTS * EACH;
  assert.equal(await post(base, '/lastmessage', { sesskey: owner, channel: 'crowd' }), ok(total));
  const answer = JSON.parse(
    await post(base, '/retrieve', { sesskey: owner, channel: 'crowd', first: 1, last: total }),
  ) as { data: Array<{ messageid: number; username: string; message: string }> };
  assert.deepEqual(
    answer.data.map((m) => m.messageid),
    Array.from({ length: total }, (_, i) => i + 1),
  );
  assert.deepEqual(
    answer.data.map((m) => m.message).sort(),
    keys.flatMap((_, c) => Array.from({ length: EACH }, (__, j) => `c${c}-${j}`)).sort(),
  );
  for (const m of answer.data) assert.equal(m.username, `crowd${m.message.slice(1, m.message.indexOf('-'))}`);
  for (let c = 0; c < CLIENTS; c++) {
    const ids = answer.data.filter((m) => m.message.startsWith(`c${c}-`)).map((m) => m.message);
    assert.deepEqual(
      ids,
      Array.from({ length: EACH }, (_, j) => `c${c}-${j}`),
    );
  }
}

async function requestIdLogged(mesh: Mesh): Promise<void> {
  const { base, procs } = mesh;
  const res = await fetch(`${base}/list`, {
    method: 'POST',
    body: '{"sesskey":1}',
    headers: { 'x-request-id': 'itest-req-1' },
  });
  assert.equal(res.headers.get('x-request-id'), 'itest-req-1');
  assert.equal(await res.text(), BAD_SESSION);
  await procs.gateway.waitFor((l) => l.reqId === 'itest-req-1' && l.msg === 'request', 5000);
  const fresh = await fetch(`${base}/list`, { method: 'POST', body: '{}' });
  assert.match(String(fresh.headers.get('x-request-id')), /^[0-9a-f-]{36}$/);
}

async function malformedRequests(mesh: Mesh): Promise<void> {
  const { base } = mesh;
  assert.match(
    await post(base, '/list', '{"sesskey":', { 'content-type': 'application/json' }),
    /^\{"status":false,"data":"Invalid parameters: the body is not valid JSON \(/,
  );
  assert.equal(await post(base, '/list', 'null'), fail('Invalid parameters: the body must be a JSON object, got null'));
  const big = await fetch(`${base}/post`, {
    method: 'POST',
    body: JSON.stringify({ sesskey: 1, channel: 'c', message: 'x'.repeat(1_100_000) }),
  });
  assert.equal(big.status, 200);
  assert.equal(await big.text(), fail('The request body is larger than the limit of 1048576 bytes'));
  const unknown = await fetch(`${base}/nope`, { method: 'POST', body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal(
    await unknown.text(),
    fail('Unknown path /nope; the API answers POST /logon, /logoff, /list, /create, /post, /lastmessage, /retrieve'),
  );
}

async function pythonClient(mesh: Mesh, t2: TestContext): Promise<void> {
  const { base } = mesh;
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  if (!(await need(t2, python, ['--version']))) return;
  const script = path.join(ROOT, 'test', 'clients', 'legacy_client.py');
  const { stdout } = await run(python, [script, base, 'pyuser', 'py-chan'], { timeout: 30_000 }).catch(
    (e: { stdout?: string; message: string }) => {
      assert.fail(`python client failed: ${e.stdout ?? ''}\n${e.message}`);
    },
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step?: string; ok?: boolean });
  assert.deepEqual(lines.at(-1), { ok: true });
  assert.deepEqual(
    lines.slice(0, -1).map((l) => l.step),
    ['logon', 'create', 'list', 'post', 'post', 'lastmessage', 'retrieve', 'forged', 'logoff', 'after-logoff'],
  );
}

async function curlClient(mesh: Mesh, t2: TestContext): Promise<void> {
  const { base } = mesh;
  if (!(await need(t2, 'curl', ['--version']))) return;
  const script = path.join(ROOT, 'test', 'clients', 'legacy-curl.sh');
  const before = (JSON.parse(await post(base, '/list', { sesskey: await logon(base, 'lister') })) as { data: string[] })
    .data;
  const channels = [...before, 'curl-chan'].sort();
  const { stdout } = await run('sh', [script, base, 'curluser', 'curl-chan'], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  const key = Number(lines[1].split(' ')[1]);
  assert.ok(Number.isSafeInteger(key) && key > 0, lines[1]);
  assert.deepEqual(lines, [
    `logon ${ok(key)}`,
    `key ${key}`,
    `create ${ok(true)}`,
    `list ${ok(channels)}`,
    `post ${ok(true)}`,
    `post ${ok(true)}`,
    `lastmessage ${ok(2)}`,
    `retrieve ${ok([
      { messageid: 1, username: 'curluser', message: 'hello from curl' },
      { messageid: 2, username: 'curluser', message: 'second' },
    ])}`,
    `retrieve-empty ${ok([])}`,
    `bad-json ${fail(`Invalid parameters: the body is not valid JSON (${jsonError(`{"sesskey":${key}`)})`)}`,
    `unknown-channel ${fail('No channel named "no-such-channel"')}`,
    `logoff ${ok(true)}`,
    `after-logoff ${BAD_SESSION}`,
  ]);
}

test('the legacy messaging API through the whole mesh', async (t) => {
  const mesh = await startMesh(t, { AGORA_REQUEST_TIMEOUT_MS: '10000' });

  await t.test('every call, in its success and failure cases, answers the exact body', () => exactBodies(mesh));

  await t.test('logoff takes effect at once in every service', () => logoffEverywhere(mesh));

  await t.test('retention: of 250 posts, ids 151..250 are kept; bounds of every kind', () => retentionAndBounds(mesh));

  await t.test('50 concurrent clients posting to one channel get distinct, gap-free ids; nothing is lost', () =>
    concurrentPosters(mesh),
  );

  await t.test('a request id born at the edge comes back and is logged', () => requestIdLogged(mesh));

  await t.test('malformed requests over a real socket: the envelope, never a stack', () => malformedRequests(mesh));

  await t.test('a Python client (standard library only) runs the whole scenario', (t2) => pythonClient(mesh, t2));

  await t.test('a curl script runs the whole scenario; every answer is checked', (t2) => curlClient(mesh, t2));
});

/** The message this Node's JSON.parse gives for `text` (the gateway quotes it). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

test('sessions expire when idle; a dead service or broker is answered within the request deadline', async (t) => {
  const IDLE_MS = 1000;
  const TIMEOUT_MS = 1500;
  const { base, procs } = await startMesh(t, {
    AGORA_SESSION_IDLE_S: String(IDLE_MS / 1000),
    AGORA_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
  });

  // The session cache sends touches at least every idle/4, so auth never expires a key in use.
  await t.test('a key in use stays valid past the idle time', async () => {
    const key = await logon(base, 'busy-user');
    assert.equal(await post(base, '/create', { sesskey: key, channel: 'idle' }), ok(true));
    // Used every quarter of the idle time for twice the idle time: still valid.
    const busyUntil = Date.now() + 2 * IDLE_MS;
    while (Date.now() < busyUntil) {
      assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'idle' }), ok(0));
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 4));
    }
  });

  await t.test('an idle key expires, in every service', async () => {
    const key = await logon(base, 'idler');
    assert.equal(await post(base, '/create', { sesskey: key, channel: 'idle' }), ok(true));
    assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'idle' }), ok(0));
    // Left alone: probe once each idle period has passed since the last use (a probe that
    // finds the key alive uses it again), until it fails, with a deadline.
    let lastUse = Date.now();
    await until(
      async () => {
        const answer = await post(base, '/list', { sesskey: key });
        lastUse = Date.now();
        return answer === BAD_SESSION;
      },
      () => Math.max(0, lastUse + IDLE_MS + 200 - Date.now()),
      10_000,
      'the idle key to expire',
    );
    assert.equal(await post(base, '/post', { sesskey: key, channel: 'idle', message: 'late' }), BAD_SESSION);
    assert.equal(await post(base, '/lastmessage', { sesskey: key, channel: 'idle' }), BAD_SESSION);
    assert.equal(await post(base, '/logoff', { sesskey: key }), BAD_SESSION);
  });

  await t.test(
    'a stopped service: "<service> is unavailable, try again", once the wait for a worker ends',
    async () => {
      const key = await logon(base, 'survivor');
      await procs.messages.stop();
      let took = 0;
      await until(
        async () => {
          const started = Date.now();
          const answer = await post(base, '/lastmessage', { sesskey: key, channel: 'idle' });
          took = Date.now() - started;
          return answer === fail('Messages is unavailable, try again');
        },
        () => 100,
        10_000,
        'the gateway to report Messages unavailable',
      );
      // The broker waits for a worker to come (docs/PROTOCOL.md §9), and answers a tenth of the
      // call's time before its deadline, so that the gateway hears it before giving up.
      assert.ok(took >= TIMEOUT_MS * 0.9 - 50 && took < TIMEOUT_MS, `answered in ${took} ms`);
      // The key idled past IDLE_MS meanwhile (Messages, which would have used it, is down): a new one.
      const again = await logon(base, 'survivor');
      assert.equal(await post(base, '/list', { sesskey: again }), ok(['idle']), 'the other services still answer');
    },
  );

  await t.test('a stopped broker: answered within the request deadline', async () => {
    await procs.broker.stop();
    const started = Date.now();
    assert.equal(await post(base, '/list', { sesskey: 1 }), fail('Channels is unavailable, try again'));
    assert.ok(Date.now() - started < TIMEOUT_MS + 1000, `answered in ${Date.now() - started} ms`);
  });
});
