/**
 * Load shedding (the Cliquet/Kinto protocol's `Backoff` header and `backoff` setting, 503
 * with Retry-After):
 * - while the process is overloaded (event-loop delay, heap or resident memory beyond the
 *   configured thresholds, sampled by @fastify/under-pressure; the event-loop delay of the
 *   first samples after the start excepted), requests get 503 with `Retry-After` and the
 *   error body of AGORA_ERR_HTTP_OVERLOADED; routes with `config: { shed: false }` (the ops
 *   endpoints) are still served;
 * - every response carries `Backoff: <seconds>` while a backoff is configured, or while the
 *   process is overloaded (then with the Retry-After delay);
 * - every 503 or 429 carries `Retry-After`, whoever produced it.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import { documentStatuses } from '../ops/statuses';

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

/**
 * Samples of event-loop delay that may still cover the start (compiling every route's
 * schemas can block the loop for a second on a busy machine): that is not load, and is not
 * answered with 503. under-pressure resets its histogram at each sample, so the delay is
 * the start's for at most the first two samples after ready.
 */
const STARTUP_SAMPLES = 3;
const DEFAULT_SAMPLE_MS = 1000;

export const loadShedding = fp<LoadSheddingOptions>(
  async (app, options) => {
    const retryAfter = String(options.retryAfterS);
    if (options.maxEventLoopDelayMs > 0 || options.maxHeapUsedBytes > 0 || options.maxRssBytes > 0)
      documentStatuses(app, (route) => (route.config?.shed === false ? [] : [503]));
    let settledAt = Infinity;
    app.addHook('onReady', (done) => {
      settledAt = Date.now() + STARTUP_SAMPLES * (options.sampleIntervalMs ?? DEFAULT_SAMPLE_MS);
      done();
    });
    /** Whether a pressure of `type` counts now (event-loop delay only once the start is behind). */
    const counts = (type: string): boolean => type !== underPressure.TYPE_EVENT_LOOP_DELAY || Date.now() >= settledAt;
    /**
     * The thresholds, as under-pressure checks them, with the start's delay left out. Its own answer first,
     * which reads the same samples without making an object: only a process past a threshold looks closer.
     */
    const overloaded = (): boolean => {
      if (!app.isUnderPressure()) return false;
      const usage = app.memoryUsage();
      return (
        (options.maxEventLoopDelayMs > 0 &&
          usage.eventLoopDelay > options.maxEventLoopDelayMs &&
          counts(underPressure.TYPE_EVENT_LOOP_DELAY)) ||
        (options.maxHeapUsedBytes > 0 && usage.heapUsed > options.maxHeapUsedBytes) ||
        (options.maxRssBytes > 0 && usage.rssBytes > options.maxRssBytes)
      );
    };
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxHeapUsedBytes: options.maxHeapUsedBytes,
      maxRssBytes: options.maxRssBytes,
      retryAfter: options.retryAfterS,
      sampleInterval: options.sampleIntervalMs,
      pressureHandler: (request, reply, type, value) => {
        if (request.routeOptions.config?.shed === false || !counts(type)) return undefined;
        request.log.warn({ pressure: type, value }, 'overloaded: request shed');
        reply.header('retry-after', retryAfter);
        // A rejection goes to next(err), hence to the one error handler.
        return Promise.reject(new AgoraError('AGORA_ERR_HTTP_OVERLOADED', [options.retryAfterS]));
      },
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      addBackoff(reply, options.backoffS > 0 ? options.backoffS : overloaded() ? options.retryAfterS : 0);
      if ((reply.statusCode === 503 || reply.statusCode === 429) && !reply.hasHeader('retry-after'))
        reply.header('retry-after', retryAfter);
      done(null, payload);
    });
  },
  { name: 'agora-load-shedding' },
);

function addBackoff(reply: FastifyReply, seconds: number): void {
  if (seconds > 0) reply.header('backoff', String(seconds));
}
