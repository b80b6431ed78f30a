/**
 * The gateway's one error handler and one not-found handler (docs/ARCHITECTURE.md "One error
 * registry"). Every failure — an AgoraError from the bus, a schema violation, a body Fastify
 * refused, a bug — is first reduced to a `Problem` (status and errno from lib/errors.ts
 * ERRORS), then rendered for the surface the route belongs to:
 * - legacy routes (docs/API-LEGACY.md): `{"status": false, "data": "<reason>"}`, HTTP 200;
 * - everything else (`/v1`, the utility endpoints): the Cliquet body
 *   `{code, errno, error, message, info?, details?}` with the HTTP status of the registry,
 *   `WWW-Authenticate` on a 401 and `Allow` on a 405.
 * No rendering ever carries a stack trace or Fastify's default error body.
 *
 * Routes of other files fail by throwing `new AgoraError(code, args)`, or `httpError(...)`
 * when the client needs `details` (which field, where, why) or an `info` pointer.
 */
import { STATUS_CODES } from 'node:http';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import { AgoraError, ERRORS, isAgoraError, type ErrorCode } from '../lib/errors';
import { errorBody, type ErrorBody, type PreconditionDetails } from '../lib/error-body';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which body failures of this route are rendered in. */
    surface?: 'legacy';
    /** The bus service the route calls, named in "<service> is unavailable" answers. */
    service?: string;
  }
}

/** One entry of `details`: where the fault is, which field, and why (Kinto's shape). */
export interface ErrorDetail {
  /** `body`, `querystring`, `params`, `headers`, `path`, … */
  location: string;
  name: string;
  description: string;
}

/** A failure reduced to what every rendering needs. */
export interface Problem {
  /** HTTP status (Cliquet `code`). */
  status: number;
  /** Kinto errno. */
  errno: number;
  /** AGORA_ERR_* or FST_ERR_* code, for logs. */
  code: string;
  /** Safe to show to the client. */
  message: string;
  /** Optional pointer for the client (Cliquet `info`). */
  info?: string;
  /** Which fields were wrong and why; for a 412, the record as it is now (`{existing}`). */
  details?: ErrorDetail[] | PreconditionDetails;
  /** The bus or a service is down or overloaded: worth retrying later. */
  unavailable: boolean;
}

/** The Cliquet error body (docs/ERRORS.md; Kinto's `kinto/core/errors.py`). */
export type CliquetBody = ErrorBody<ErrorDetail>;

/** The legacy messaging API's envelope of a failure. */
export interface LegacyFailure {
  status: false;
  data: string;
}

/** JSON Schema of the Cliquet body, for the OpenAPI document's error responses. */
export const CLIQUET_ERROR_SCHEMA = {
  $id: 'CliquetError',
  type: 'object',
  description: 'The one error body of /v1 and the utility endpoints (docs/ERRORS.md).',
  required: ['code', 'errno', 'error', 'message'],
  properties: {
    code: { type: 'integer', description: 'The HTTP status.' },
    errno: { type: 'integer', description: "Stable error number (Kinto's table)." },
    error: { type: 'string', description: 'The status text.' },
    message: { type: 'string' },
    info: { type: 'string' },
    details: {
      description: 'Which inputs were wrong (an array), or for a 412 the record as it is now ({existing}).',
      anyOf: [
        {
          type: 'array',
          items: {
            type: 'object',
            properties: { location: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' } },
          },
        },
        {
          type: 'object',
          required: ['existing'],
          properties: { existing: { type: ['object', 'null'], additionalProperties: true } },
        },
      ],
    },
  },
} as const;

/** Codes meaning "the bus or a service cannot answer now", not "your request is wrong". */
export const UNAVAILABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'AGORA_ERR_BUS_NO_SERVICE',
  'AGORA_ERR_BUS_TIMEOUT',
  'AGORA_ERR_BUS_DISCONNECTED',
  'AGORA_ERR_BUS_CLOSED',
  'AGORA_ERR_BUS_QUEUE_FULL',
  'AGORA_ERR_BUS_TOO_MANY_PENDING',
  'AGORA_ERR_BUS_WORKER_LOST',
  'AGORA_ERR_RPC_UNAVAILABLE',
  'AGORA_ERR_RPC_TIMEOUT',
]);

/** The `realm` of the Bearer challenge sent with every 401 (RFC 6750 §3). */
export const AUTH_REALM = 'agora';

/** An AgoraError carrying `details` and `info` for the Cliquet body. */
export function httpError(
  code: ErrorCode,
  args: readonly unknown[],
  extra: { details?: ErrorDetail[]; info?: string } = {},
): AgoraError {
  return new AgoraError(code, args, { data: { details: extra.details, info: extra.info } });
}

/**
 * Fastify's own `FST_ERR_*` failures, mapped onto the registry (they carry a status but no
 * errno). An unlisted 4xx keeps its status and message, with the errno of ERRNO_OF_STATUS.
 */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'AGORA_ERR_HTTP_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'AGORA_ERR_HTTP_BAD_JSON',
};

