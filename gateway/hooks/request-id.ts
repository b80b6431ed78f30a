/**
 * The request id (docs/ARCHITECTURE.md "Logs and request ids"): a caller's `X-Request-Id`
 * is kept when it is a sane token, anything else gets a fresh UUID; the id is answered on
 * every response, labels every log line of the request (`reqId`), and the routes pass it on
 * to the bus and gRPC.
 */
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';
import { REQUEST_ID_HEADER, requestIdOf } from '../../lib/request-id';

export { REQUEST_ID_HEADER };

/**
 * Fastify's `genReqId`. Fastify's own `requestIdHeader` would take any header value as it
 * is (even kilobytes of control characters), so the gateway reads the header here instead.
 */
export const genReqId: (req: IncomingMessage) => string = requestIdOf;

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
