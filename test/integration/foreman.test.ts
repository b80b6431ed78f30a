/**
 * The repository's Procfile under the real foreman (Debian's ruby-foreman): the broker
 * comes up on the bus we give it (foreman's PORT is ignored) and stops cleanly on a signal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { freePort, labelledLine, skipOrFail, start } from '../helpers/proc';

const FOREMAN = 'foreman';

let foremanProblem: Promise<string | null> | undefined;

/** Whether foreman runs here; otherwise skip, or fail under CI (CONTRIBUTING.md "Test"). */
async function needForeman(t: TestContext): Promise<boolean> {
  foremanProblem ??= new Promise((resolve) => {
    execFile(FOREMAN, ['version'], { timeout: 10_000 }, (err) =>
      resolve(err === null ? null : err.message.split('\n')[0]),
    );
  });
  const problem = await foremanProblem;
  if (problem === null) return true;
  return skipOrFail(t, `${FOREMAN} is not usable here (${problem})`, 'ruby-foreman');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`foreman start broker: ready on our bus, ${signal} stops it with exit 0`, async (t) => {
    if (!(await needForeman(t))) return;
    const bus = `tcp://127.0.0.1:${await freePort()}`;
    const foreman = await start(FOREMAN, ['start', '-f', 'Procfile', 'broker'], {
      env: { AGORA_BUS_URL: bus },
      parse: labelledLine,
      isReady: (l) => l.label === 'broker.1' && l.ready === true,
    });
    t.after(() => foreman.stop());
    assert.deepEqual(foreman.endpoints, { bus });
    const pid = foreman.lines.find((l) => l.label === 'broker.1' && l.ready === true)?.pid;
    assert.equal(typeof pid, 'number');

    assert.equal(await foreman.stop(signal), 0);
    // foreman sends SIGTERM to its processes whichever signal it got itself.
    assert.equal(foreman.lines.find((l) => l.label === 'broker.1' && l.msg === 'draining')?.signal, 'SIGTERM');
    // Exit 0, as foreman saw it (not "terminated by SIGTERM"): the broker drained. Its own last
    // line may be missing: foreman exits once its children are reaped, without reading their
    // pipes to the end (foreman 0.87 Engine#terminate_gracefully).
    assert.ok(
      foreman.lines.some((l) => l.label === 'broker.1' && l.raw === 'exited with code 0'),
      'the broker did not drain',
    );
    assert.throws(() => process.kill(pid as number, 0), { code: 'ESRCH' }, 'the broker outlived foreman');
  });
}
