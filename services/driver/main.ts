/**
 * The TypeScript driver process (Procfile: driver): the driver contract on the bus under
 * AGORA_DRIVER_SERVICE (and on gRPC). At shutdown, once the bus has drained, every node
 * process is stopped (SIGTERM, SIGKILL after the grace period).
 */
import { serviceMain } from '../../lib/rpc/run';
import { buildDriverService } from './handlers';
import { LocalDriver } from './local-driver';

serviceMain('driver', (config) => config.driverGrpcUrl, (config, log) => {
  const driver = new LocalDriver({
    allowCommand: config.driverAllowCommand,
    stopGraceMs: config.driverStopGraceMs,
    healthTimeoutMs: config.driverHealthTimeoutMs,
    outputLines: config.driverOutputLines,
    maxNodes: config.driverMaxNodes,
    log: log.child({ mod: 'nodes' }),
  });
  return { impl: buildDriverService(driver, config.driverService), close: () => driver.close() };
});
