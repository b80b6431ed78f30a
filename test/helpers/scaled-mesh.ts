/**
 * The mesh with several instances of each service, as `foreman start -m` runs it:
 * one broker, N auth, N channels, N messages, one driver, Routes and compute, one gateway, each
 * its own process from the Procfile's entry point. Every instance binds its gRPC on a free port (AGORA_GRPC_BIND);
 * the others dial the list of them. Stores come from `env` (AGORA_DATABASE_URL, …).
 */
import assert from 'node:assert/strict';
import { startBroker, startNode, type Started } from './proc';

export interface ScaledMesh {
  base: string;
  broker: Started;
  auth: Started[];
  channels: Started[];
  messages: Started[];
  compute: Started;
  gateway: Started;
  /** Every process, for stopping. */
  all(): Started[];
  /** Stop every process (SIGTERM, drained), gateway first. */
  stop(): Promise<void>;
}

const grpcOf = (p: Started): string => String(p.endpoints.grpc);

/** Start `n` instances of `svc`, one at a time (each one's ready line before the next). */
async function instances(svc: string, n: number, env: Record<string, string>): Promise<Started[]> {
  const out: Started[] = [];
  for (let i = 0; i < n; i++)
    out.push(await startNode(`services/${svc}/main.js`, { env: { ...env, AGORA_GRPC_BIND: '127.0.0.1:0' } }));
  return out;
}

export async function startScaledMesh(n: number, env: Record<string, string>): Promise<ScaledMesh> {
  const procs: Started[] = [];
  try {
    const broker = await startBroker();
    procs.push(broker);
    const common = { ...env, AGORA_BUS_URL: String(broker.endpoints.bus) };
    const auth = await instances('auth', n, common);
    procs.push(...auth);
    const withAuth = { ...common, AGORA_AUTH_GRPC_URL: auth.map(grpcOf).join(',') };
    const channels = await instances('channels', n, withAuth);
    procs.push(...channels);
    const messages = await instances('messages', n, {
      ...withAuth,
      AGORA_CHANNELS_GRPC_URL: channels.map(grpcOf).join(','),
    });
    procs.push(...messages);
    const driver = await startNode('services/driver/main.js', { env: { ...common, AGORA_GRPC_BIND: '127.0.0.1:0' } });
    procs.push(driver);
    const [routes] = await instances('routes', 1, withAuth);
    procs.push(routes);
    const compute = await startNode('services/compute/main.js', {
      env: { ...withAuth, AGORA_GRPC_BIND: '127.0.0.1:0', AGORA_ROUTES_GRPC_URL: grpcOf(routes) },
    });
    procs.push(compute);
    const gateway = await startNode('gateway/main.js', {
      env: { ...common, AGORA_HTTP_PORT: '0', AGORA_MESSAGES_GRPC_URL: messages.map(grpcOf).join(',') },
    });
    procs.push(gateway);
    const mesh: ScaledMesh = {
      base: String(gateway.endpoints.http),
      broker,
      auth,
      channels,
      messages,
      compute,
      gateway,
      all: () => [
        mesh.gateway,
        mesh.compute,
        routes,
        driver,
        ...mesh.messages,
        ...mesh.channels,
        ...mesh.auth,
        mesh.broker,
      ],
      stop: async () => {
        for (const p of mesh.all()) await p.stop();
      },
    };
    return mesh;
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop()));
    throw e;
  }
}

/** POST a legacy call through the gateway; the parsed `{status, data}`. */
export async function legacy(base: string, route: string, body: unknown): Promise<{ status: boolean; data: unknown }> {
  const res = await fetch(base + route, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(res.status, 200, `${route} answered HTTP ${res.status}`);
  return (await res.json()) as { status: boolean; data: unknown };
}

/** Log on through the gateway; the session key. */
export async function logon(base: string, username: string): Promise<number> {
  const answer = await legacy(base, '/logon', { username, password: `pw-${username}` });
  assert.equal(answer.status, true, JSON.stringify(answer));
  return answer.data as number;
}
