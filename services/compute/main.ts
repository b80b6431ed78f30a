/**
 * The compute process (Procfile: compute): `Compute` on the bus and on gRPC, calling the
 * driver named by AGORA_COMPUTE_DRIVER, reading its nodes every AGORA_COMPUTE_SYNC_MS, and
 * pushing every node's target to Routes (AGORA_ROUTES_GRPC_URL, ./routes-push.ts).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '../../lib/bus/client';
import { RoutesClient } from '../../lib/routes-client';
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { createDriverClient } from './driver-client';
import { buildComputeService } from './handlers';
import { Compute } from './compute';
import { KeptPermissions, keptPermissionsDir } from './kept-permissions';
import { pushingStore, RoutePusher } from './routes-push';

serviceMain('compute', 'computeGrpcUrl', async (config, log, security, mechanism) => {
  const stores = await openStores(config, log, ['nodes']);
  const sessions = createSessionCache({
    authGrpcUrl: config.authGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'sessions' }),
    credentials: security.client,
  });
  const bus = createClient({
    endpoint: config.busUrl,
    timeoutMs: config.requestTimeoutMs,
    maxPending: config.clientMaxPending,
    caller: 'compute',
    handshakeMs: config.zmtpHandshakeMs,
    mechanism,
    log,
  });
  const driver = createDriverClient({ bus, service: config.computeDriver, timeoutMs: config.requestTimeoutMs });
  const routes = new RoutesClient({
    url: config.routesGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'routes' }),
    credentials: security.client,
  });
  // In memory each compute process starts its versions again: its pushes are an epoch of their own.
  const epoch = stores.backends.includes('memory') ? randomUUID() : 'shared';
  const pusher: RoutePusher = new RoutePusher({
    routes,
    store: stores.nodes,
    epoch,
    // Called only once compute exists (at a Watch hello, after start()).
    ready: (): Promise<void> => compute.ready(),
    log: log.child({ mod: 'routes' }),
  });
  // In memory the records go with the process: their permissions are kept on disk for the next one.
  const kept = stores.backends.includes('memory')
    ? new KeptPermissions(keptPermissionsDir(config.driverStateDir, config.busUrl), log.child({ mod: 'permissions' }))
    : undefined;
  const compute: Compute = new Compute({
    store: pushingStore(kept === undefined ? stores.nodes : kept.wrap(stores.nodes), pusher),
    keptPermissions: kept === undefined ? undefined : (id) => kept.get(id),
    driver,
    maxNodesPerUser: config.computeMaxNodesPerUser,
    log: log.child({ mod: 'nodes' }),
    settleMs: config.requestTimeoutMs,
    tombstoneTtlMs: config.tombstoneTtlS * 1000,
  });
  const stopSync = compute.startSync(config.computeSyncMs);
  pusher.start();
  return {
    impl: buildComputeService({
      compute,
      sessions,
      proxy: { domain: config.proxyDomain, port: config.proxyPort },
    }),
    // The driver is Compute's own dependency: /__heartbeat__ names it `Compute.driver`.
    health: stores.checks().add('driver', (deadline) => bus.hasService(config.computeDriver, { deadline })),
    close: async () => {
      stopSync();
      pusher.close();
      routes.close();
      bus.close();
      sessions.close();
      await stores.close();
    },
  };
});
