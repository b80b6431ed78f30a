/**
 * Moleculer's load: a second broker on the TCP transporter that knows the server from a
 * static url on 127.0.0.1 (no UDP discovery), waits for the `echo` service, and calls
 * `echo.echo` with the payload as params.
 */
import { ServiceBroker, Transporters } from 'moleculer';
import { clientMain, PAYLOAD, type Connected, type LoadPlan } from './load';

async function connect(plan: LoadPlan): Promise<Connected> {
  const transporter = new Transporters.TCP({ udpDiscovery: false, port: 0, urls: plan.endpoint });
  const broker = new ServiceBroker({ nodeID: 'bench-client', logger: false, transporter, requestTimeout: 5000 });
  await broker.start();
  await broker.waitForServices(['echo'], 10_000);
  return {
    call: () => broker.call('echo.echo', PAYLOAD),
    close: () => broker.stop(),
  };
}

clientMain('moleculer-client', connect);
