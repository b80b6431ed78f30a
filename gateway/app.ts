/**
 * The gateway application: a Fastify instance that turns HTTP into bus calls
 * (docs/ARCHITECTURE.md "The gateway holds no logic"). It never listens and never reads the
 * environment; main.ts does. This file registers everything, in order: the request hooks
 * (hooks/, one plugin per concern, registered before the routes so that they apply to every
 * route), the ops endpoints and the web console's files (ops/), then the routes of the legacy messaging API (legacy/)
 * and of the /v1 protocol (v1/, beside the helpers they share). The error handler
 * (errors.ts) and the hello's registry (ops/hello.ts) are installed on the root first.
 */
import fastify, { type FastifyInstance } from 'fastify';
import { readBuildInfo, type BuildInfo } from '../lib/build-info';
import type { BusCaller } from '../lib/bus/client';
import { defaultConfig, type Config } from '../lib/config';
import type { HealthChecks } from '../lib/health';
import type { Logger } from '../lib/log';
import type { MessageFeeds } from '../lib/messages-feed';
import type { IdempotencyStore } from '../lib/store/contracts';
import { frameworkErrors, installErrorHandlers, type RouteTable } from './errors';
import { AccessLog, requestLogger } from './hooks/access-log';
import { Authenticator, authStatuses } from './hooks/auth';
import { cors } from './hooks/cors';
import { deprecation } from './hooks/deprecation';
import { emptyBody } from './hooks/empty-body';
import { idempotency } from './hooks/idempotency';
import { loadShedding } from './hooks/load-shedding';
import { rateLimit } from './hooks/rate-limit';
import { genReqId, requestId } from './hooks/request-id';
import { clientErrorHandler, lingeringClose, serverTimeouts, type LingerBounds } from './hooks/slow-clients';
import { trailingSlash } from './hooks/trailing-slash';
import { compileOncePerSchema } from './validators';
import { LEGACY_ROUTES, legacyRoutes } from './legacy/routes';
import { heartbeat, type BrokerInspector } from './ops/heartbeat';
import { docsUrl, hello, HelloRegistry } from './ops/hello';
import { GatewayMetrics, METRICS_PATH, metrics } from './ops/metrics';
import { DOCS_PREFIX, OPENAPI_PATH, openApi } from './ops/openapi';
import { documentStatuses } from './ops/statuses';
import { versionRoute } from './ops/version';
import { consoleRoutes } from './ops/console';
import { batchRoutes } from './v1/batch';
import { busRoutes } from './v1/bus';
import { channelRoutes } from './v1/channels';
import { messageRoutes } from './v1/messages';
import { nodeRoutes } from './v1/nodes';
import { routeRoutes } from './v1/routes';
import { PublicMethodsCatalog } from './v1/public-methods';
import { publicMethodPaths, rpcRoutes } from './v1/rpc';
import type { V1Options } from './v1/scope';
import { sessionRoutes } from './v1/sessions';
import { streamRoutes } from './v1/stream';

export type { BusCaller, BrokerInspector };

export interface AppDeps {
  bus: BusCaller;
  /** The broker's own answers (MMI), for the heartbeat and the queue metrics; BusClient is one. */
  broker?: BrokerInspector;
  log: Logger;
  /**
   * busMaxBodyBytes caps request bodies (a body becomes one bus message); requestTimeoutMs is
   * each call's deadline. Every other setting defaults to defaultConfig()'s.
   */
  config: Pick<Config, 'busMaxBodyBytes' | 'requestTimeoutMs'> & Partial<Config>;
  /** Checks of the gateway's own backends, reported by /__heartbeat__. */
  health?: HealthChecks;
  /** What /__version__ and the hello answer; default: read from package.json and .git. */
  build?: BuildInfo;
  /** The Messages streams behind /v1/channels/{name}/messages/stream (v1/stream.ts); without it, 503. */
  feeds?: Pick<MessageFeeds, 'listen'>;
  /**
   * Where the answers of POSTs with an Idempotency-Key are kept (hooks/idempotency.ts); main.ts opens
   * it through lib/store. Without it the header is not looked at (an app built for a test).
   */
  idempotency?: IdempotencyStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered (gateway/errors.ts), which the OpenAPI document's test compares. */
    routeTable: RouteTable;
  }
}

