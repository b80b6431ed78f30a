/** pino, the one logger of every process (CONTRIBUTING.md "Logging"). */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT = [
  'password',
  '*.password',
  'sesskey',
  '*.sesskey',
  'session',
  '*.session',
  'req.headers.authorization',
];

/** The root logger of a process: JSON to stdout, tagged with its service name. */
export function createLogger(svc: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { pid: process.pid, hostname: hostname(), svc }, redact: { paths: REDACT, censor: '[redacted]' } },
    destination,
  );
}

/**
 * Call `then` once every line `log` has taken is written. The default destination writes
 * to stdout asynchronously; a process exiting while one write is in flight has its last
 * lines flushed around that write, out of order (`stopped` before `draining`). sonic-boom's
 * own `flush(cb)` answers at once for our `minLength` of 0, so this waits for its `drain`
 * while it is writing (its `_writing` flag: no public accessor says so).
 */
export function afterLogsWritten(log: Logger, then: () => void): void {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { _writing?: unknown; once?: (event: string, fn: () => void) => void } | undefined;
  if (stream?._writing === true && typeof stream.once === 'function') stream.once('drain', then);
  else then();
}
