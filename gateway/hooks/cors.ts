/**
 * CORS on every route, preflight included (the Cliquet/Kinto protocol; Kinto's
 * `cors_origins`), through @fastify/cors. Browsers may read the protocol's own headers. A
 * preflight allows the request headers it asks for (@fastify/cors reflects
 * Access-Control-Request-Headers when no list is set): Authorization, If-Match, Idempotency-Key
 * (hooks/idempotency.ts) and any other the routes read.
 */
import fastifyCors from '@fastify/cors';
import fp from 'fastify-plugin';

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
    const any = options.origins.length === 1 && options.origins[0] === '*';
    await app.register(fastifyCors, {
      origin: any ? '*' : [...options.origins],
      methods: [...ALLOWED_METHODS],
      exposedHeaders: [...EXPOSED_HEADERS],
      maxAge: options.maxAgeS ?? 3600,
      // An OPTIONS without Origin or Access-Control-Request-Method gets the preflight answer too,
      // not @fastify/cors's text/plain 400 outside the error format.
      strictPreflight: false,
    });
  },
  { name: 'agora-cors' },
);
