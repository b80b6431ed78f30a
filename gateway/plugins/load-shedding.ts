/**
 * Load shedding (seed 003: "Backoff", Kinto's `backoff` setting and 503 + Retry-After):
 * - while the process is overloaded (event-loop delay, heap or resident memory beyond the
 *   configured thresholds, sampled by @fastify/under-pressure), requests get 503 with
 *   `Retry-After` and the error body of AGORA_ERR_HTTP_OVERLOADED; routes with
 *   `config: { shed: false }` (the ops endpoints) are still served;
 * - every response carries `Backoff: <seconds>` while a backoff is configured, or while the
 *   process is overloaded (then with the Retry-After delay);
 * - every 503 or 429 carries `Retry-After`, whoever produced it.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: served even when the process is overloaded. */
    shed?: boolean;
  }
}

export interface LoadSheddingOptions {
  /** Thresholds; 0 means not checked. */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
  /** Retry-After of a 503, in seconds. */
  retryAfterS: number;
  /** Backoff sent on every response when above 0. */
  backoffS: number;
  /** How often memory and event-loop delay are sampled (under-pressure's default: 1 s). */
  sampleIntervalMs?: number;
}

export const loadShedding = fp<LoadSheddingOptions>(async (app, options) => {
  const retryAfter = String(options.retryAfterS);
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxHeapUsedBytes: options.maxHeapUsedBytes,
    maxRssBytes: options.maxRssBytes,
    retryAfter: options.retryAfterS,
    sampleInterval: options.sampleIntervalMs,
    pressureHandler: (request, reply, type, value) => {
      if (request.routeOptions.config?.shed === false) return undefined;
      request.log.warn({ pressure: type, value }, 'overloaded: request shed');
      reply.header('retry-after', retryAfter);
      // A rejection goes to next(err), hence to the one error handler.
      return Promise.reject(new AgoraError('AGORA_ERR_HTTP_OVERLOADED', [options.retryAfterS]));
    },
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    addBackoff(reply, options.backoffS > 0 ? options.backoffS : app.isUnderPressure() ? options.retryAfterS : 0);
    if ((reply.statusCode === 503 || reply.statusCode === 429) && !reply.hasHeader('retry-after')) reply.header('retry-after', retryAfter);
    done(null, payload);
  });
}, { name: 'agora-load-shedding' });

function addBackoff(reply: FastifyReply, seconds: number): void {
  if (seconds > 0) reply.header('backoff', String(seconds));
}
