/**
 * lib/session-cache.ts: the cache's tick, which sends the touches and checks that auth is still heard, runs
 * as seldom as the touches allow: every touchEveryMs, or every idle/4 when sessions are shorter. Each tick
 * wakes a process that may be doing nothing else (every service that resolves sessions holds a cache).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { SessionCache } from '../../lib/session-cache';

interface Inside {
  tick(): void;
  store(sesskey: number, identity: { username: string; idle_s: number }): void;
}

test('the cache ticks every touchEveryMs, and every idle/4 once it holds a session idle sooner', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let ticks = 0;
  t.mock.method(SessionCache.prototype as unknown as Inside, 'tick', () => void ticks++);
  // No auth listens there: the stream keeps reconnecting (on grpc-js's own timers), the tick goes on.
  const cache = new SessionCache({ authGrpcUrl: '127.0.0.1:1', timeoutMs: 500, log: createLogger('test', 'silent') });
  t.after(() => cache.close());
  t.mock.timers.tick(999);
  assert.equal(ticks, 0, 'not before touchEveryMs (1 s by default)');
  t.mock.timers.tick(1);
  assert.equal(ticks, 1);
  t.mock.timers.tick(3000);
  assert.equal(ticks, 4);
  // A session idle after 2 s: its touches must reach auth well within that, so the tick runs every 500 ms.
  (cache as unknown as Inside).store(7, { username: 'ann', idle_s: 2 });
  ticks = 0;
  t.mock.timers.tick(2000);
  assert.equal(ticks, 4);
  // A longer one changes nothing.
  (cache as unknown as Inside).store(8, { username: 'bob', idle_s: 60 });
  ticks = 0;
  t.mock.timers.tick(2000);
  assert.equal(ticks, 4);
});
