/**
 * CORS on every route, preflight included (the Cliquet/Kinto protocol; Kinto's
 * `cors_origins`). Browsers may read the protocol's own headers. A preflight allows the request
 * headers it asks for (Access-Control-Request-Headers is reflected): Authorization, If-Match,
 * Idempotency-Key (hooks/idempotency.ts) and any other the routes read.
 *
 * The answers are @fastify/cors's with these options (origin `*` or a list, the methods and exposed
 * headers below, a max age, no strict preflight), header for header; the hook is this file's own,
 * which makes every header value once, where @fastify/cors copies its options, reads the route's
 * options twice and joins the exposed headers again for every request: measured on the gateway alone
 * answering POST /post (a bus answering at once, 64 connections), some 2 µs of its ~23 µs of CPU per
 * request. test/unit/cors.test.ts compares both answers, @fastify/cors kept for that comparison.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** An OPTIONS request answered by the CORS hook (the `OPTIONS *` route serves it). */
    corsPreflightEnabled: boolean;
  }
}

/** Response headers a browser script may read (Kinto exposes the same set). */
export const EXPOSED_HEADERS = [
  'Next-Page',
  'Total-Records',
  'ETag',
  'Last-Modified',
  'Backoff',
  'Retry-After',
  'X-Request-Id',
  'Location',
  'Alert',
  'Idempotent-Replayed',
] as const;

export const ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface CorsOptions {
  /** `['*']` for any origin, or the allowed origins. */
  origins: readonly string[];
  /** How long a browser may cache a preflight answer. */
  maxAgeS?: number;
}

export const cors = fp<CorsOptions>(
  async (app, options) => {
    const origins = options.origins;
    const any = origins.includes('*');
    const exposed = EXPOSED_HEADERS.join(', ');
    const methods = ALLOWED_METHODS.join(', ');
    const maxAge = String(options.maxAgeS ?? 3600);
    app.decorateRequest('corsPreflightEnabled', false);
    app.addHook('onRequest', (request, reply, done) => {
      // A list of origins (without `*`): the answer depends on Origin, even where it names none allowed.
      if (!any) addVary(reply, 'Origin');
      const origin = request.headers.origin;
      if (any) reply.header('access-control-allow-origin', '*');
      else if (origin !== undefined && origins.includes(origin)) reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', exposed);
      if (request.raw.method !== 'OPTIONS') return done();
      // A preflight, with or without Origin and Access-Control-Request-Method, is answered here, before any
      // other hook (authentication, rate limit) can refuse it: 204 and no body.
      request.corsPreflightEnabled = true;
      reply.header('access-control-allow-methods', methods);
      addVary(reply, 'Access-Control-Request-Headers');
      const asked = request.headers['access-control-request-headers'];
      if (asked !== undefined) reply.header('access-control-allow-headers', asked);
      reply.header('access-control-max-age', maxAge);
      void reply.code(204).header('content-length', '0').send();
    });
    // Routing's answer for OPTIONS on any path, so that a preflight reaches the hook above; hidden from the
    // OpenAPI document.
    app.options('*', { schema: { hide: true } }, (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.corsPreflightEnabled) reply.callNotFound();
      else void reply.send();
    });
  },
  { name: 'agora-cors' },
);

/** Add `name` to the Vary header, unless it is listed there already or Vary is `*`. */
function addVary(reply: FastifyReply, name: string): void {
  const current = reply.getHeader('vary');
  if (current === undefined || current === '') {
    reply.header('vary', name);
    return;
  }
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  const listed = text.split(',').map((v) => v.trim().toLowerCase());
  if (listed.includes('*') || listed.includes(name.toLowerCase())) return;
  reply.header('vary', `${text}, ${name}`);
}
