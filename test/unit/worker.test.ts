/**
 * The TypeScript worker's heartbeat judgement (lib/bus/worker.ts, RFC 7 §Heartbeating), against
 * a ROUTER playing the broker. The heartbeat clock is mocked (setInterval and Date); the
 * sockets are real.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serve } from '../../lib/bus/worker';
import { Command } from '../../lib/bus/mdp';
import { createLogger } from '../../lib/log';
import { routerInbox } from '../helpers/router-inbox';

const HEARTBEAT_MS = 100;
const LIVENESS = 3;

test("a stall of the worker is not the broker's silence: only silence it was awake for counts", async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
  // 1. A ROUTER for a broker that never speaks; the worker's READY reaches it.
  const { broker, next } = routerInbox();
  const endpoint = await broker.bind('tcp://127.0.0.1:*');
  const lines: Array<{ msg: string; reason?: string }> = [];
  const log = createLogger('test', 'info', {
    write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; reason?: string }),
  });
  const pool = serve(
    'late',
    {},
    { endpoint, concurrency: 2, heartbeatMs: HEARTBEAT_MS, heartbeatLiveness: LIVENESS, log },
  );
  t.after(async () => {
    await pool.close();
    broker.close();
  });
  await pool.ready();
  const ready = await next();
  assert.equal(ready[3][0], Command.READY);
  const reconnects = (): number => lines.filter((l) => l.msg === 'reconnecting to broker').length;
  // 2. The worker's loop stalls for ten liveness windows, then its tick runs before it could
  //    read anything: it heartbeats on the same socket and does not give the broker up.
  t.mock.timers.setTime(Date.now() + 10 * HEARTBEAT_MS * LIVENESS);
  t.mock.timers.tick(HEARTBEAT_MS);
  assert.equal(reconnects(), 0, 'gave the broker up for its own stall');
  const beat = await next();
  assert.deepEqual([beat[0], beat[3][0]], [ready[0], Command.HEARTBEAT]);
  // 3. A broker silent while the worker is awake is still given up after liveness x interval.
  t.mock.timers.tick(HEARTBEAT_MS * (LIVENESS - 1));
  assert.equal(reconnects(), 0, 'gave the broker up before liveness x interval');
  t.mock.timers.tick(HEARTBEAT_MS);
  assert.deepEqual(
    lines.filter((l) => l.msg === 'reconnecting to broker').map((l) => l.reason),
    ['broker silent'],
  );
});
