/**
 * Prometheus metrics at `GET /metrics` (prom-client), on a registry of this app's own:
 * - `agora_http_requests_total` and `agora_http_request_duration_seconds` by method,
 *   route (the pattern, `unmatched` for unknown paths) and status;
 * - `agora_bus_call_duration_seconds` by service, method and outcome (`ok` or the error
 *   code), measured around every bus call the routes make (`instrument`);
 * - `agora_broker_workers`, `agora_broker_idle_workers`, `agora_broker_queued` by service
 *   and `agora_broker_up`, asked of the broker (`mmi.services`) at each scrape;
 * - the process metrics of prom-client (`agora_gateway_` prefix: CPU, memory, event loop).
 * With a token configured (AGORA_METRICS_TOKEN), a scrape must send `Authorization: Bearer
 * <token>` (Prometheus' `authorization` scrape setting); anything else answers 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifySchema } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { AgoraError, isAgoraError } from '../../lib/errors';
import type { BusCaller } from '../../lib/bus/client';
import { CheapHistogram } from './cheap-histogram';
import type { BrokerInspector } from './heartbeat';
import { OPS } from './route-config';
import { ERROR_RESPONSE } from './statuses';

export interface MetricsOptions {
  broker?: BrokerInspector;
  /** Deadline of the broker question at each scrape. */
  timeoutMs: number;
}

/** The gateway's metrics and the registry that exposes them. */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** By method, route and status; also written as the counter `agora_http_requests_total`. */
  readonly requestSeconds = new CheapHistogram(
    'agora_http_request_duration_seconds',
    'Time to answer an HTTP request',
    ['method', 'route', 'status'],
  )
    .registerCounter(this.registry, 'agora_http_requests_total', 'HTTP requests answered')
    .register(this.registry);
  /** By service, method and outcome. */
  readonly busSeconds = new CheapHistogram(
    'agora_bus_call_duration_seconds',
    'Bus calls made by the gateway, by outcome (ok or the error code)',
    ['service', 'method', 'outcome'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ).register(this.registry);
  private readonly brokerUp = new Gauge({
    name: 'agora_broker_up',
    help: '1 when the broker answered mmi.services at this scrape',
    registers: [this.registry],
  });
  private readonly workers = new Gauge({
    name: 'agora_broker_workers',
    help: 'Worker sockets registered per service',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });
  private readonly idle = new Gauge({
    name: 'agora_broker_idle_workers',
    help: 'Idle worker sockets per service',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });
  private readonly queued = new Gauge({
    name: 'agora_broker_queued',
    help: 'Requests waiting in the broker per service',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  constructor(private readonly options: MetricsOptions) {
    collectDefaultMetrics({ register: this.registry, prefix: 'agora_gateway_' });
  }

  /** `bus`, with every call timed into `agora_bus_call_duration_seconds`. */
  instrument(bus: BusCaller): BusCaller {
    const observe = (service: string, method: string, outcome: string, start: number): void => {
      this.busSeconds.observe(this.busSeconds.cell(service, method, outcome), (performance.now() - start) / 1000);
    };
    return {
      call: async (service, method, params, options) => {
        const start = performance.now();
        try {
          const result = await bus.call(service, method, params, options);
          observe(service, method, 'ok', start);
          return result;
        } catch (e) {
          observe(service, method, isAgoraError(e) ? e.code : 'error', start);
          throw e;
        }
      },
    };
  }

  /** Ask the broker for its services' worker counts and queue depths; 0 up when it does not answer. */
  async refreshBroker(): Promise<void> {
    this.workers.reset();
    this.idle.reset();
    this.queued.reset();
    try {
      if (this.options.broker === undefined) throw new Error('no broker to ask');
      for (const s of await this.options.broker.services({ timeoutMs: this.options.timeoutMs })) {
        this.workers.set({ service: s.name }, s.workers);
        this.idle.set({ service: s.name }, s.idle);
        this.queued.set({ service: s.name }, s.queued);
      }
      this.brokerUp.set(1);
    } catch {
      this.brokerUp.set(0);
    }
  }
}

export interface MetricsPluginOptions {
  metrics: GatewayMetrics;
  /** The Bearer token a scrape must send; empty: none needed. */
  token: string;
}

/** Where the metrics are served. */
export const METRICS_PATH = '/metrics';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether `header` is `Bearer <token>`, compared in constant time (whatever the lengths). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

export const metrics = fp<MetricsPluginOptions>(
  async (app, { metrics: m, token }) => {
    const h = m.requestSeconds;
    app.addHook('onResponse', (request, reply, done) => {
      const cell = h.cell(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode));
      h.observe(cell, reply.elapsedTime / 1000);
      done();
    });
    // tags and summary are read by the OpenAPI generator; no response schema, the body is text.
    const schema: FastifySchema & Record<string, unknown> = {
      tags: ['ops'],
      summary: 'Prometheus metrics (text exposition format)',
      ...(token === '' ? {} : { response: { 200: { description: 'The metrics, as text' }, 401: ERROR_RESPONSE } }),
    };
    app.get(METRICS_PATH, { config: OPS, schema }, async (request, reply) => {
      if (token !== '' && !bearerMatches(request.headers.authorization, token))
        throw new AgoraError('AGORA_ERR_HTTP_METRICS_AUTH');
      await m.refreshBroker();
      reply.type(m.registry.contentType);
      return m.registry.metrics();
    });
  },
  { name: 'agora-metrics' },
);
