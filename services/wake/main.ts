/**
 * The wake process (Procfile: wake): `Wake` on the bus and on gRPC. It starts stopped nodes for
 * the proxies through compute's internal Compute.Wake, and with AGORA_NODE_IDLE_S above 0 stops
 * the nodes that served no request for that long (Compute.Sleep). It follows Routes' node
 * targets (AGORA_ROUTES_GRPC_URL) to know which nodes are ACTIVE; several instances hear each
 * other's activity reports on the topic of the backend the routes live in (Redis, else
 * PostgreSQL); in memory, run one.
 */
import { createClient } from '../../lib/bus/client';
import { RoutesClient } from '../../lib/routes-client';
import { serviceMain } from '../../lib/rpc/run';
import { openStores } from '../../lib/store/index';
import { buildWakeService, computeOverBus } from './handlers';
import { WakeService } from './wake';

serviceMain('wake', 'wakeGrpcUrl', async (config, log, security) => {
  // No store of its own: the routes' backend, for its topic only.
  const shared = config.redisUrl !== '' || config.databaseUrl !== '';
  const topicStores = shared ? await openStores(config, log, ['routes']) : undefined;
  const bus = createClient({
    endpoint: config.busUrl,
    timeoutMs: config.requestTimeoutMs,
    maxPending: config.clientMaxPending,
    caller: 'wake',
    handshakeMs: config.zmtpHandshakeMs,
    log,
  });
  const routes = new RoutesClient({
    url: config.routesGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'routes' }),
    credentials: security.client,
  });
  const wake = new WakeService({
    compute: computeOverBus(bus, config.requestTimeoutMs),
    routes,
    idleMs: config.nodeIdleS * 1000,
    topic: topicStores?.broadcast('wake'),
    log: log.child({ mod: 'wake' }),
  });
  await wake.start();
  return {
    impl: buildWakeService(wake),
    health: topicStores?.checks(),
    drain: () => wake.close(),
    close: async () => {
      wake.close();
      routes.close();
      bus.close();
      await topicStores?.close();
    },
  };
});
