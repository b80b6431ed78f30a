/**
 * The gateway process (Procfile: gateway): HTTP on 127.0.0.1, one bus client behind it, a
 * gRPC client of Messages for the message streams (lib/messages-feed.ts, made at the first stream:
 * ./lazy-feeds.ts), and the store of idempotency keys (hooks/idempotency.ts).
 */
// First: it holds the young generation small while the rest loads (lib/young-generation.ts).
import './hold-young-generation';
import type { AddressInfo } from 'node:net';
import { createClient } from '../lib/bus/client';
import { peerMechanism } from '../lib/bus/security';
import { announceReady, configOrExit, exitConfig, listenOrExit, onShutdown, settingOrExit } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import { variableOf, type Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { MessageFeeds } from '../lib/messages-feed';
import { openStores } from '../lib/store/index';
import { compactOldGeneration, growYoungGenerationAtOnce } from '../lib/young-generation';
import { buildApp } from './app';
import { LazyFeeds } from './lazy-feeds';

const HOST = '127.0.0.1';

async function main(): Promise<void> {
  const config = configOrExit('gateway');
  const log = createLogger('gateway', config.logLevel);
  const mechanism = await settingOrExit('gateway', peerMechanism(config));
  const feeds = await messageFeeds(config, log);
  const client = createClient({
    endpoint: config.busUrl,
    timeoutMs: config.requestTimeoutMs,
    maxPending: config.clientMaxPending,
    caller: 'gateway',
    handshakeMs: config.zmtpHandshakeMs,
    mechanism,
    log,
  });
  // Idempotency keys: in Redis, else PostgreSQL, else this process's memory (hooks/idempotency.ts).
  const stores = await openStores(config, log, ['idempotency']);
  const app = buildApp({
    bus: client,
    broker: client,
    log,
    config,
    feeds,
    idempotency: stores.idempotency,
    health: stores.checks(),
  });
  // app.close() ends the message streams, stops accepting and waits for in-flight requests,
  // which still need the bus.
  onShutdown(log, async () => {
    await app.close();
    feeds.close();
    client.close();
    await stores.close();
  });
  // What building the routes promoted, then left, goes back to the system before the first request.
  await app.ready();
  compactOldGeneration();
  const listen = (): Promise<string> => app.listen({ host: HOST, port: config.httpPort });
  await listenOrExit(log, listen, `${HOST}:${config.httpPort}`, variableOf('httpPort'));
  const { port } = app.server.address() as AddressInfo;
  announceReady(log, { http: `http://${HOST}:${port}` });
  // From now on the first growth under load takes the young generation to its full size.
  growYoungGenerationAtOnce();
}

/**
 * The gRPC client of Messages behind the message streams, made at the first stream. The gateway binds
 * no gRPC: the TLS files, when set, are its client certificate, checked now (a bad one exits 78); in
 * plaintext nothing of gRPC can fail, and nothing of it is loaded before a stream needs it.
 */
async function messageFeeds(config: Readonly<Config>, log: Logger): Promise<LazyFeeds> {
  const make = async (): Promise<MessageFeeds> => {
    const [{ grpcSecurity }, { MessageFeeds }] = await Promise.all([
      import('../lib/rpc/grpc'),
      import('../lib/messages-feed'),
    ]);
    const security = grpcSecurity(config);
    if (!('client' in security)) return exitConfig('gateway', security.problems);
    return new MessageFeeds({
      url: config.messagesGrpcUrl,
      timeoutMs: config.grpcTimeoutMs,
      log: log.child({ mod: 'feeds' }),
      credentials: security.client,
    });
  };
  const tls = [config.grpcTlsCert, config.grpcTlsKey, config.grpcTlsCa].some((file) => file !== '');
  if (!tls) return new LazyFeeds(make);
  const made = await make();
  return new LazyFeeds(() => Promise.resolve(made));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