/** Build the gateway; `app.inject()` exercises it without a socket. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const config: Config = { ...defaultConfig(), ...deps.config };
  const build = deps.build ?? readBuildInfo({ commit: config.commit, source: config.sourceUrl });
  const gauges = new GatewayMetrics({ broker: deps.broker, timeoutMs: config.healthTimeoutMs });
  const bus = gauges.instrument(deps.bus);
  // What a client answered before its body arrived may still send (gateway/hooks/slow-clients.ts).
  const linger: LingerBounds = {
    maxBytes: 4 * deps.config.busMaxBodyBytes + 65_536,
    maxMs: Math.min(config.httpRequestTimeoutMs, 30_000),
  };
  const app = fastify({
    loggerInstance: deps.log,
    // The X-Request-Id header is read, and checked, by genReqId (hooks/request-id.ts).
    requestIdHeader: false,
    genReqId,
    // One line per request (hooks/access-log.ts) instead of Fastify's two.
    logController: new AccessLog(),
    // Each request's child logger is made only when something logs through it (hooks/access-log.ts).
    childLoggerFactory: requestLogger,
    bodyLimit: deps.config.busMaxBodyBytes,
    // A request, headers and body, arrives within AGORA_HTTP_REQUEST_TIMEOUT_MS, or gets 408.
    requestTimeout: config.httpRequestTimeoutMs,
    http: serverTimeouts(config.httpRequestTimeoutMs),
    clientErrorHandler: clientErrorHandler(config.httpRequestTimeoutMs, linger),
    // A malformed path answers the Cliquet body too, not Fastify's own (gateway/errors.ts).
    frameworkErrors,
    // No type coercion: a legacy client's `null` or `true` must not become the number 0 or 1.
    // (A later surface whose querystrings need coercion can register its own validator compiler.)
    ajv: { customOptions: { coerceTypes: false }, onCreate: compileOncePerSchema },
  }) as unknown as FastifyInstance;

  void app.register(requestId);
  void app.register(lingeringClose, linger);
  // The session key of a /v1 request, set by hooks/auth.ts requireSession, by the configured policies.
  app.decorateRequest('sesskey', 0);
  const authenticator = new Authenticator({
    policies: config.authPolicies,
    bus,
    timeoutMs: config.requestTimeoutMs,
    basicCacheS: config.authBasicCacheS,
  });
  app.decorate('authenticator', authenticator);
  // What every route may answer whatever it does, and what authentication answers where it runs (ops/statuses.ts).
  documentStatuses(app, (route) => [500, ...authStatuses(route, config.authPolicies)]);
  // A 401 means the session a cached Basic credential stood for has ended: verify it again next time.
  // Without the Basic policy nothing is cached, and no request needs the hook.
  if (authenticator.allows('basic'))
    app.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode === 401) authenticator.forget(request);
      done();
    });
  app.decorate('routeTable', installErrorHandlers(app, { legacyPaths: LEGACY_ROUTES.map((route) => route.path) }));
  // Before any plugin loads, so that what the app registers is listed first and any plugin may add to it.
  app.decorate('hello', helloRegistry(config));
  const catalog = new PublicMethodsCatalog({ bus, broker: deps.broker, log: deps.log.child({ mod: 'rpc' }) });
  const morePaths = async (): Promise<Record<string, unknown>> => {
    try {
      return publicMethodPaths(await catalog.all(Date.now() + config.healthTimeoutMs));
    } catch (err) {
      deps.log.warn({ err }, 'the OpenAPI document lists no public method: the broker did not answer');
      return {};
    }
  };
  // CORS first, so that even a 429 or 503 can be read by a browser.
  void app.register(cors, { origins: config.corsOrigins });
  void app.register(emptyBody);
  void app.register(deprecation, {
    eos: config.eos,
    message: config.eosMessage,
    url: config.eosUrl,
    fallbackUrl: (request) => docsUrl(request, config.publicUrl),
  });
  void app.register(trailingSlash);
  void app.register(rateLimit, { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs });
  // Before the routes, whose POSTs it hooks as they are registered.
  if (deps.idempotency !== undefined) void app.register(idempotency, { store: deps.idempotency, bus, config });
  void app.register(loadShedding, {
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
    retryAfterS: config.retryAfterS,
    backoffS: config.backoffS,
  });
  // Before every route, so that the OpenAPI document sees them all; after the hooks above, so that the
  // statuses they answer are documented on its own route too (ops/statuses.ts).
  void app.register(openApi, { version: build.version, morePaths });
  void app.register(hello, {
    bus,
    build,
    publicUrl: config.publicUrl,
    timeoutMs: config.requestTimeoutMs,
    eos: config.eos,
  });
  void app.register(metrics, { metrics: gauges, token: config.metricsToken });
  void app.register(heartbeat, {
    bus,
    broker: deps.broker,
    // Every bus service a route calls: the legacy routes', Compute (v1/nodes.ts) and Routes (v1/routes.ts).
    services: [...new Set(LEGACY_ROUTES.map((route) => route.service)), 'Compute', 'Routes'],
    checks: deps.health,
    timeoutMs: config.healthTimeoutMs,
  });
  void app.register(versionRoute, { build });
  // The web console's static files (console/), a client of the routes below like any other.
  void app.register(consoleRoutes);
  void app.register(legacyRoutes, { bus, timeoutMs: config.requestTimeoutMs });
  const v1: V1Options = {
    bus,
    timeoutMs: config.requestTimeoutMs,
    pageMaxRecords: config.pageMaxRecords,
    batchMaxRequests: config.batchMaxRequests,
  };
  for (const routes of [sessionRoutes, channelRoutes, messageRoutes, nodeRoutes, routeRoutes, batchRoutes])
    void app.register(routes, { ...v1, prefix: '/v1' });
  void app.register(rpcRoutes, { ...v1, catalog, prefix: '/v1' });
  void app.register(busRoutes, { ...v1, broker: deps.broker, prefix: '/v1' });
  void app.register(streamRoutes, { ...v1, feeds: deps.feeds, heartbeatMs: config.sseHeartbeatMs, prefix: '/v1' });
  return app;
}

/**
 * What the hello lists (Kinto's `settings` and `capabilities`), registered in the order it
 * lists them: the settings a client may rely on, then what the app serves besides its resources.
 */
