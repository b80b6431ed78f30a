/**
 * The compute mesh for integration tests, as the Procfile runs it: broker, auth, a driver,
 * Routes, compute and the gateway, each its own process on free loopback ports. The driver is a
 * parameter (test/helpers/drivers.ts), so one suite runs against every driver.
 */
import type { DriverSpec } from './drivers';
import { startBroker, startNode, type Started, type StartOptions } from './proc';

export interface ComputeMesh {
  procs: Record<'broker' | 'auth' | 'driver' | 'routes' | 'compute' | 'gateway', Started>;
  bus: string;
  /** The gateway's base URL. */
  http: string;
  /** Stop compute and start it again with the same settings. */
  restartCompute(): Promise<void>;
  /**
   * Stop the driver and start it again with the same settings: SIGTERM (the default) stops
   * its nodes with it; after SIGKILL the next driver adopts them (docs/COMPUTE.md "Driver restarts").
   */
  restartDriver(signal?: NodeJS.Signals): Promise<void>;
}

export interface MeshOptions {
  /** Environment of the driver process. */
  driverEnv?: Record<string, string>;
  /** Environment of the compute process. */
  computeEnv?: Record<string, string>;
}

/** Start the mesh; every process is stopped in `t.after`. */
export async function startComputeMesh(
  t: { after(fn: () => Promise<unknown>): void },
  driver: DriverSpec,
  options: MeshOptions = {},
): Promise<ComputeMesh> {
  const procs: Partial<ComputeMesh['procs']> = {};
  t.after(async () => {
    // The gateway and compute first, then the driver (which stops its nodes), then the rest.
    await Promise.all([procs.gateway?.stop(), procs.compute?.stop()]);
    await procs.driver?.stop();
    await Promise.all([procs.routes?.stop(), procs.auth?.stop(), procs.broker?.stop()]);
  });
  procs.broker = await startBroker();
  const bus = String(procs.broker.endpoints.bus);
  const common = { AGORA_BUS_URL: bus, AGORA_WORKER_CONCURRENCY: '8' };
  procs.auth = await startNode('services/auth/main.js', { env: { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' } });
  const startDriver = (): Promise<Started> => driver.start(bus, options.driverEnv ?? {});
  procs.driver = await startDriver();
  const auth = String(procs.auth.endpoints.grpc);
  procs.routes = await startNode('services/routes/main.js', {
    env: { ...common, AGORA_AUTH_GRPC_URL: auth, AGORA_ROUTES_GRPC_URL: '127.0.0.1:0' },
  });
  const computeOptions: StartOptions = {
    env: {
      ...common,
      AGORA_AUTH_GRPC_URL: auth,
      AGORA_ROUTES_GRPC_URL: String(procs.routes.endpoints.grpc),
      AGORA_COMPUTE_GRPC_URL: '127.0.0.1:0',
      AGORA_COMPUTE_DRIVER: driver.service,
      AGORA_COMPUTE_SYNC_MS: '200',
      ...options.computeEnv,
    },
  };
  procs.compute = await startNode('services/compute/main.js', computeOptions);
  procs.gateway = await startNode('gateway/main.js', { env: { ...common, AGORA_HTTP_PORT: '0' } });
  const mesh: ComputeMesh = {
    procs: procs as ComputeMesh['procs'],
    bus,
    http: String(procs.gateway.endpoints.http),
    restartCompute: async () => {
      await mesh.procs.compute.stop();
      mesh.procs.compute = await startNode('services/compute/main.js', computeOptions);
    },
    restartDriver: async (signal: NodeJS.Signals = 'SIGTERM') => {
      await mesh.procs.driver.stop(signal);
      mesh.procs.driver = await startDriver();
    },
  };
  return mesh;
}
