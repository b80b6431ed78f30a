/**
 * Run a service: its handlers served on the bus and on gRPC, a ready line naming both
 * endpoints, and a graceful drain on SIGTERM (stop taking work, finish what is in flight).
 */
import * as grpc from '@grpc/grpc-js';
import { peerMechanism } from '../bus/security';
import { serve, type Handler } from '../bus/worker';
import type { MechanismFactory } from '../bus/zmtp-mechanism';
import { variableOf, type Config } from '../config';
import { HEALTH_METHOD, HealthChecks } from '../health';
import {
  addressInUse,
  announceReady,
  configOrExit,
  exitConfig,
  exitFlushed,
  onShutdown,
  settingOrExit,
} from '../lifecycle';
import { createLogger, type Logger } from '../log';
import { describeHandler, DESCRIBE_METHOD } from './describe';
import { bindServer, grpcImplementation, grpcSecurity, shutdownServer, type GrpcSecurity } from './grpc';
import { busHandlers, type ServiceImpl } from './service';

export interface RunOptions {
  busUrl: string;
  /** host:port to bind gRPC on; port 0 picks a free one. */
  grpcUrl: string;
  concurrency: number;
  heartbeatMs: number;
  heartbeatLiveness: number;
  /** Time the broker has to finish the ZMTP handshake. */
  handshakeMs?: number;
  /** The bus connection's security mechanism (CURVE, lib/bus/security.ts); default NULL. */
  mechanism?: MechanismFactory;
  log: Logger;
  /** How long in-flight gRPC calls may take to finish at shutdown. */
  graceMs?: number;
  /** What the service's HEALTH_METHOD reports (its storage backends, …); none by default. */
  health?: HealthChecks;
  /** The gRPC server's credentials (grpcSecurity); plaintext by default. */
  credentials?: grpc.ServerCredentials;
}

export interface RunningService {
  /** The bound gRPC port. */
  grpcPort: number;
  close(): Promise<void>;
}

/** Serve `impl` on the bus and on gRPC. */
export async function runService(impl: ServiceImpl, options: RunOptions): Promise<RunningService> {
  const server = new grpc.Server();
  server.addService(impl.definition, grpcImplementation(impl, options.log.child({ mod: 'grpc' })));
  const grpcPort = await bindServer(server, options.grpcUrl, options.credentials);
  const served = busHandlers(impl, options.log);
  const handlers = {
    ...served,
    [HEALTH_METHOD]: healthHandler(options.health ?? new HealthChecks()),
    [DESCRIBE_METHOD]: describeHandler(impl.publicMethods ?? {}, Object.keys(served)),
  };
  const worker = serve(impl.name, handlers, {
    endpoint: options.busUrl,
    concurrency: options.concurrency,
    heartbeatMs: options.heartbeatMs,
    heartbeatLiveness: options.heartbeatLiveness,
    handshakeMs: options.handshakeMs,
    mechanism: options.mechanism,
    log: options.log,
  });
  await worker.ready();
  return {
    grpcPort,
    close: async () => {
      await Promise.all([worker.close(), shutdownServer(server, options.graceMs ?? 10_000)]);
    },
  };
}

/** HEALTH_METHOD: run the checks with the caller's deadline (or a second), answer `{name: bool}`. */
function healthHandler(checks: HealthChecks): Handler {
  return (_params, ctx) => checks.run(ctx.deadline ?? Date.now() + 1000, ctx.log);
}

/** What a service's main builds from the config: the service, and what to close after it. */
export interface Built {
  impl: ServiceImpl;
  /**
   * Called first at shutdown, before the transports drain: end long-lived streams, which would
   * hold gRPC's graceful shutdown open.
   */
  drain?: () => Promise<void> | void;
  /** Closed after the service has drained (clients, stores, timers). */
  close?: () => Promise<void> | void;
  /** Checks of what the service depends on (its storage backends), reported on the bus by HEALTH_METHOD. */
  health?: HealthChecks;
}

/** The config keys of the services' own gRPC addresses. */
export type GrpcUrlKey = {
  [K in keyof Config]: K extends `${string}GrpcUrl` ? (Config[K] extends string ? K : never) : never;
}[keyof Config];

/**
 * The whole main of a service process: config, logger, build, serve, ready line, drain.
 * `grpcUrlKey` names the service's own gRPC address in the config (AGORA_GRPC_BIND overrides it); `build`
 * gets the bus mechanism too, for the bus clients it makes. An address already taken exits 1 with a
 * line that names it and the variable that moves it.
 */
export function serviceMain(
  svc: string,
  grpcUrlKey: GrpcUrlKey,
  build: (
    config: Readonly<Config>,
    log: Logger,
    security: GrpcSecurity,
    mechanism?: MechanismFactory,
  ) => Promise<Built> | Built,
): void {
  const config = configOrExit(svc);
  const grpcKey = config.grpcBind !== '' ? 'grpcBind' : grpcUrlKey;
  const grpcUrl = config[grpcKey];
  // Plaintext gRPC only on loopback, unless mTLS is configured or AGORA_GRPC_INSECURE says so.
  const security = grpcSecurity(config, grpcUrl.includes(',') ? undefined : grpcUrl);
  if (!('server' in security)) return exitConfig(svc, security.problems);
  const log = createLogger(svc, config.logLevel);
  (async () => {
    const mechanism = await settingOrExit(svc, peerMechanism(config));
    const built = await build(config, log, security, mechanism);
    if (grpcUrl.includes(','))
      throw new Error(
        `${svc}'s gRPC address lists several instances (${grpcUrl}): set AGORA_GRPC_BIND to the one this instance binds`,
      );
    const running = await runService(built.impl, {
      busUrl: config.busUrl,
      grpcUrl,
      concurrency: config.workerConcurrency,
      heartbeatMs: config.heartbeatMs,
      heartbeatLiveness: config.heartbeatLiveness,
      handshakeMs: config.zmtpHandshakeMs,
      mechanism,
      log,
      health: built.health,
      credentials: security.server,
    });
    onShutdown(log, async () => {
      await built.drain?.();
      await running.close();
      await built.close?.();
    });
    const host = grpcUrl.replace(/:\d+$/, '');
    announceReady(log, { bus: config.busUrl, grpc: `${host}:${running.grpcPort}`, service: built.impl.name });
  })().catch((err: unknown) => {
    log.fatal({ err }, addressInUse(err, grpcUrl, variableOf(grpcKey)) ?? 'failed to start');
    exitFlushed(log, 1);
  });
}
