/** The broker process (Procfile: broker). */
import { Broker } from '../../lib/bus/broker';
import { bindable } from '../../lib/config';
import { announceReady, configOrExit, onShutdown } from '../../lib/lifecycle';
import { createLogger } from '../../lib/log';

async function main(): Promise<void> {
  const config = configOrExit('broker');
  const log = createLogger('broker', config.logLevel);
  const broker = new Broker({
    endpoint: bindable(config.busUrl),
    heartbeatMs: config.heartbeatMs,
    heartbeatLiveness: config.heartbeatLiveness,
    maxBodyBytes: config.busMaxBodyBytes,
    queueMax: config.brokerQueueMax,
    waitForWorkerMs: config.busWaitForWorkerMs,
    handshakeMs: config.zmtpHandshakeMs,
    log,
  });
  const endpoint = await broker.start();
  onShutdown(log, () => broker.stop());
  announceReady(log, { bus: endpoint });
}

main().catch((err: unknown) => {
  process.stderr.write(`broker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
