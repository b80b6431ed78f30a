/**
 * An empty body is no body, whatever its Content-Type and whatever the method: a client that
 * sends `Content-Type: application/json` on a DELETE or GET without a body (kinto-http does)
 * gets the route's answer, not 400 "The body is not valid JSON" or 415.
 * - A request that announces no body (neither Transfer-Encoding nor a Content-Length above 0)
 *   has its Content-Type dropped before the body is looked at, so Fastify parses nothing.
 * - A chunked JSON body that turns out empty parses to no body too (Fastify's JSON parser,
 *   with its prototype-poisoning checks, for any other).
 * The legacy messaging API keeps its own parser and its answers (gateway/legacy/routes.ts).
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Whether a request's headers announce no body at all (RFC 9112 §6.3). */
export function announcesNoBody(request: FastifyRequest): boolean {
  const { 'transfer-encoding': encoding, 'content-length': length } = request.headers;
  return encoding === undefined && (length === undefined || /^\s*0+\s*$/.test(length));
}

export const emptyBody = fp(
  async (app) => {
    app.addHook('onRequest', (request, _reply, done) => {
      // The route is looked at last: Fastify's routeOptions makes a new object at each read.
      if (
        request.headers['content-type'] !== undefined &&
        announcesNoBody(request) &&
        request.routeOptions.config?.surface !== 'legacy'
      )
        delete request.raw.headers['content-type'];
      done();
    });
    const json = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') {
        done(null, undefined);
        return;
      }
      void json(request, String(body), done);
    });
  },
  { name: 'agora-empty-body' },
);
