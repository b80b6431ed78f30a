/** lib/health.ts: checks run together under one deadline; anything but success is a failure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthChecks, healthy } from '../../lib/health';

test('every check runs; true or nothing passes, false, a throw or a rejection fails', async () => {
  const warned: string[] = [];
  const checks = new HealthChecks()
    .add('ok', () => true)
    .add('silent', async () => undefined)
    .add('no', () => false)
    .add('throws', () => {
      throw new Error('boom');
    })
    .add('rejects', () => Promise.reject(new Error('down')));
  const report = await checks.run(Date.now() + 1000, {
    warn: (obj) => void warned.push((obj as { check: string }).check),
  });
  assert.deepEqual(report, { ok: true, silent: true, no: false, throws: false, rejects: false });
  assert.deepEqual(warned.sort(), ['no', 'rejects', 'throws']);
  assert.equal(healthy(report), false);
  assert.equal(healthy({ a: true, b: true }), true);
  assert.deepEqual(await new HealthChecks().run(Date.now()), {});
});

test('a nested report is listed as name.check, and the name passes only when all of them do', async () => {
  const checks = new HealthChecks()
    .add('Messages', () => ({ storage: true, cache: false }))
    .add('Channels', () => ({ storage: true }));
  assert.deepEqual(await checks.run(Date.now() + 1000), {
    'Messages.storage': true,
    'Messages.cache': false,
    Messages: false,
    'Channels.storage': true,
    Channels: true,
  });
});

test('a check that has not answered by the deadline fails then, and gets the deadline', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  let given = 0;
  const checks = new HealthChecks()
    .add('hangs', (deadline) => {
      given = deadline;
      return new Promise(() => undefined);
    })
    .add('fast', () => true);
  let report: Record<string, boolean> | undefined;
  const running = checks.run(1_000_500).then((r) => (report = r));
  await Promise.resolve();
  t.mock.timers.tick(499);
  await Promise.resolve();
  assert.equal(report, undefined, 'still waiting before the deadline');
  t.mock.timers.tick(1);
  await running;
  assert.deepEqual(report, { hangs: false, fast: true });
  assert.equal(given, 1_000_500);
});

test('add replaces a check of the same name; names and get list what is registered', () => {
  const first = (): boolean => true;
  const second = (): boolean => false;
  const checks = new HealthChecks().add('db', first).add('db', second).add('cache', first);
  assert.deepEqual(checks.names, ['db', 'cache']);
  assert.equal(checks.get('db'), second);
  assert.equal(checks.get('nope'), undefined);
});
