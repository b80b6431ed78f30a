/**
 * Moleculer's side of the comparison: a broker with one `echo.echo` action answering its
 * params, on the TCP transporter with UDP discovery off (the client names this node in
 * its static `urls`), default JSON serializer, no logger. The ready line carries the TCP
 * port the transporter was given by the system (port 0).
 */
import { ServiceBroker, Transporters, type Context } from 'moleculer';

async function main(): Promise<void> {
  const transporter = new Transporters.TCP({ udpDiscovery: false, port: 0 });
  const broker = new ServiceBroker({ nodeID: 'bench-server', logger: false, transporter, requestTimeout: 5000 });
  broker.createService({ name: 'echo', actions: { echo: (ctx: Context) => ctx.params } });
  await broker.start();
  process.on('SIGTERM', () => void broker.stop().finally(() => process.exit(0)));
  process.stdout.write(
    `${JSON.stringify({ ready: true, endpoints: { tcp: `127.0.0.1:${transporter.opts.port}/bench-server` } })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`moleculer-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
