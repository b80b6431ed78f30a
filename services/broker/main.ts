/**
 * The broker process (Procfile: broker). With AGORA_BUS_CURVE on it admits the keys of
 * AGORA_BUS_ALLOW, read again on SIGHUP (docs/SECURITY.md); with it off it listens on
 * loopback only, unless AGORA_BUS_INSECURE says otherwise. It binds one endpoint: AGORA_BROKER_BIND,
 * else AGORA_BUS_URL, which must then name one broker (README "Several brokers").
 */
import { AllowList } from '../../lib/bus/allow-list';
import { Broker } from '../../lib/bus/broker';
import { brokerCurve } from '../../lib/bus/security';
import { brokerEndpoint } from '../../lib/config';
import { announceReady, configOrExit, onShutdown, settingOrExit } from '../../lib/lifecycle';
import { createLogger } from '../../lib/log';

async function main(): Promise<void> {
  const config = configOrExit('broker');
  const log = createLogger('broker', config.logLevel);
  const bind = await settingOrExit(
    'broker',
    Promise.resolve().then(() => brokerEndpoint(config)),
  );
  const curve = await settingOrExit('broker', brokerCurve(config));
  const broker = new Broker({
    endpoint: bind,
    heartbeatMs: config.heartbeatMs,
    heartbeatLiveness: config.heartbeatLiveness,
    maxBodyBytes: config.busMaxBodyBytes,
    queueMax: config.brokerQueueMax,
    waitForWorkerMs: config.busWaitForWorkerMs,
    handshakeMs: config.zmtpHandshakeMs,
    curve,
    log,
  });
  const endpoint = await broker.start();
  if (curve !== undefined) {
    log.info({ keys: curve.allow.size, allow: curve.allowDir }, 'CURVE on');
    process.on('SIGHUP', () => {
      AllowList.read(curve.allowDir).then(
        (allow) => broker.reload(allow),
        (err: unknown) => log.error({ err }, 'allow-list not reloaded: the previous one stays'),
      );
    });
  }
  onShutdown(log, () => broker.stop());
  announceReady(log, { bus: endpoint });
}

main().catch((err: unknown) => {
  process.stderr.write(`broker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
