/**
 * `agora status`, `call` and `tail` against a real broker and echo run by `agora start`; `start
 * --restart` bringing a killed worker back, and without it stopping all; the log formats; `agora
 * routes` and `agora nodes` through a real gateway.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { startMesh } from '../helpers/mesh';
import { entry, freePort, labelledLine, ROOT, start, type Started } from '../helpers/proc';
import { call, logon } from '../helpers/v1';

const AGORA = entry('bin/agora.js');
const node = (relative: string): string => `node ${path.join(ROOT, 'dist', relative)}`;
const PROCFILE = `broker: ${node('services/broker/main.js')}\necho: ${node('services/echo/main.js')}\n`;

type Line = Record<string, unknown>;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `agora args…` run to its end (killed after 20 s). */
async function agora(args: string[], env: Record<string, string>): Promise<Ran> {
  const child = spawn(process.execPath, [AGORA, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A Procfile of broker and echo in a temporary directory. */
function procfile(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-cli-'));
  writeFileSync(path.join(dir, 'Procfile'), PROCFILE);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'Procfile');
}

/** `agora start -f … args…` until echo is ready, stopped after the test. */
async function mesh(t: TestContext, args: string[], env: Record<string, string>): Promise<Started> {
  const launched = await start(process.execPath, [AGORA, 'start', '-f', procfile(t), ...args], {
    env,
    parse: labelledLine,
    isReady: (l) => l.label === 'broker.1' && l.ready === true,
  });
  t.after(() => launched.stop());
  await launched.waitFor((l) => l.label === 'broker.1' && l.msg === 'worker ready');
  return launched;
}

/** The pid the launcher reported for `label`, the latest start. */
function pidOf(lines: Line[], label: string): number {
  const pids = lines.flatMap((l) =>
    l.label === label ? (/^started with pid (\d+)$/.exec(String(l.raw))?.slice(1) ?? []) : [],
  );
  assert.ok(pids.length > 0, `no pid for ${label}`);
  return Number(pids[pids.length - 1]);
}

test('status, call and tail against broker and echo; --restart brings a killed worker back', async (t) => {
  const env = { AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}`, AGORA_LOG_FORMAT: 'json' };
  const launched = await mesh(t, ['--restart'], env);

  await t.test('call returns the echo and exits 0', async () => {
    const ran = await agora(['call', 'echo', 'echo', '"hi"', '{"a":[1,2]}'], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), 'hi');
  });

  await t.test('status shows echo with its worker, its slots and the call made', async () => {
    const ran = await agora(['status', '--json'], env);
    assert.equal(ran.code, 0, ran.stderr);
    const status = JSON.parse(ran.stdout) as { services: Array<Record<string, unknown>> };
    const echo = status.services.find((s) => s.name === 'echo');
    assert.ok(echo !== undefined, ran.stdout);
    assert.equal(echo.workers, 1);
    assert.ok(Number(echo.slots) >= 1);
    assert.ok(Number(echo.calls) >= 1);
    assert.equal(echo.errors, 0);
    assert.equal(typeof echo.p50, 'number');
    const table = await agora(['status'], env);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^SERVICE\s+WORKERS\s+BUSY\/SLOTS/m);
    assert.match(table.stdout, /^echo\s+1\s+0\/\d+/m);
  });

  await t.test('a service nobody serves: the error JSON on stderr, exit 69', async () => {
    const ran = await agora(['call', 'nosuch', 'x', '--timeout', '1s'], env);
    assert.equal(ran.code, 69);
    assert.equal(ran.stdout, '');
    const error = JSON.parse(ran.stderr) as Record<string, unknown>;
    assert.equal(error.code, 503);
    assert.equal(error.errno, 201);
    assert.equal(error.agoraCode, 'AGORA_ERR_BUS_NO_SERVICE');
    assert.match(String(error.message), /nosuch/);
  });

  await t.test('a remote error keeps its class: bad parameters exit 65', async () => {
    const ran = await agora(['call', 'echo', 'nosuchmethod'], env);
    assert.ok(ran.code === 65 || ran.code === 70, `exit ${ran.code}: ${ran.stderr}`);
    assert.ok(typeof (JSON.parse(ran.stderr) as Record<string, unknown>).errno === 'number');
  });

  await t.test('tail shows a call made while tailing', async () => {
    const tail = await start(process.execPath, [AGORA, 'tail', 'echo', '--json'], {
      env,
      stderrLines: true,
      isReady: (l) => String(l.raw).startsWith('agora: tailing echo'),
    });
    try {
      const ran = await agora(['call', 'echo', 'echo', '"tailed"', '--req-id', 'req-tail-1'], env);
      assert.equal(ran.code, 0, ran.stderr);
      const event = await tail.waitFor((l) => l.reqId === 'req-tail-1');
      assert.equal(event.service, 'echo');
      assert.equal(event.method, 'echo');
      assert.equal(event.caller, 'agora-cli');
      assert.equal(event.outcome, 'ok');
      assert.equal(typeof event.ms, 'number');
    } finally {
      assert.equal(await tail.stop('SIGINT'), 0);
    }
  });

  await t.test('SIGKILL a worker under --restart: it comes back, counted, and calls succeed again', async () => {
    const before = pidOf(launched.lines, 'echo.1');
    process.kill(before, 'SIGKILL');
    await launched.waitFor(
      (l) => l.label === 'system' && /^echo\.1 exited unexpectedly: restart #1 in/.test(String(l.raw)),
    );
    await launched.waitFor((l) => l.label === 'echo.1' && l.ready === true && l.pid !== before);
    assert.notEqual(pidOf(launched.lines, 'echo.1'), before);
    const ran = await agora(['call', 'echo', 'echo', '"again"'], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(JSON.parse(ran.stdout), 'again');
    assert.ok(launched.lines.some((l) => l.label === 'broker.1' && l.ready === true));
  });
});

test('without --restart, a worker killed stops the whole mesh, non-zero', async (t) => {
  const env = { AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}`, AGORA_LOG_FORMAT: 'json' };
  const launched = await mesh(t, [], env);
  process.kill(pidOf(launched.lines, 'echo.1'), 'SIGKILL');
  const [code] = (await once(launched.child, 'exit')) as [number | null];
  assert.equal(code, 137);
  assert.ok(launched.lines.some((l) => l.label === 'broker.1' && l.raw === 'exited with code 0'));
  assert.ok(!launched.lines.some((l) => /restart #/.test(String(l.raw))));
});

test('the broker unreachable: call and status exit 69; usage errors exit 64', async () => {
  const env = { AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}` };
  const call = await agora(['call', 'echo', 'echo', '"x"', '--timeout', '500ms'], env);
  assert.equal(call.code, 69, call.stderr);
  assert.match(String((JSON.parse(call.stderr) as Record<string, unknown>).message), /Cannot reach the broker/);
  const status = await agora(['status', '--timeout', '500ms'], env);
  assert.equal(status.code, 69);
  assert.equal((await agora(['call', 'echo'], env)).code, 64);
  assert.equal((await agora(['call', 'echo', 'echo', '{bad'], env)).code, 64);
  assert.equal((await agora(['nosuch'], env)).code, 64);
  const help = await agora(['--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit codes:[\s\S]*69\s+unavailable/);
  assert.equal((await agora(['status'], { AGORA_BUS_URL: 'nonsense' })).code, 78);
});

test('log lines: pretty when asked, time level message fields; JSON as it is otherwise', async (t) => {
  const bus = `tcp://127.0.0.1:${await freePort()}`;
  const pretty = await start(process.execPath, [AGORA, 'start', '-f', procfile(t)], {
    env: { AGORA_BUS_URL: bus, AGORA_LOG_FORMAT: 'pretty', NO_COLOR: '1' },
    parse: labelledLine,
    isReady: (l) =>
      l.label === 'echo.1' && /^\d\d:\d\d:\d\d\.\d{3} INFO {2}ready bus=tcp:\/\/\S+ service=echo$/.test(String(l.raw)),
  });
  const worker = await pretty.waitFor((l) => l.label === 'broker.1' && /INFO {2}worker ready/.test(String(l.raw)));
  assert.match(String(worker.raw), /service=echo workers=1 slots=\d+$/);
  await pretty.waitFor((l) => l.label === 'system' && /^all 2 processes ready in \d+\.\d s$/.test(String(l.raw)));
  assert.ok(!pretty.lines.some((l) => String(l.raw).includes('"level"')), 'no JSON line in pretty mode');
  assert.ok(!pretty.lines.some((l) => String(l.raw).includes('\x1b[')), 'NO_COLOR: no escape');
  assert.equal(await pretty.stop(), 0);

  const json = await start(process.execPath, [AGORA, 'start', '-f', procfile(t)], {
    env: { AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}` },
    parse: labelledLine,
    isReady: (l) => l.label === 'echo.1' && l.ready === true && l.level === 30,
  });
  assert.equal(await json.stop(), 0);
});

test("agora routes and agora nodes list and show the caller's own through the gateway", async (t) => {
  const mesh = await startMesh(t, { AGORA_ADMINS: 'ann' }, { compute: true });
  const key = await logon(mesh.base, 'ann');
  // 1. A route of ann's, to a URL (she is an administrator).
  const source = 'docs.example.test';
  const made = await call(mesh.base, 'POST', '/v1/routes', {
    key,
    body: { source, target_url: 'http://127.0.0.1:9/' },
  });
  assert.equal(made.status, 201, made.text);
  const env = { AGORA_SESSION: String(key) };
  // 2. The list as JSON, then as a table, then the one route.
  const listed = await agora(['routes', '--url', mesh.base, '--json'], env);
  assert.equal(listed.code, 0, listed.stderr);
  const sources = (JSON.parse(listed.stdout) as { data: Array<{ source: string }> }).data.map((r) => r.source);
  assert.deepEqual(sources, [source]);
  const table = await agora(['routes', '--url', mesh.base], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^SOURCE\s+MODE/m);
  assert.match(table.stdout, new RegExp(`^${source.replaceAll('.', '\\.')}\\s+proxy`, 'm'));
  const one = await agora(['routes', source, '--url', mesh.base], env);
  assert.equal(one.code, 0, one.stderr);
  const shown = JSON.parse(one.stdout) as { id: string; target_url: string; last_modified: number };
  assert.deepEqual([shown.id, shown.target_url], [source, 'http://127.0.0.1:9/'], 'the record, not its envelope');
  assert.ok(Number.isSafeInteger(shown.last_modified));
  // 3. Nodes: none yet; an unknown one is the gateway's 404, on stderr, exit 65.
  const nodes = await agora(['nodes', '--url', mesh.base, '--json'], env);
  assert.equal(nodes.code, 0, nodes.stderr);
  assert.deepEqual((JSON.parse(nodes.stdout) as { data: unknown[] }).data, []);
  const missing = await agora(['nodes', 'no-such-node', '--url', mesh.base], env);
  assert.equal(missing.code, 65, missing.stdout);
  assert.equal((JSON.parse(missing.stderr) as { code: number }).code, 404);
  // 4. Without a session: a usage error that says how to get one.
  const anonymous = await agora(['nodes', '--url', mesh.base], {});
  assert.equal(anonymous.code, 64);
  assert.match(anonymous.stderr, /--key KEY or AGORA_SESSION/);
});

test('agora call Channels Exists and /v1/rpc: a channel the caller may not read is absent to it', async (t) => {
  const mesh = await startMesh(t);
  const env = { AGORA_BUS_URL: String(mesh.procs.broker.endpoints.bus) };
  const ann = await logon(mesh.base, 'ann');
  const bob = await logon(mesh.base, 'bob');
  const made = await call(mesh.base, 'POST', '/v1/channels', {
    key: ann,
    body: { name: 'hidden', permissions: { read: [], write: [] } },
  });
  assert.equal(made.status, 201, made.text);
  const exists = async (params: Record<string, unknown>): Promise<unknown> => {
    const ran = await agora(['call', 'Channels', 'Exists', JSON.stringify(params), '--json'], env);
    assert.equal(ran.code, 0, ran.stderr);
    return JSON.parse(ran.stdout);
  };
  assert.deepEqual(await exists({ channel: 'hidden', sesskey: ann }), { exists: true }, 'its creator sees it');
  assert.deepEqual(await exists({ channel: 'hidden', sesskey: bob }), { exists: false }, 'absent to bob');
  assert.deepEqual(await exists({ channel: 'hidden' }), { exists: false }, 'absent without a session');
  assert.deepEqual(await exists({ channel: 'never-made', sesskey: bob }), { exists: false });
  // As over /v1: bob's GET is the 404 of a channel that does not exist.
  const got = await call(mesh.base, 'GET', '/v1/channels/hidden', { key: bob });
  assert.equal(got.status, 404, got.text);
  // Through the gateway's bridge, no method of Channels is public: 404 whatever the channel.
  for (const method of ['Exists', 'Get', 'List', 'Access']) {
    const bridged = await call(mesh.base, 'POST', `/v1/rpc/Channels/${method}`, {
      key: bob,
      body: { channel: 'hidden' },
    });
    assert.equal(bridged.status, 404, `${method}: ${bridged.text}`);
    assert.equal((bridged.body as { errno: number }).errno, 111);
  }
  // The other methods on the bus answer bob as absent too (Get, SetPermissions: AGORA_ERR_CHANNEL_NOT_FOUND).
  for (const method of ['Get', 'SetPermissions']) {
    const ran = await agora(['call', 'Channels', method, JSON.stringify({ channel: 'hidden', sesskey: bob })], env);
    assert.equal(ran.code === 0, false, `${method}: ${ran.stdout}`);
    assert.match(ran.stderr, /AGORA_ERR_CHANNEL_NOT_FOUND/, method);
  }
  const listed = await agora(['call', 'Channels', 'List', JSON.stringify({ sesskey: bob }), '--json'], env);
  assert.equal((JSON.parse(listed.stdout) as { channels: string[] }).channels.includes('hidden'), false);
});
