/**
 * `node dist/bin/agora.js start`, the launcher behind `npm start`, with the repository's
 * Procfile and with small Procfiles written for one behaviour each.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { alive, entry, freePort, labelledLine, ROOT, start, type Started } from '../helpers/proc';

const AGORA = entry('bin/agora.js');
const BROKER = `node ${path.join(ROOT, 'dist', 'services', 'broker', 'main.js')}`;
const EXIT_MS = 15_000;

type Line = Record<string, unknown>;

const readyOf = (label: string) => (l: Line) => l.label === label && l.ready === true;
const said = (label: string, text: string) => (l: Line) => l.label === label && l.raw === text;

/** The child pids the launcher reports (`started with pid N`) and the pids its children log. */
function pidsIn(lines: Line[]): number[] {
  const started = lines.flatMap((l) => /^started with pid (\d+)$/.exec(String(l.raw))?.[1] ?? []).map(Number);
  const logged = lines.flatMap((l) => (typeof l.pid === 'number' && l.label !== undefined ? [l.pid] : []));
  return [...new Set([...started, ...logged])];
}

/** A directory holding `files`, removed after the test. */
function tempDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-launcher-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `agora start args…` until the broker's ready line, stopped (SIGTERM) after the test. */
async function launch(t: TestContext, args: string[], env: Record<string, string>): Promise<Started> {
  const launched = await start(process.execPath, [AGORA, 'start', ...args], {
    env,
    parse: labelledLine,
    isReady: readyOf('broker.1'),
  });
  t.after(() => launched.stop());
  return launched;
}

