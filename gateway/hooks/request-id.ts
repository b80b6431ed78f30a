/**
 * The request id (docs/ARCHITECTURE.md "Logs and request ids"): a caller's `X-Request-Id`
 * is kept when it is a sane token, anything else gets a fresh UUID; the id is answered on
 * every response, labels every log line of the request (`reqId`), and the routes pass it on
 * to the bus and gRPC.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller's id may be: it goes into every log line and onto the bus, so nothing long or odd. */
const VALID_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Fastify's `genReqId`. Fastify's own `requestIdHeader` would take any header value as it
 * is (even kilobytes of control characters), so the gateway reads the header here instead.
 */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && VALID_ID.test(given) ? given : randomUUID();
}

/** Answer the request id on every response, errors and preflights included. */
export const requestId = fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
  },
  { name: 'agora-request-id' },
);
