/** pino, the one logger of every process (STYLE §5). */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT = ['password', '*.password', 'sesskey', '*.sesskey', 'session', '*.session', 'req.headers.authorization'];

/** The root logger of a process: JSON to stdout, tagged with its service name. */
export function createLogger(svc: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { pid: process.pid, hostname: hostname(), svc }, redact: { paths: REDACT, censor: '[redacted]' } },
    destination,
  );
}
