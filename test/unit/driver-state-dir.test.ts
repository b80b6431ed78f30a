/**
 * The TypeScript driver's state directory (services/driver/state-dir.ts, docs/COMPUTE.md
 * "Driver restarts"): its name, its lock, node records, and node output logs and their cut.
 * The restart itself is in the driver conformance suite, against both drivers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../lib/log';
import { LOG_MAX_BYTES, processStart, sameProcess, StateDir, stateDirOf } from '../../services/driver/state-dir';

const log = createLogger('test', 'silent');

function scratch(t: TestContext): string {
  const root = mkdtempSync(path.join(tmpdir(), 'agora-state-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** The pid of a process that has ended (and been reaped). */
function deadPid(): number {
  const child = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

test('the directory of a driver: <service>@<bus> under the root, or under the temp dir', () => {
  assert.equal(
    stateDirOf('/var/lib/agora', 'driver.local', 'tcp://127.0.0.1:5555'),
    '/var/lib/agora/driver.local@127.0.0.1_5555',
  );
  assert.equal(
    path.basename(stateDirOf('/x', 'driver.ruby', 'ipc:///run/agora.sock')),
    'driver.ruby@ipc____run_agora.sock',
  );
  assert.equal(
    stateDirOf('', 'driver.local', 'tcp://127.0.0.1:5555'),
    path.join(tmpdir(), `agora-driver-${process.getuid?.() ?? 0}`, 'driver.local@127.0.0.1_5555'),
  );
});

test('a process is known by its pid and start time: a live one is itself, an ended one is not', () => {
  const start = processStart(process.pid);
  assert.match(start ?? '', /^\d+$/);
  assert.equal(sameProcess({ pid: process.pid, start: start! }), true);
  assert.equal(sameProcess({ pid: process.pid, start: `${start}0` }), false, 'another start time: a reused pid');
  assert.equal(sameProcess({ pid: process.pid, start: '' }), false, 'an unknown start time is never trusted');
  assert.equal(processStart(deadPid()), null);
});

test("the lock: a live driver holds the directory, a dead one's lock is taken over, release removes an empty directory", (t) => {
  const dir = path.join(scratch(t), 'driver.local@127.0.0.1_5555');
  // 1. Held by a live process (this test's parent stands for another driver).
  StateDir.open(dir, log);
  writeFileSync(
    path.join(dir, 'driver.lock'),
    JSON.stringify({ pid: process.ppid, start: processStart(process.ppid) }),
  );
  assert.throws(() => StateDir.open(dir, log), /held by another running driver/);
  // 2. Left by a process that has ended: taken over.
  writeFileSync(path.join(dir, 'driver.lock'), JSON.stringify({ pid: deadPid(), start: '1' }));
  const state = StateDir.open(dir, log);
  const lock = JSON.parse(readFileSync(path.join(dir, 'driver.lock'), 'utf8')) as { pid: unknown };
  assert.equal(lock.pid, process.pid);
  // 3. Released with a record in it: the record stays for the next driver; without, the directory goes.
  state.save({ node: { id: 'n1' } as never, process: null });
  state.release();
  assert.deepEqual(readdirSync(dir), ['n1.json']);
  const again = StateDir.open(dir, log);
  again.remove('n1');
  again.release();
  assert.throws(() => statSync(dir), { code: 'ENOENT' });
});

test('records: saved whole, loaded back; one that is not a record is left alone', (t) => {
  const dir = path.join(scratch(t), 'd');
  const state = StateDir.open(dir, log);
  const node = {
    id: 'web-1',
    name: 'web',
    owner: 'ann',
    image: 'http',
    size: 'small',
    command: '',
    state: 'ACTIVE',
    reason: '',
    host: '127.0.0.1',
    port: 4000,
    pid: 12,
    exit_code: -1,
    signal: '',
    created_at: 1,
    updated_at: 2,
  } as const;
  state.save({ node, process: { pid: 12, start: '34' } });
  writeFileSync(path.join(dir, 'broken.json'), '{');
  const { state: _missing, ...partial } = { ...node, id: 'partial' };
  writeFileSync(path.join(dir, 'partial.json'), JSON.stringify({ node: partial, process: null }));
  writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ node: { id: 'not-other' } }));
  writeFileSync(path.join(dir, 'Bad_Id.json'), JSON.stringify({ node: { id: 'Bad_Id' } }));
  assert.deepEqual(state.load(), [{ node, process: { pid: 12, start: '34' } }]);
  state.remove('web-1');
  assert.deepEqual(state.load(), []);
});

test('output: the last lines of the log, each cut; past LOG_MAX_BYTES the log is cut and its tail kept', async (t) => {
  const state = StateDir.open(path.join(scratch(t), 'd'), log);
  assert.deepEqual(await state.output('n', 5, 10), [], 'no log yet');
  const fd = state.openLog('n');
  writeSync(fd, `first\n${'y'.repeat(30)}\nlast`);
  assert.deepEqual(await state.output('n', 5, 10), ['first', `${'y'.repeat(10)}…`, 'last']);
  // Past the limit: the tail moves to n.log.1, the log starts again, and the output spans both.
  writeSync(fd, `\n${`${'z'.repeat(99)}\n`.repeat(Math.ceil(LOG_MAX_BYTES / 100) + 10)}`);
  state.trimLog('n');
  assert.equal(statSync(path.join(state.dir, 'n.log')).size, 0);
  assert.equal(statSync(path.join(state.dir, 'n.log.1')).size, 65_536);
  writeSync(fd, 'after the cut\n'); // the process appends: it writes on at the new end
  closeSync(fd);
  assert.deepEqual(await state.output('n', 2, 200), ['z'.repeat(99), 'after the cut']);
  assert.equal(statSync(path.join(state.dir, 'n.log')).size, 'after the cut\n'.length);
});