/** Kinto errnos by HTTP status, for 4xx failures that have no code of their own. */
const ERRNO_OF_STATUS: Readonly<Record<number, number>> = {
  400: 107,
  401: 104,
  403: 121,
  404: 111,
  405: 115,
  406: 107,
  409: 122,
  411: 112,
  412: 114,
  413: 113,
  415: 107,
  422: 107,
  429: 117,
};

/**
 * Reduce anything thrown in a request to a Problem. Only AgoraErrors and Fastify's 4xx
 * errors keep their message; anything else is AGORA_ERR_INTERNAL and its text is not echoed.
 */
export function toProblem(err: unknown, request?: FastifyRequest): Problem {
  if (isAgoraError(err)) return fromAgora(err);
  const fe = err !== null && typeof err === 'object' ? (err as Partial<FastifyError>) : {};
  if (Array.isArray(fe.validation)) return fromValidation(fe.validation, fe.validationContext);
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request?.routeOptions.bodyLimit;
    return fromAgora(
      new AgoraError('AGORA_ERR_HTTP_TOO_LARGE', [
        limit === undefined ? 'the server accepts' : `the limit of ${limit} bytes`,
      ]),
    );
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return fromAgora(
      new AgoraError('AGORA_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', [
        JSON.stringify(String(request?.headers['content-type'] ?? '')),
      ]),
    );
  }
  const mapped = typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped !== undefined) return fromAgora(new AgoraError(mapped, ['']));
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  // Fastify's own 4xx messages describe the request, not the server (e.g. "Unsupported Media Type: x").
  if (status >= 400 && status < 500)
    return edge(status, String(fe.code ?? 'FST_ERR'), String(fe.message ?? STATUS_CODES[status]));
  return fromAgora(new AgoraError('AGORA_ERR_INTERNAL'));
}

function fromAgora(err: AgoraError): Problem {
  const problem: Problem = {
    status: err.status,
    errno: err.errno,
    code: err.code,
    message: err.message,
    unavailable: UNAVAILABLE_CODES.has(err.code),
  };
  const data = err.data as { details?: unknown; info?: unknown } | undefined;
  if (data !== null && typeof data === 'object') {
    if (Array.isArray(data.details)) problem.details = data.details as ErrorDetail[];
    else if (data.details !== null && typeof data.details === 'object' && 'existing' in data.details)
      problem.details = { existing: data.details.existing };
    if (typeof data.info === 'string') problem.info = data.info;
  }
  return problem;
}

function edge(status: number, code: string, message: string): Problem {
  return {
    status,
    errno: ERRNO_OF_STATUS[status] ?? ERRORS.AGORA_ERR_RPC_BAD_PARAMS.errno,
    code,
    message,
    unavailable: false,
  };
}

/** One detail per ajv error: `querystring` `_limit` "must be <= 200". */
export function validationDetails(errors: readonly FastifySchemaValidationError[], location = 'body'): ErrorDetail[] {
  return errors.map((e) => {
    const params = e.params as { missingProperty?: unknown; additionalProperty?: unknown };
    const path = e.instancePath.split('/').slice(1).join('.');
    const extra = params.missingProperty ?? params.additionalProperty;
    const name = [path, typeof extra === 'string' ? extra : ''].filter((s) => s !== '').join('.');
    const description =
      e.keyword === 'additionalProperties' ? 'is not allowed here' : String(e.message ?? 'is invalid');
    return { location, name: name === '' ? location : name, description };
  });
}

function fromValidation(errors: readonly FastifySchemaValidationError[], context: unknown): Problem {
  const details = validationDetails(errors, typeof context === 'string' ? context : 'body');
  const summary = details
    .map((d) => `${d.location === d.name ? d.location : `${d.name} in ${d.location}`} ${d.description}`)
    .join('; ');
  return fromAgora(httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [summary], { details }));
}

/** The Cliquet body of a problem. */
export function renderCliquet(problem: Problem): CliquetBody {
  return errorBody(problem);
}

/**
 * The legacy messaging API's body of a problem. An outage names the service the route needed rather than
 * the bus's internals ("Messages is unavailable, try again").
 */
export function renderLegacy(problem: Problem, service = 'The service'): LegacyFailure {
  return { status: false, data: problem.unavailable ? `${service} is unavailable, try again` : problem.message };
}

