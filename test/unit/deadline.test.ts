/** lib/deadline.ts `within`: a promise's outcome, or the caller's error once its time is up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { within } from '../../lib/deadline';

test('within answers what the promise settles with in time, and late() once the time is up', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  assert.equal(await within(Promise.resolve('done'), 1000, () => new Error('late')), 'done');
  await assert.rejects(
    within(Promise.reject(new Error('own')), 1000, () => new Error('late')),
    /own/,
  );
  const never = within(new Promise<never>(() => undefined), 1000, () => new Error('late'));
  t.mock.timers.tick(999);
  let settled = false;
  void never.catch(() => (settled = true));
  await Promise.resolve();
  assert.equal(settled, false, 'not before its time');
  t.mock.timers.tick(1);
  await assert.rejects(never, /^Error: late$/);
});
