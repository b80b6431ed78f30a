/**
 * The messaging mesh as the Procfile starts it, for integration tests through the gateway:
 * broker, auth, then the services that dial auth (with `compute`: the driver, Routes and
 * compute too), then the gateway, each its own process on free loopback ports. Stopped in
 * `t.after`.
 */
import type { TestContext } from 'node:test';
import { startBroker, startNode, type Started } from './proc';

/** The Procfile's entry points of the mesh's services. */
const ENTRY = {
  auth: 'services/auth/main.js',
  channels: 'services/channels/main.js',
  messages: 'services/messages/main.js',
  compute: 'services/compute/main.js',
  driver: 'services/driver/main.js',
  routes: 'services/routes/main.js',
  gateway: 'gateway/main.js',
} as const;

export type Part = keyof typeof ENTRY;

export interface Mesh {
  /** The gateway's base URL, `http://127.0.0.1:<port>`. */
  base: string;
  /** Every process of the mesh; `restart` and `gateway` add to it. */
  procs: Record<string, Started>;
  /** Start `part` again with the environment it had (after stopping it). */
  restart(part: Part): Promise<Started>;
  /** The messages service's gRPC address (the gateways follow its message streams there). */
  messagesGrpc: string;
  /** One more gateway on the same bus, with `env` over the mesh's; its base URL. */
  gateway(name: string, env?: Record<string, string>): Promise<{ base: string; proc: Started }>;
}

export interface MeshOptions {
  /** Start Compute, the TypeScript driver and Routes too. */
  compute?: boolean;
  /** More environment for one part (e.g. `{ channels: { AGORA_LOG_LEVEL: 'debug' } }`). */
  envOf?: Partial<Record<Part, Record<string, string>>>;
}

/** Start the mesh; `env` goes to every process. */
export async function startMesh(
  t: TestContext,
  env: Record<string, string> = {},
  options: MeshOptions = {},
): Promise<Mesh> {
  const procs: Record<string, Started> = {};
  t.after(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  });
  procs.broker = await startBroker();
  const common = { AGORA_BUS_URL: String(procs.broker.endpoints.bus), ...env };
  const envs: Partial<Record<Part, Record<string, string>>> = {};
  const run = async (part: Part, own: Record<string, string>): Promise<Started> => {
    envs[part] = { ...common, ...own, ...options.envOf?.[part] };
    procs[part] = await startNode(ENTRY[part], { env: envs[part] });
    return procs[part];
  };
  const auth = String((await run('auth', { AGORA_AUTH_GRPC_URL: '127.0.0.1:0' })).endpoints.grpc);
  const channels = String(
    (await run('channels', { AGORA_AUTH_GRPC_URL: auth, AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0' })).endpoints.grpc,
  );
  const messages = String(
    (
      await run('messages', {
        AGORA_AUTH_GRPC_URL: auth,
        AGORA_CHANNELS_GRPC_URL: channels,
        AGORA_MESSAGES_GRPC_URL: '127.0.0.1:0',
      })
    ).endpoints.grpc,
  );
  if (options.compute === true) {
    await run('driver', { AGORA_DRIVER_GRPC_URL: '127.0.0.1:0' });
    const routes = String(
      (await run('routes', { AGORA_AUTH_GRPC_URL: auth, AGORA_ROUTES_GRPC_URL: '127.0.0.1:0' })).endpoints.grpc,
    );
    await run('compute', {
      AGORA_AUTH_GRPC_URL: auth,
      AGORA_COMPUTE_GRPC_URL: '127.0.0.1:0',
      AGORA_ROUTES_GRPC_URL: routes,
    });
  }
  // The gateway follows Messages' streams (GET /v1/channels/{name}/messages/stream) over gRPC.
  await run('gateway', { AGORA_HTTP_PORT: '0', AGORA_MESSAGES_GRPC_URL: messages });
  return {
    base: String(procs.gateway.endpoints.http),
    procs,
    messagesGrpc: messages,
    restart: async (part) => {
      procs[part] = await startNode(ENTRY[part], { env: envs[part] });
      return procs[part];
    },
    gateway: async (name, more = {}) => {
      const own = { AGORA_HTTP_PORT: '0', AGORA_MESSAGES_GRPC_URL: messages };
      procs[name] = await startNode(ENTRY.gateway, { env: { ...common, ...own, ...more } });
      return { base: String(procs[name].endpoints.http), proc: procs[name] };
    },
  };
}
