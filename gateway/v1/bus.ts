/**
 * GET /v1/bus: what `agora status` shows, for a signed-in user — the broker's services, their
 * workers and slots, queues, calls per second and latency (`mmi.status`, docs/PROTOCOL.md §16).
 * The web console's bus panel reads it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { BEARER_HEADERS } from '../hooks/auth';
import type { BrokerInspector } from '../ops/heartbeat';
import { callBus, errorResponses, sessionRoute, v1Scope, type V1Options } from './scope';

const NUMBER_OR_NULL = { type: ['number', 'null'] } as const;

const BUS_STATUS = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'object',
      required: ['uptimeMs', 'services'],
      properties: {
        uptimeMs: { type: 'number', description: 'Time since the broker started, ms.' },
        tailers: { type: 'integer', description: 'Clients following `agora tail`.' },
        services: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'workers', 'slots', 'busy', 'queued', 'calls', 'errors', 'rate'],
            properties: {
              name: { type: 'string' },
              workers: { type: 'integer' },
              slots: { type: 'integer', description: 'Requests its workers can hold at once.' },
              busy: { type: 'integer', description: 'Slots holding a request now.' },
              queued: { type: 'integer', description: 'Requests waiting for a slot or a worker.' },
              calls: { type: 'integer', description: 'Replies since the broker knows the service.' },
              errors: { type: 'integer', description: 'Replies that carried an error.' },
              rate: { type: 'number', description: 'Calls answered per second, recently.' },
              p50: { ...NUMBER_OR_NULL, description: 'Median latency at the broker, ms (a bucket bound).' },
              p99: { ...NUMBER_OR_NULL, description: '99th percentile latency at the broker, ms.' },
            },
          },
        },
      },
    },
  },
} as const;

export interface BusRoutesOptions extends V1Options {
  /** The broker's own answers; without one (a gateway built without a bus client), 503. */
  broker?: BrokerInspector;
}

export const busRoutes: FastifyPluginAsync<BusRoutesOptions> = async (app, options) => {
  v1Scope(app);
  app.get(
    '/bus',
    sessionRoute('bus', {
      summary: "The broker's services, workers, queues and call counters (what `agora status` shows)",
      // Live counters have no version to compare: the Bearer key only.
      headers: BEARER_HEADERS,
      response: { 200: BUS_STATUS, ...errorResponses() },
    }),
    async (request) => {
      // The gateway only parsed the key: Auth says whether it is a live session.
      await callBus(options, request, 'Auth', 'Resolve', { sesskey: request.sesskey }, true);
      if (options.broker?.status === undefined) throw new AgoraError('AGORA_ERR_BUS_NO_SERVICE', ['mmi.status']);
      return { data: await options.broker.status({ timeoutMs: options.timeoutMs, reqId: request.id }) };
    },
  );
};
