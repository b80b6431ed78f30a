/**
 * The heartbeats of the Cliquet/Kinto protocol's ops endpoints:
 * - `GET /__heartbeat__` checks every dependency of the edge, at once, each with a short
 *   deadline: the broker (it answers MMI), each bus service the routes call (the broker
 *   knows a worker, and a real call of HEALTH_METHOD is answered; the service's own checks,
 *   such as its storage, come back as `Service.check`), and whatever was registered on
 *   `app.health` (the gateway's own storage backends). 200 `{name: true, …}` when all pass,
 *   503 with the same map naming what failed.
 * - `GET /__lbheartbeat__`: 200 `{}` while the process serves, whatever its dependencies.
 * Both answer under `/v1` too, where a Kinto client looks for them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import type { ServiceStats } from '../../lib/bus/broker';
import type { BrokerStatus } from '../../lib/bus/broker-stats';
import { isAgoraError } from '../../lib/errors';
import { HEALTH_METHOD, HealthChecks, healthy, type HealthCheck, type HealthReport } from '../../lib/health';
import { OPS } from './route-config';

/** What the ops endpoints ask the broker itself (RFC 8 MMI; BusClient satisfies it). */
export interface BrokerInspector {
  hasService(service: string, options?: CallOptions): Promise<boolean>;
  services(options?: CallOptions): Promise<ServiceStats[]>;
  /** The broker's counters per service (`mmi.status`), for GET /v1/bus; a gateway without it answers 503 there. */
  status?(options?: CallOptions): Promise<BrokerStatus>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The checks of `/__heartbeat__`: `app.health.add(name, check)` registers one more. */
    health: HealthChecks;
    /** Count a bus service among the edge's dependencies (checked by `/__heartbeat__`). */
    dependOnService(service: string): void;
  }
}

export interface HeartbeatOptions {
  bus: BusCaller;
  /** Absent: the broker check fails (nothing to ask it with). */
  broker?: BrokerInspector;
  /** Bus services the edge depends on from the start. */
  services: readonly string[];
  /** Checks registered before the app was built (storage backends of the gateway). */
  checks?: HealthChecks;
  /** Deadline of the whole heartbeat, each check included. */
  timeoutMs: number;
}

/** The broker answers an MMI request before the deadline. */
export function brokerCheck(broker: BrokerInspector | undefined): HealthCheck {
  return async (deadline) => {
    if (broker === undefined) return false;
    await broker.services({ deadline });
    return true;
  };
}

/**
 * A bus service works: the broker has a worker for it, and a real call reaches one and is
 * answered. A worker that does not know HEALTH_METHOD answers AGORA_ERR_RPC_NO_METHOD, which
 * proves as much; one that knows it answers its own checks.
 */
export function serviceCheck(
  bus: BusCaller,
  broker: BrokerInspector | undefined,
  service: string,
  reqId?: string,
): HealthCheck {
  return async (deadline) => {
    if (broker !== undefined && !(await broker.hasService(service, { deadline }))) return false;
    try {
      const answer = await bus.call(service, HEALTH_METHOD, [], { deadline, reqId, idempotent: true });
      return isReport(answer) && Object.keys(answer).length > 0 ? answer : true;
    } catch (e) {
      if (isAgoraError(e) && e.code === 'AGORA_ERR_RPC_NO_METHOD') return true;
      throw e;
    }
  };
}

function isReport(value: unknown): value is HealthReport {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'boolean')
  );
}

export const heartbeat = fp<HeartbeatOptions>(
  async (app, options) => {
    const services = new Set(options.services);
    app.decorate('health', options.checks ?? new HealthChecks());
    app.decorate('dependOnService', (service: string) => void services.add(service));

    const report = {
      type: 'object',
      additionalProperties: { type: 'boolean' },
      description: 'Each check by name: true when it passed',
    } as const;
    const heartbeatSchema = {
      tags: ['ops'],
      summary: 'Every dependency checked (200 when all pass, 503 naming what failed)',
      response: { 200: report, 503: report },
    };
    for (const path of ['/__heartbeat__', '/v1/__heartbeat__']) {
      app.get(path, { config: OPS, schema: heartbeatSchema }, async (request, reply) => {
        const report = await runHeartbeat(app, options, [...services], request);
        if (!healthy(report)) {
          request.log.warn({ failed: Object.keys(report).filter((k) => !report[k]) }, 'heartbeat failed');
          reply.code(503);
        }
        return report;
      });
    }
    const lbSchema = {
      tags: ['ops'],
      summary: 'Liveness for load balancers: 200 while the process serves',
      response: { 200: { type: 'object' } },
    };
    for (const path of ['/__lbheartbeat__', '/v1/__lbheartbeat__'])
      app.get(path, { config: OPS, schema: lbSchema }, async () => ({}));
  },
  { name: 'agora-heartbeat' },
);

/** Every check at once, the broker's and each service's included, under one deadline. */
function runHeartbeat(
  app: FastifyInstance,
  options: HeartbeatOptions,
  services: string[],
  request: FastifyRequest,
): Promise<HealthReport> {
  const checks = new HealthChecks().add('broker', brokerCheck(options.broker));
  for (const service of services) checks.add(service, serviceCheck(options.bus, options.broker, service, request.id));
  for (const name of app.health.names) checks.add(name, app.health.get(name)!);
  return checks.run(Date.now() + options.timeoutMs, request.log);
}
