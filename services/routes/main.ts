/**
 * The routes process (Procfile: routes): `Routes` on the bus and on gRPC, with the Watch stream
 * on gRPC. Several instances may run on one PostgreSQL or Redis store: each hears the changes
 * every other makes through the store's topic (./relay.ts).
 */
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { buildRoutes } from './handlers';

serviceMain('routes', 'routesGrpcUrl', async (config, log, security) => {
  const stores = await openStores(config, log, ['routes']);
  const sessions = createSessionCache({
    authGrpcUrl: config.authGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'sessions' }),
    credentials: security.client,
  });
  const routes = buildRoutes({
    store: stores.routes,
    sessions,
    rules: { domain: config.proxyDomain, admins: new Set(config.admins) },
    log: log.child({ mod: 'routes' }),
    tombstoneTtlMs: config.tombstoneTtlS * 1000,
  });
  await routes.start(config.storeTimeoutMs);
  return {
    impl: routes.impl,
    // Whether this instance hears the store's changes (./relay.ts): `Routes.changes` in /__heartbeat__.
    health: stores.checks().add('changes', () => routes.relay.hearing),
    drain: () => routes.close(),
    close: async () => {
      routes.close();
      sessions.close();
      await stores.close();
    },
  };
});
