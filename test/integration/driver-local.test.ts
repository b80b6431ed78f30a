/**
 * What the TypeScript driver does beyond the shared contract suite (driver-conformance):
 * its cap on nodes, and stopping a command node's whole process group. The LocalDriver runs
 * in-process here; its nodes are real processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AgoraError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { LocalDriver, type NodeView } from '../../services/driver/local-driver';
import { StateDir } from '../../services/driver/state-dir';
import { until } from '../helpers/bus';
import { alive } from '../helpers/proc';

const STATE_MS = 15_000;

/** How a test reads a node's log: StateDir's `output`, or a wrap of it. */
type ReadOutput = StateDir['output'];

function driverOf(
  t: { after(fn: () => Promise<unknown>): void },
  maxNodes: number,
  readOutput?: (real: ReadOutput) => ReadOutput,
): LocalDriver {
  const log = createLogger('test', 'silent');
  const root = mkdtempSync(path.join(tmpdir(), 'agora-driver-test-'));
  const dir = StateDir.open(path.join(root, 'driver'), log);
  const state: StateDir =
    readOutput === undefined
      ? dir
      : Object.assign(Object.create(dir) as StateDir, { output: readOutput(dir.output.bind(dir)) });
  const driver = new LocalDriver({
    allowCommand: true,
    stopGraceMs: 500,
    healthTimeoutMs: 10_000,
    outputLines: 20,
    maxNodes,
    state,
    keepNodes: false,
    log,
  });
  t.after(async () => {
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  });
  return driver;
}

async function reach(driver: LocalDriver, id: string, state: string): Promise<NodeView> {
  await until(async () => (await driver.status(id)).state === state, STATE_MS);
  return driver.status(id);
}

/** A command node that starts a background child, prints its pid, then listens on PORT. */
const WITH_CHILD = `sleep 300 & echo "child $!"; exec ${process.execPath} -e "require('http').createServer((q, s) => s.end('up')).listen(process.env.PORT, process.env.HOST)"`;

test('the cap on nodes: Create beyond it answers AGORA_ERR_DRIVER_FULL; a retried Create of a held id still answers', async (t) => {
  const driver = driverOf(t, 1);
  const spec = { id: 'one', name: 'one', owner: 'ann', image: 'http', size: '', command: '' };
  await driver.create(spec);
  await assert.rejects(
    driver.create({ ...spec, id: 'two' }),
    (e: unknown) => e instanceof AgoraError && e.code === 'AGORA_ERR_DRIVER_FULL' && e.status === 503,
  );
  assert.equal((await driver.create(spec)).id, 'one');
  driver.delete('one');
  await until(async () => driver.list('').length === 0, STATE_MS);
  assert.equal((await driver.create({ ...spec, id: 'two' })).id, 'two', 'a deleted node still counted');
});

test("stopping a command node stops what its shell started too (the node's process group)", async (t) => {
  const driver = driverOf(t, 10);
  await driver.create({ id: 'grp', name: 'grp', owner: 'ann', image: 'command', size: '', command: WITH_CHILD });
  const active = await reach(driver, 'grp', 'ACTIVE');
  const line = active.output.find((l) => l.startsWith('child '));
  assert.ok(line !== undefined, JSON.stringify(active.output));
  const child = Number(line.slice('child '.length));
  assert.ok(alive(child), 'the background child is not running');
  driver.stop('grp');
  const stopped = await reach(driver, 'grp', 'STOPPED');
  assert.equal(stopped.pid, 0);
  await until(async () => !alive(child), STATE_MS);
});

test('a node answered as ended carries all it wrote: its state is taken before its log is read', async (t) => {
  const go = path.join(mkdtempSync(path.join(tmpdir(), 'agora-driver-go-')), 'go');
  t.after(() => rmSync(path.dirname(go), { recursive: true, force: true }));
  // The first Status reads the log while the node has written nothing, and answers only after the node has ended.
  let read!: () => void;
  const logRead = new Promise<void>((resolve) => (read = resolve));
  let release!: () => void;
  const nodeEnded = new Promise<void>((resolve) => (release = resolve));
  let first = true;
  const driver = driverOf(t, 10, (real) => async (id, lines, lineMax) => {
    const output = await real(id, lines, lineMax);
    if (first) {
      first = false;
      read();
      await nodeEnded;
    }
    return output;
  });
  await driver.create({
    id: 'late',
    name: 'late',
    owner: 'ann',
    image: 'command',
    size: '',
    command: `while [ ! -e '${go}' ]; do sleep 0.05; done; echo 'last words'; exit 0`,
  });
  const answer = driver.status('late');
  await logRead;
  writeFileSync(go, '');
  const ended = await reach(driver, 'late', 'ERROR');
  assert.deepEqual(ended.output, ['last words']);
  release();
  const early = await answer;
  assert.ok(early.state !== 'ERROR' || early.output.includes('last words'), JSON.stringify(early));
});
