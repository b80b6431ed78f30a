/**
 * The proxy process (Procfile: proxy): HTTP on 127.0.0.1:AGORA_PROXY_PORT, answering from a
 * route table it keeps in step with the Routes service (AGORA_ROUTES_GRPC_URL, ./follow.ts),
 * waking stopped nodes through the wake service on the bus (./wake-client.ts) and, with
 * AGORA_NODE_IDLE_S above 0, reporting the nodes it served to it. With AGORA_PROXY_ROUTES_FILE
 * it serves that fixed table instead, alone (benchmarks, tests).
 */
import { readFileSync } from 'node:fs';
import { createClient, type BusClient } from '../../lib/bus/client';
import { variableOf, type Config } from '../../lib/config';
import { AgoraError, errorMessage } from '../../lib/errors';
import { announceReady, configOrExit, exitConfig, exitFlushed, listenOrExit, onShutdown } from '../../lib/lifecycle';
import { createLogger, type Logger } from '../../lib/log';
import { RoutesClient } from '../../lib/routes-client';
import { grpcSecurity } from '../../lib/rpc/grpc';
import { RouteFollower } from './follow';
import { createProxy } from './proxy';
import { RouteTable } from './routes';
import { ActivityReporter, busWaker, reportEveryMs } from './wake-client';

const HOST = '127.0.0.1';

/** The routes of `file` (a JSON array), checked. */
function readRoutes(file: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AgoraError('AGORA_ERR_CONFIG_INVALID', [`AGORA_PROXY_ROUTES_FILE ${file}: ${errorMessage(e)}`]);
  }
  if (!Array.isArray(parsed))
    throw new AgoraError('AGORA_ERR_CONFIG_INVALID', [`AGORA_PROXY_ROUTES_FILE ${file} must hold a JSON array`]);
  return parsed as unknown[];
}

/** What the dynamic proxy holds open beside its server. */
interface Followed {
  follower: RouteFollower;
  routes: RoutesClient;
  bus: BusClient;
  activity: ActivityReporter | undefined;
}

function follow(config: Readonly<Config>, log: Logger, table: RouteTable): Followed {
  const security = grpcSecurity(config);
  if (!('client' in security)) return exitConfig('proxy', security.problems);
  const routes = new RoutesClient({
    url: config.routesGrpcUrl,
    timeoutMs: config.grpcTimeoutMs,
    log: log.child({ mod: 'routes' }),
    credentials: security.client,
  });
  const bus = createClient({
    endpoint: config.busUrl,
    timeoutMs: config.requestTimeoutMs,
    maxPending: config.clientMaxPending,
    caller: 'proxy',
    handshakeMs: config.zmtpHandshakeMs,
    log,
  });
  const activity =
    config.nodeIdleS > 0
      ? new ActivityReporter({
          bus,
          everyMs: reportEveryMs(config.nodeIdleS * 1000),
          log: log.child({ mod: 'activity' }),
        })
      : undefined;
  const follower = new RouteFollower({ routes, table, domain: config.proxyDomain, log: log.child({ mod: 'routes' }) });
  return { follower, routes, bus, activity };
}

async function main(): Promise<void> {
  const config = configOrExit('proxy');
  const log = createLogger('proxy', config.logLevel);
  const table = new RouteTable({
    connectTimeoutMs: config.proxyConnectTimeoutMs,
    readTimeoutMs: config.proxyReadTimeoutMs,
  });
  let followed: Followed | undefined;
  if (config.proxyRoutesFile !== '') {
    try {
      table.replaceAll(readRoutes(config.proxyRoutesFile));
    } catch (e) {
      process.stderr.write(`proxy: invalid route table: ${errorMessage(e)}\n`);
      process.exit(78);
    }
  } else {
    followed = follow(config, log, table);
  }
  const proxy = createProxy({
    table,
    waker: followed === undefined ? undefined : busWaker(followed.bus),
    seen: followed?.activity?.saw,
    wakeTimeoutMs: config.proxyWakeTimeoutMs,
    wakeMaxWaiting: config.proxyWakeMaxWaiting,
    retryAfterS: config.retryAfterS,
    trustForwarded: config.proxyTrustForwarded,
    log,
  });
  onShutdown(log, async () => {
    followed?.follower.close();
    await proxy.close();
    await followed?.activity?.report();
    followed?.activity?.close();
    followed?.routes.close();
    followed?.bus.close();
  });
  // Serve only once the table is loaded: a proxy that answered 404 to every host meanwhile would lie.
  await followed?.follower.start();
  const listen = (): Promise<number> => proxy.listen(config.proxyPort, HOST);
  const port = await listenOrExit(log, listen, `${HOST}:${config.proxyPort}`, variableOf('proxyPort'));
  announceReady(log, {
    http: `http://${HOST}:${port}`,
    domain: config.proxyDomain,
    // The routes the table holds, custom and implicit.
    routes: table.size,
  });
}

main().catch((err: unknown) => {
  const log = createLogger('proxy', 'info');
  log.fatal({ err }, 'failed to start');
  exitFlushed(log, 1);
});
