/**
 * auth's background sweep: an unref'd timer that, every min(idle/4, 5 s), forgets the
 * failed-logon counts that are over and expires the sessions gone idle (telling the
 * watchers). One sweep at a time: a tick that finds one running skips.
 */
import type { Logger } from '../../lib/log';
import type { Sessions } from './sessions';
import type { LogonThrottle } from './throttle';

export interface SweepOptions {
  sessions: Sessions;
  throttle: LogonThrottle;
  idleMs: number;
  /** Wall clock, ms since the epoch. */
  now: () => number;
  log: Logger;
}

export interface Sweep {
  /** Sweep now; answers how many sessions expired (0 when a sweep was already running). */
  run: () => Promise<number>;
  /** Stop the timer. */
  stop: () => void;
}

export function startSweep(options: SweepOptions): Sweep {
  const { sessions, throttle, now, log } = options;
  let sweeping = false;
  async function run(): Promise<number> {
    if (sweeping) return 0;
    sweeping = true;
    try {
      const at = now();
      await throttle.prune(at).catch((err: unknown) => log.warn({ err }, 'pruning failed logons failed'));
      return await sessions.expireIdle(at);
    } finally {
      sweeping = false;
    }
  }
  const timer = setInterval(
    () => void run().catch((err: unknown) => log.error({ err }, 'sweep failed')),
    Math.min(options.idleMs / 4, 5000),
  );
  timer.unref();
  return { run, stop: () => clearInterval(timer) };
}
