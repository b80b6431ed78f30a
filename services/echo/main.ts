/** The echo service process (Procfile: echo). */
import { serve } from '../../lib/bus/worker';
import { peerMechanism } from '../../lib/bus/security';
import { announceReady, configOrExit, onShutdown, settingOrExit } from '../../lib/lifecycle';
import { createLogger } from '../../lib/log';
import { buildEchoHandlers } from './handlers';

async function main(): Promise<void> {
  const config = configOrExit('echo');
  const log = createLogger('echo', config.logLevel);
  const mechanism = await settingOrExit('echo', peerMechanism(config));
  const pool = serve('echo', buildEchoHandlers(), {
    endpoint: config.busUrl,
    concurrency: config.workerConcurrency,
    heartbeatMs: config.heartbeatMs,
    heartbeatLiveness: config.heartbeatLiveness,
    handshakeMs: config.zmtpHandshakeMs,
    mechanism,
    log,
  });
  onShutdown(log, () => pool.close());
  await pool.ready();
  announceReady(log, { bus: config.busUrl, service: 'echo' });
}

main().catch((err: unknown) => {
  process.stderr.write(`echo: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
