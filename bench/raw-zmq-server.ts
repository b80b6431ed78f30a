/**
 * The transport ceiling's server: one ROUTER on a free loopback port that sends every
 * message back as it came (the envelope names the DEALER that sent it). No decoding, no
 * routing table: what is left is ZeroMQ and the Node event loop.
 */
import { Router } from 'zeromq';

async function main(): Promise<void> {
  const router = new Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  await router.bind('tcp://127.0.0.1:*');
  process.on('SIGTERM', () => {
    router.close();
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ready: true, endpoints: { zmq: router.lastEndpoint } })}\n`);
  // One send at a time per socket (zeromq.js EBUSY rule): receive, send back, repeat.
  for await (const message of router) await router.send(message);
}

main().catch((err: unknown) => {
  process.stderr.write(`raw-zmq-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
