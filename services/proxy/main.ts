/**
 * The proxy process: HTTP on 127.0.0.1:AGORA_PROXY_PORT, answering from a route table.
 * For now the table is the JSON array of routes in AGORA_PROXY_ROUTES_FILE, read once at
 * start, and no wake service is wired (a STOPPED node's requests get 503); the Routes
 * service and the wake service plug in through `RouteTable` and `Waker` (proxy.ts).
 */
import { readFileSync } from 'node:fs';
import { AgoraError, errorMessage } from '../../lib/errors';
import { announceReady, configOrExit, onShutdown } from '../../lib/lifecycle';
import { createLogger } from '../../lib/log';
import { createProxy } from './proxy';
import { RouteTable } from './routes';

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

async function main(): Promise<void> {
  const config = configOrExit('proxy');
  const log = createLogger('proxy', config.logLevel);
  const table = new RouteTable({
    connectTimeoutMs: config.proxyConnectTimeoutMs,
    readTimeoutMs: config.proxyReadTimeoutMs,
  });
  if (config.proxyRoutesFile !== '') {
    try {
      table.replaceAll(readRoutes(config.proxyRoutesFile));
    } catch (e) {
      process.stderr.write(`proxy: invalid route table: ${errorMessage(e)}\n`);
      process.exit(78);
    }
  }
  const proxy = createProxy({
    table,
    wakeTimeoutMs: config.proxyWakeTimeoutMs,
    wakeMaxWaiting: config.proxyWakeMaxWaiting,
    retryAfterS: config.retryAfterS,
    trustForwarded: config.proxyTrustForwarded,
    log,
  });
  onShutdown(log, () => proxy.close());
  const port = await proxy.listen(config.proxyPort, HOST);
  announceReady(log, { http: `http://${HOST}:${port}`, domain: config.proxyDomain, routes: table.size });
}

main().catch((err: unknown) => {
  process.stderr.write(`proxy: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