/** Whether a request belongs to the legacy surface: a legacy route, or any POST outside /v1 and /__x__. */
export function isLegacy(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.surface === 'legacy') return true;
  return request.is404 && request.method === 'POST' && !/^\/(v1([/?#]|$)|__)/.test(request.url);
}

/** The scheme a 401 challenges: Basic to a request that tried Basic (but for the metrics token), else Bearer. */
function challengeScheme(request: FastifyRequest, problem: Problem): string {
  const basic = /^\s*basic(\s|$)/i.test(request.headers.authorization ?? '');
  return basic && problem.code !== 'AGORA_ERR_HTTP_METRICS_AUTH' ? 'Basic' : 'Bearer';
}

/** Send a problem in the rendering of the request's surface. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  if (isLegacy(request)) {
    // Legacy clients read only the body: every answer of a legacy route is HTTP 200, except an unknown path.
    return reply
      .code(problem.status === 404 && request.is404 ? 404 : 200)
      .send(renderLegacy(problem, request.routeOptions.config?.service));
  }
  if (problem.status === 401)
    reply.header('www-authenticate', `${challengeScheme(request, problem)} realm="${AUTH_REALM}"`);
  return reply.code(problem.status).type('application/json; charset=utf-8').send(renderCliquet(problem));
}

/**
 * Fastify's `frameworkErrors` option: failures found before any route is chosen (a path
 * with bad percent-encoding, a path parameter over the length limit), which Fastify would
 * otherwise answer with its own body. Always the Cliquet body: no route, so no surface.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const why =
    err.code === 'FST_ERR_BAD_URL'
      ? 'is not a valid URL path (bad percent-encoding)'
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'has a part longer than the server accepts'
        : undefined;
  const problem =
    why === undefined
      ? toProblem(new AgoraError('AGORA_ERR_INTERNAL'))
      : toProblem(
          httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [`the path ${why}`], {
            details: [{ location: 'path', name: 'path', description: why }],
          }),
        );
  if (problem.status >= 500) request.log.error({ err }, 'request failed');
  void reply.code(problem.status).type('application/json; charset=utf-8').send(renderCliquet(problem));
}

/** The routes registered so far, as method lists per path pattern, to tell 405 from 404. */
export class RouteTable {
  private readonly routes: { pattern: RegExp; url: string; methods: Set<string> }[] = [];

  add(url: string, method: string | string[]): void {
    let entry = this.routes.find((r) => r.url === url);
    if (entry === undefined) {
      const source = url
        .split('/')
        .map((part) =>
          part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/');
      entry = { pattern: new RegExp(`^${source}$`), url, methods: new Set() };
      this.routes.push(entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m);
  }

  /** The methods some route answers on `path`, HEAD excluded (Fastify adds it to every GET). */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(path)) for (const m of r.methods) if (m !== 'HEAD') methods.add(m);
    return [...methods];
  }

  /** Every `{method, url}` registered, HEAD excluded. */
  list(): { method: string; url: string }[] {
    return this.routes.flatMap((r) =>
      [...r.methods].filter((m) => m !== 'HEAD').map((method) => ({ method, url: r.url })),
    );
  }
}

/** 405 (with `Allow`) for a known path asked with another method, else 404. */
function notFound(
  routes: RouteTable,
  request: FastifyRequest,
  reply: FastifyReply,
  legacyPaths: readonly string[],
): Problem {
  const path = request.url.length > 100 ? `${request.url.slice(0, 100)}…` : request.url;
  const allowed = routes.allowed(request.url.split('?')[0]);
  if (allowed.length > 0 && !allowed.includes(request.method)) {
    reply.header('allow', allowed.join(', '));
    return fromAgora(new AgoraError('AGORA_ERR_HTTP_METHOD_NOT_ALLOWED', [request.method, path, allowed.join(', ')]));
  }
  const hint =
    request.method === 'POST' && legacyPaths.length > 0 ? `; the API answers POST ${legacyPaths.join(', ')}` : '';
  return fromAgora(
    new AgoraError('AGORA_ERR_HTTP_NOT_FOUND', [
      `${request.method === 'POST' ? '' : `${request.method} `}${path}${hint}`,
    ]),
  );
}

/** Log what deserves it: bugs with their stack, outages as warnings, the rest quietly. */
function logProblem(request: FastifyRequest, err: unknown, problem: Problem): void {
  if (problem.status >= 500 && !problem.unavailable) request.log.error({ err }, 'request failed');
  else if (problem.unavailable)
    request.log.warn({ code: problem.code, detail: problem.message }, 'service unavailable');
  else request.log.info({ code: problem.code }, 'request refused');
}

export interface ErrorHandlerOptions {
  /** The legacy messaging API's paths, listed to a client that POSTs to an unknown one. */
  legacyPaths?: readonly string[];
}

/**
 * Install the handlers on the root instance, before any route plugin is registered, so
 * every scope inherits them and every route is seen (405 with `Allow` for a known path
 * asked with another method). Answers the table of routes, which the OpenAPI test reads.
 */
export function installErrorHandlers(app: FastifyInstance, options: ErrorHandlerOptions = {}): RouteTable {
  const legacyPaths = options.legacyPaths ?? [];
  const routes = new RouteTable();
  // The CORS preflight catch-all (`OPTIONS *`, hooks/cors.ts) answers any path: it tells nothing of a path's methods.
  app.addHook('onRoute', (route) =>
    route.url === '*' ? undefined : routes.add(route.url ?? route.path, route.method),
  );
  app.setErrorHandler((err: unknown, request, reply) => {
    // An unknown path whose body Fastify could not parse is still a 404; an AgoraError thrown
    // by a root hook (429 of the rate limit, 503 of load shedding) is answered as it is.
    const problem =
      request.is404 && !isAgoraError(err) ? notFound(routes, request, reply, legacyPaths) : toProblem(err, request);
    logProblem(request, err, problem);
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendProblem(request, reply, notFound(routes, request, reply, legacyPaths));
  });
  return routes;
}
