/**
 * The compute process (Procfile: compute): `Compute` on the bus and on gRPC, calling the
 * driver named by AGORA_COMPUTE_DRIVER, reading its nodes every AGORA_COMPUTE_SYNC_MS.
 */
import { createClient } from '../../lib/bus/client';
import { serviceMain } from '../../lib/rpc/run';
import { createSessionCache } from '../../lib/session-cache';
import { openStores } from '../../lib/store/index';
import { createDriverClient } from './driver-client';
import { buildComputeService } from './handlers';
import { Compute } from './compute';

serviceMain(
  'compute',
  (config) => config.computeGrpcUrl,
  async (config, log, mechanism) => {
    const stores = await openStores(config, log, ['nodes']);
    const sessions = createSessionCache({
      authGrpcUrl: config.authGrpcUrl,
      timeoutMs: config.grpcTimeoutMs,
      log: log.child({ mod: 'sessions' }),
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
    const compute = new Compute({
      store: stores.nodes,
      driver,
      maxNodesPerUser: config.computeMaxNodesPerUser,
      log: log.child({ mod: 'nodes' }),
      settleMs: config.requestTimeoutMs,
    });
    const stopSync = compute.startSync(config.computeSyncMs);
    return {
      impl: buildComputeService({ compute, sessions }),
      // The driver is Compute's own dependency: /__heartbeat__ names it `Compute.driver`.
      health: stores.checks().add('driver', (deadline) => bus.hasService(config.computeDriver, { deadline })),
      close: async () => {
        stopSync();
        bus.close();
        sessions.close();
        await stores.close();
      },
    };
  },
);
