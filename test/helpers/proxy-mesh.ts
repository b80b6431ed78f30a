/**
 * The whole proxy mesh for integration tests, as the Procfile runs it: broker, auth, the
 * TypeScript driver, Routes, compute, wake, the gateway and any number of proxies, each its own
 * process on free loopback ports; and plain HTTP calls to a proxy with the Host of a route.
 */
import http from 'node:http';
import type { TestContext } from 'node:test';
import { freePort, startBroker, startNode, type Started } from './proc';
import { call, type Json } from './v1';

export interface ProxyMesh {
  /** The gateway's base URL. */
  http: string;
  procs: Record<string, Started>;
  /** Each proxy's port. */
  proxies: number[];
  /** Stop Routes, run `meanwhile`, start it again on its address. */
  restartRoutes(meanwhile: () => Promise<void>): Promise<void>;
}

export interface ProxyMeshOptions {
  /** Environment of every process (a backend's URLs, AGORA_NODE_IDLE_S, …). */
  env?: Record<string, string>;
  /** Proxies to start (default 1). */
  proxies?: number;
  /** Wake instances to start (default 1; several need a shared backend). */
  wakes?: number;
}

/** Start the mesh; every process is stopped in `t.after`. */
export async function startProxyMesh(t: TestContext, options: ProxyMeshOptions = {}): Promise<ProxyMesh> {
  const procs: Record<string, Started> = {};
  t.after(async () => {
    const first = Object.keys(procs).filter((name) => name.startsWith('proxy') || name === 'gateway');
    await Promise.all(first.map((name) => procs[name].stop()));
    const middle = Object.keys(procs).filter((name) => name.startsWith('wake') || name === 'compute');
    await Promise.all(middle.map((name) => procs[name].stop()));
    await procs.driver?.stop();
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  });
  procs.broker = await startBroker();
  const common = {
    AGORA_BUS_URL: String(procs.broker.endpoints.bus),
    AGORA_WORKER_CONCURRENCY: '64',
    AGORA_ADMINS: 'root',
    ...options.env,
  };
  const run = async (name: string, entry: string, env: Record<string, string>): Promise<Started> =>
    (procs[name] = await startNode(entry, { env: { ...common, ...env } }));
  const auth = String(
    (await run('auth', 'services/auth/main.js', { AGORA_AUTH_GRPC_URL: '127.0.0.1:0' })).endpoints.grpc,
  );
  await run('driver', 'services/driver/main.js', { AGORA_DRIVER_GRPC_URL: '127.0.0.1:0' });
  // A fixed port, so that compute, wake and the proxies dial it again after a restart.
  const routes = `127.0.0.1:${await freePort()}`;
  const routesEnv = { AGORA_AUTH_GRPC_URL: auth, AGORA_ROUTES_GRPC_URL: routes };
  await run('routes', 'services/routes/main.js', routesEnv);
  await run('compute', 'services/compute/main.js', {
    AGORA_AUTH_GRPC_URL: auth,
    AGORA_ROUTES_GRPC_URL: routes,
    AGORA_COMPUTE_GRPC_URL: '127.0.0.1:0',
    AGORA_COMPUTE_SYNC_MS: '200',
  });
  for (let i = 0; i < (options.wakes ?? 1); i++)
    await run(i === 0 ? 'wake' : `wake${i}`, 'services/wake/main.js', {
      AGORA_ROUTES_GRPC_URL: routes,
      AGORA_WAKE_GRPC_URL: '127.0.0.1:0',
    });
  await run('gateway', 'gateway/main.js', { AGORA_HTTP_PORT: '0' });
  const proxies: number[] = [];
  for (let i = 0; i < (options.proxies ?? 1); i++) {
    const proxy = await run(`proxy${i}`, 'services/proxy/main.js', {
      AGORA_ROUTES_GRPC_URL: routes,
      AGORA_PROXY_PORT: '0',
    });
    proxies.push(Number(new URL(String(proxy.endpoints.http)).port));
  }
  return {
    http: String(procs.gateway.endpoints.http),
    procs,
    proxies,
    restartRoutes: async (meanwhile) => {
      await procs.routes.stop();
      await meanwhile();
      await run('routes', 'services/routes/main.js', routesEnv);
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET to a proxy for `host` (a new connection each time). */
export function get(port: number, host: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/', headers: { host, ...headers }, agent: false, timeout: 40_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 40 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The node `id` as the gateway has it. */
export async function nodeOf(base: string, key: number, id: string): Promise<Json> {
  const answer = await call(base, 'GET', `/v1/nodes/${id}`, { key });
  if (answer.status !== 200) throw new Error(`GET /v1/nodes/${id}: ${answer.text}`);
  return answer.rec;
}

/** Read the node until `done` holds (every 100 ms, within `ms`); answers it. */
export async function waitNode(
  base: string,
  key: number,
  id: string,
  done: (node: Json) => boolean,
  what: string,
  ms = 30_000,
): Promise<Json> {
  const deadline = Date.now() + ms;
  for (;;) {
    const node = await nodeOf(base, key, id);
    if (done(node)) return node;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms; last: ${JSON.stringify(node)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Create an `http` node and wait for it to be ACTIVE; answers it. */
export async function activeNode(base: string, key: number, name: string): Promise<Json> {
  const made = await call(base, 'POST', '/v1/nodes', { key, body: { name, image: 'http' } });
  if (made.status !== 201) throw new Error(`POST /v1/nodes: ${made.text}`);
  const id = String(made.rec.id);
  return waitNode(base, key, id, (n) => n.status === 'ACTIVE', `node ${name} ACTIVE`);
}

/** Compute's count of nodes it started for the wake service. */
export function wakeStarts(mesh: ProxyMesh): number {
  return mesh.procs.compute.lines.filter((l) => l.msg === 'node woken').length;
}