/** `agora start args…` run to its own end: its exit code and every output line. */
async function runToEnd(args: string[], env: Record<string, string>): Promise<{ code: number | null; lines: Line[] }> {
  const child = spawn(process.execPath, [AGORA, 'start', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Line[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => lines.push(labelledLine(text)));
  const timer = setTimeout(() => child.kill('SIGTERM'), EXIT_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, lines };
}

test('the Procfile: broker first, then the mesh with two echo; it serves HTTP; SIGTERM stops all and exits 0', async (t) => {
  const bus = `tcp://127.0.0.1:${await freePort()}`;
  const env = {
    AGORA_BUS_URL: bus,
    AGORA_HTTP_PORT: '0',
    AGORA_AUTH_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_CHANNELS_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_MESSAGES_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_DRIVER_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_COMPUTE_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_ROUTES_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_WAKE_GRPC_URL: `127.0.0.1:${await freePort()}`,
    AGORA_PROXY_PORT: '0',
  };
  const labels = [
    'broker.1',
    'echo.1',
    'echo.2',
    'auth.1',
    'channels.1',
    'messages.1',
    'driver.1',
    'driver-ruby.1',
    'compute.1',
    'routes.1',
    'wake.1',
    'proxy.1',
    'gateway.1',
  ];
  // 1. The launcher is ready when the broker is, on the bus we gave it.
  const mesh = await launch(t, ['-f', path.join(ROOT, 'Procfile'), '-m', 'all=1,echo=2'], env);
  assert.deepEqual(mesh.endpoints, { bus });
  // 2. Every process comes up under its own label, started after the broker was ready.
  const ready = await Promise.all(labels.slice(1).map((label) => mesh.waitFor(readyOf(label), 30_000)));
  assert.deepEqual(
    ready.slice(0, 2).map((l) => (l.endpoints as Line).bus),
    [bus, bus],
  );
  const brokerReady = mesh.lines.findIndex(readyOf('broker.1'));
  assert.ok(
    mesh.lines.findIndex((l) => l.label === 'echo.1') > brokerReady,
    'echo started before the broker was ready',
  );
  // 3. The mesh answers a logon of the legacy messaging API through the gateway.
  const http = String((ready[ready.length - 1].endpoints as Line).http);
  const res = await fetch(`${http}/logon`, {
    method: 'POST',
    body: JSON.stringify({ username: 'launcher', password: 'pw' }),
  });
  const body = (await res.json()) as { status: boolean; data: unknown };
  assert.equal(body.status, true, JSON.stringify(body));
  assert.ok(Number.isSafeInteger(body.data) && (body.data as number) > 0);
  // 4. Every line is prefixed, padded to the widest label, uncoloured (stdout is a pipe).
  assert.ok(
    mesh.lines.every((l) => [...labels, 'system'].includes(String(l.label))),
    'an unlabelled line',
  );
  const pids = pidsIn(mesh.lines);
  assert.ok(pids.length >= labels.length, `pids: ${pids.join(',')}`);
  // 5. SIGTERM reaches every process once; each drains and exits 0, then the launcher does.
  assert.equal(await mesh.stop('SIGTERM'), 0);
  for (const label of labels) {
    assert.ok(mesh.lines.some(said(label, 'exited with code 0')), `${label} did not exit 0`);
    assert.equal(mesh.lines.find((l) => l.label === label && l.msg === 'draining')?.signal, 'SIGTERM');
    // Each process's lines arrive in the order it wrote them, the last ones at exit included.
    const times = mesh.lines
      .filter((l) => l.label === label && typeof l.time === 'number')
      .map((l) => l.time as number);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      `${label} lines out of order`,
    );
    const msgs = mesh.lines.filter((l) => l.label === label).map((l) => l.msg);
    assert.ok(msgs.indexOf('draining') < msgs.indexOf('stopped'), `${label}: ${msgs.join(', ')}`);
  }
  assert.deepEqual(pids.filter(alive), [], 'processes left behind');
});

test('a process that dies on its own stops the others, and the launcher exits with its code', async (t) => {
  const dir = tempDir(t, { Procfile: `broker: ${BROKER}\ncrash: echo going; exit 3\n` });
  const { code, lines } = await runToEnd(['-f', path.join(dir, 'Procfile')], {
    AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}`,
  });
  assert.equal(code, 3);
  assert.ok(lines.some(said('crash.1', 'going')));
  assert.ok(lines.some(said('crash.1', 'exited with code 3')));
  assert.ok(lines.some(said('system', 'sending SIGTERM to all processes')));
  assert.ok(lines.some(said('broker.1', 'exited with code 0')), 'the broker was not stopped');
  assert.deepEqual(pidsIn(lines).filter(alive), []);
});

test('a broker that dies before its ready line: nothing else starts, non-zero exit', async (t) => {
  const dir = tempDir(t, { Procfile: 'broker: echo cannot bind >&2; exit 2\nother: echo started\n' });
  const { code, lines } = await runToEnd(['-f', path.join(dir, 'Procfile')], {});
  assert.equal(code, 2);
  assert.ok(lines.some(said('broker.1', 'cannot bind')), 'stderr is not prefixed on stdout');
  assert.ok(!lines.some((l) => l.label === 'other.1'), 'other started without a ready broker');
});

test('a second signal while stopping is ignored; SIGKILL after the grace period', async (t) => {
  // stubborn.js ignores SIGTERM and SIGINT; it says ready only once it does.
  const stubborn =
    "process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); setInterval(() => {}, 60_000); console.log(JSON.stringify({ ready: true }));\n";
  const dir = tempDir(t, { Procfile: `broker: ${BROKER}\nstubborn: node stubborn.js\n`, 'stubborn.js': stubborn });
  const mesh = await launch(t, ['-f', path.join(dir, 'Procfile'), '-t', '1'], {
    AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}`,
  });
  await mesh.waitFor(readyOf('stubborn.1'));
  // 1. The first SIGINT is forwarded; the broker drains and exits 0.
  mesh.child.kill('SIGINT');
  await mesh.waitFor(said('system', 'sending SIGINT to all processes'));
  await mesh.waitFor(said('broker.1', 'exited with code 0'));
  // 2. The second (npm forwards the terminal's SIGINT again) is not sent on.
  mesh.child.kill('SIGINT');
  await mesh.waitFor(said('system', 'SIGINT received while stopping, still waiting'));
  // 3. After the 1 s grace, stubborn is killed, and the unclean stop shows in the exit code.
  const [code] = (await once(mesh.child, 'exit')) as [number | null];
  assert.equal(code, 128 + 9);
  assert.ok(mesh.lines.some(said('stubborn.1', 'terminated by SIGKILL')));
  assert.equal(mesh.lines.filter((l) => l.label === 'broker.1' && l.msg === 'draining').length, 1);
  assert.deepEqual(pidsIn(mesh.lines).filter(alive), []);
});
