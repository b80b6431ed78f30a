/**
 * The Procfile's driver-ruby entry (workers/ruby/procfile-driver.sh) on a machine without
 * Ruby: `npm start` must keep the rest of the mesh up, so the entry says why it did not start
 * and waits for its stop signal; it fails when compute is told to use the Ruby driver.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { ROOT } from '../helpers/proc';

const SCRIPT = path.join(ROOT, 'workers', 'ruby', 'procfile-driver.sh');
const NO_RUBY = { RUBY: path.join(ROOT, 'no-such-ruby') };

function run(env: Record<string, string>): { child: ReturnType<typeof spawn>; firstLine: Promise<string> } {
  const child = spawn('sh', [SCRIPT], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr });
  const firstLine = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('close', () => reject(new Error('exited before saying anything')));
  });
  return { child, firstLine };
}

test('without Ruby the entry says why, stays up, and exits 0 on SIGTERM', async (t) => {
  const { child, firstLine } = run(NO_RUBY);
  t.after(() => child.kill('SIGKILL'));
  assert.match(
    await firstLine,
    /^driver-ruby: not started: it needs Debian's ruby, ruby-ffi-rzmq and ruby-msgpack .*; compute uses driver\.local$/,
  );
  assert.equal(child.exitCode, null);
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  assert.deepEqual(await closed, [0, null]);
});

test('without Ruby, when compute is told to use the Ruby driver, the entry fails', async () => {
  const { child, firstLine } = run({ ...NO_RUBY, AGORA_COMPUTE_DRIVER: 'driver.ruby' });
  const closed = once(child, 'close');
  assert.match(await firstLine, /cannot start: .* and AGORA_COMPUTE_DRIVER names it$/);
  assert.deepEqual(await closed, [1, null]);
});
