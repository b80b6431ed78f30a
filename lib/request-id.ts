/**
 * The request id: a caller's `X-Request-Id` is kept when it is a sane token (it goes into every
 * log line and onto the bus, so nothing long or odd), else a new UUID is made. The gateway and the
 * proxy both name requests this way (docs/ARCHITECTURE.md "Logs and request ids").
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const VALID_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id of `req`: the caller's `X-Request-Id` when sane, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && VALID_ID.test(given) ? given : randomUUID();
}
