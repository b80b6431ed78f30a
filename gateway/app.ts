/**
 * The gateway application: a Fastify instance that turns HTTP into bus calls (DESIGN
 * "The gateway is thin"). It never listens and never reads the environment; main.ts does.
 */
import { randomUUID } from 'node:crypto';
import fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import { installErrorHandlers } from './plugins/errors';
import { LEGACY_ROUTES, legacyRoutes, type BusCaller } from './routes/legacy';

export type { BusCaller };

export interface AppDeps {
  bus: BusCaller;
  log: Logger;
  /** busMaxBodyBytes caps request bodies (a body becomes one bus message); requestTimeoutMs is each call's deadline. */
  config: Pick<Config, 'busMaxBodyBytes' | 'requestTimeoutMs'>;
}

/** Build the gateway; `app.inject()` exercises it without a socket. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = fastify({
    loggerInstance: deps.log,
    // Fastify 5 reads no request id header unless told; a caller's id is kept (STYLE §5).
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit: deps.config.busMaxBodyBytes,
    // No type coercion: a legacy client's `null` or `true` must not become the number 0 or 1.
    // (A later surface whose querystrings need coercion can register its own validator compiler.)
    ajv: { customOptions: { coerceTypes: false } },
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // The session key of a /v1 request, set by plugins/auth.ts requireSession.
  app.decorateRequest('sesskey', 0);
  installErrorHandlers(app, { legacyPaths: LEGACY_ROUTES.map((route) => route.path) });
  // Load balancers' liveness probe (seed 003): the process answers; no dependency is checked.
  app.get('/__lbheartbeat__', async () => ({}));
  void app.register(legacyRoutes, { bus: deps.bus, timeoutMs: deps.config.requestTimeoutMs });
  return app;
}