function helloRegistry(config: Config): HelloRegistry {
  return new HelloRegistry()
    .setting('readonly', false)
    .setting('max_body_bytes', config.busMaxBodyBytes)
    .setting('request_timeout_ms', config.requestTimeoutMs)
    .setting('open_registration', config.openRegistration)
    .setting('session_idle_s', config.sessionIdleS)
    .setting('messages_retained', config.messagesRetained)
    .setting('message_max_bytes', config.messageMaxBytes)
    .setting('rate_limit_max', config.rateLimitMax)
    .setting('rate_limit_window_ms', config.rateLimitWindowMs)
    .setting('backoff_s', config.backoffS)
    .setting('batch_max_requests', config.batchMaxRequests)
    .setting('page_max_records', config.pageMaxRecords)
    .setting('auth_policies', [...config.authPolicies])
    .capability('batch', { description: 'Several requests in one: POST /v1/batch', url: '/v1/batch' })
    .capability('openapi', {
      description: `OpenAPI 3 document of every route, and Swagger UI at ${DOCS_PREFIX}`,
      url: OPENAPI_PATH,
    })
    .capability('legacy', {
      description: `The legacy messaging API: POST ${LEGACY_ROUTES.map((route) => route.path).join(', ')}`,
      url: DOCS_PREFIX,
    })
    .capability('metrics', { description: 'Prometheus metrics of the gateway and the broker', url: METRICS_PATH })
    .capability('routes', {
      description: `Hosts routed to your nodes by the proxy (/v1/routes); every node has its own URL under ${config.proxyDomain}`,
      url: DOCS_PREFIX,
    });
}
