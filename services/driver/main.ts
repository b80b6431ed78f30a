/**
 * The TypeScript driver process (Procfile: driver): the driver contract on the bus under
 * AGORA_DRIVER_SERVICE (and on gRPC). It first takes its state directory and adopts the nodes
 * a driver before it left running. At shutdown, once the bus has drained, every node process
 * is stopped (SIGTERM, SIGKILL after the grace period), or left running with
 * AGORA_DRIVER_KEEP_NODES.
 */
import { serviceMain } from '../../lib/rpc/run';
import { buildDriverService } from './handlers';
import { LocalDriver } from './local-driver';
import { StateDir, stateDirOf } from './state-dir';

serviceMain('driver', 'driverGrpcUrl', (config, log) => {
  const state = StateDir.open(
    stateDirOf(config.driverStateDir, config.driverService, config.busUrl),
    log.child({ mod: 'state' }),
  );
  const driver = new LocalDriver({
    allowCommand: config.driverAllowCommand,
    stopGraceMs: config.driverStopGraceMs,
    healthTimeoutMs: config.driverHealthTimeoutMs,
    outputLines: config.driverOutputLines,
    maxNodes: config.driverMaxNodes,
    state,
    keepNodes: config.driverKeepNodes,
    log: log.child({ mod: 'nodes' }),
  });
  return { impl: buildDriverService(driver, config.driverService), close: () => driver.close() };
});
