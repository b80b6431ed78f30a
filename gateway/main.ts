/** The gateway process (Procfile: gateway): HTTP on 127.0.0.1, one bus client behind it. */
import type { AddressInfo } from 'node:net';
import { createClient } from '../lib/bus/client';
import { peerMechanism } from '../lib/bus/security';
import { announceReady, configOrExit, onShutdown, settingOrExit } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import { buildApp } from './app';

const HOST = '127.0.0.1';

async function main(): Promise<void> {
  const config = configOrExit('gateway');
  const log = createLogger('gateway', config.logLevel);
  const mechanism = await settingOrExit('gateway', peerMechanism(config));
  const client = createClient({
    endpoint: config.busUrl,
    timeoutMs: config.requestTimeoutMs,
    maxPending: config.clientMaxPending,
    caller: 'gateway',
    handshakeMs: config.zmtpHandshakeMs,
    mechanism,
    log,
  });
  const app = buildApp({ bus: client, broker: client, log, config });
  // app.close() stops accepting and waits for in-flight requests, which still need the bus.
  onShutdown(log, async () => {
    await app.close();
    client.close();
  });
  await app.listen({ host: HOST, port: config.httpPort });
  const { port } = app.server.address() as AddressInfo;
  announceReady(log, { http: `http://${HOST}:${port}` });
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
