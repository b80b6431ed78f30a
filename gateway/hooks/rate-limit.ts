/**
 * Rate limiting per client address (@fastify/rate-limit): beyond `max` requests in a
 * window, 429 with `Retry-After` and the error body of AGORA_ERR_HTTP_RATE_LIMITED.
 * Off when `max` is 0. Routes opt out with `config: { rateLimit: false }` (the ops endpoints).
 */
import fastifyRateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import { documentStatuses } from '../ops/statuses';

export interface RateLimitOptions {
  /** Requests per client address per window; 0: no limit. */
  max: number;
  windowMs: number;
}

export const rateLimit = fp<RateLimitOptions>(
  async (app, options) => {
    if (options.max <= 0) return;
    documentStatuses(app, (route) => (route.config?.rateLimit === false ? [] : [429]));
    await app.register(fastifyRateLimit, {
      // Not per route (global: true appends the check after a route's own onRequest hooks, so a
      // request refused by authentication would never be counted): one hook on the root below.
      global: false,
      max: options.max,
      timeWindow: options.windowMs,
      // The plugin has set Retry-After already; what it throws goes to the one error handler.
      errorResponseBuilder: (_request, context) =>
        new AgoraError('AGORA_ERR_HTTP_RATE_LIMITED', [Math.max(1, Math.ceil(context.ttl / 1000))]),
    });
    const limit = app.rateLimit();
    // Every request, unknown paths and failed authentications included, before any route hook.
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config?.rateLimit === false) return;
      await limit.call(app, request, reply);
    });
  },
  { name: 'agora-rate-limit' },
);
