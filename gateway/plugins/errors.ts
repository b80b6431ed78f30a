/**
 * The gateway's one error handler and one not-found handler (STYLE §3 "three renderings").
 * Every failure — an AgoraError from the bus, a schema violation, a body Fastify refused,
 * a bug — is first reduced to a `Problem` (status and errno from lib/errors.ts ERRORS),
 * then rendered for the surface the route belongs to:
 * - legacy routes (seed 002): `{"status": false, "data": "<reason>"}`, HTTP 200;
 * - everything else (later `/v1`, ops endpoints): the Cliquet body
 *   `{code, errno, error, message, info?}` with the HTTP status of the registry.
 * No rendering ever carries a stack trace or Fastify's default error body.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError, ERRORS, isAgoraError, type ErrorCode } from '../../lib/errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which body failures of this route are rendered in. */
    surface?: 'legacy';
    /** The bus service the route calls, named in "<service> is unavailable" answers. */
    service?: string;
  }
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
  /** The bus or a service is down or overloaded: worth retrying later. */
  unavailable: boolean;
}

/** The Cliquet error body (seed 003, Kinto `kinto/core/errors.py`). */
export interface CliquetBody {
  code: number;
  errno: number;
  error: string;
  message: string;
  info?: string;
}

/** The seed 002 envelope of a failure. */
export interface LegacyFailure {
  status: false;
  data: string;
}

/** Codes meaning "the bus or a service cannot answer now", not "your request is wrong". */
export const UNAVAILABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'AGORA_ERR_BUS_NO_SERVICE', 'AGORA_ERR_BUS_TIMEOUT', 'AGORA_ERR_BUS_DISCONNECTED', 'AGORA_ERR_BUS_CLOSED',
  'AGORA_ERR_BUS_QUEUE_FULL', 'AGORA_ERR_BUS_TOO_MANY_PENDING', 'AGORA_ERR_BUS_WORKER_LOST',
  'AGORA_ERR_RPC_UNAVAILABLE', 'AGORA_ERR_RPC_TIMEOUT',
]);

/**
 * Kinto errnos for the HTTP failures Fastify raises itself (its `FST_ERR_*` codes carry a
 * status but no errno): 107 invalid parameters (also a body that is not JSON, as Kinto
 * answers it), 111 missing resource, 113 request too large, 115 method not allowed.
 */
const ERRNO_OF_STATUS: Readonly<Record<number, number>> = { 400: 107, 404: 111, 405: 115, 413: 113, 415: 107 };

/**
 * Reduce anything thrown in a request to a Problem. Only AgoraErrors and Fastify's 4xx
 * errors keep their message; anything else is AGORA_ERR_INTERNAL and its text is not echoed.
 */
export function toProblem(err: unknown, request?: FastifyRequest): Problem {
  if (isAgoraError(err)) return fromAgora(err);
  const fe = err as Partial<FastifyError> | null;
  if (fe !== null && typeof fe === 'object' && Array.isArray(fe.validation)) {
    // A route that wants its own wording takes `attachValidation` and throws an AgoraError.
    return fromAgora(new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [String(fe.message)]));
  }
  if (fe !== null && typeof fe === 'object' && fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request?.routeOptions.bodyLimit;
    return edge(413, fe.code, `The request body is larger than ${limit === undefined ? 'the server accepts' : `the limit of ${limit} bytes`}`);
  }
  const status = fe !== null && typeof fe === 'object' && typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  // Fastify's own 4xx messages describe the request, not the server (e.g. "Unsupported Media Type: x").
  if (status >= 400 && status < 500) return edge(status, String(fe?.code ?? 'FST_ERR'), String(fe?.message ?? STATUS_CODES[status]));
  return fromAgora(new AgoraError('AGORA_ERR_INTERNAL'));
}

function fromAgora(err: AgoraError): Problem {
  return { status: err.status, errno: err.errno, code: err.code, message: err.message, unavailable: UNAVAILABLE_CODES.has(err.code) };
}

function edge(status: number, code: string, message: string): Problem {
  return { status, errno: ERRNO_OF_STATUS[status] ?? ERRORS.AGORA_ERR_RPC_BAD_PARAMS.errno, code, message, unavailable: false };
}

/** The Cliquet body of a problem. */
export function renderCliquet(problem: Problem): CliquetBody {
  const body: CliquetBody = { code: problem.status, errno: problem.errno, error: STATUS_CODES[problem.status] ?? 'Error', message: problem.message };
  if (problem.info !== undefined) body.info = problem.info;
  return body;
}

/**
 * The seed 002 body of a problem. An outage names the service the route needed rather than
 * the bus's internals ("Messages is unavailable, try again").
 */
export function renderLegacy(problem: Problem, service = 'The service'): LegacyFailure {
  return { status: false, data: problem.unavailable ? `${service} is unavailable, try again` : problem.message };
}

/** Whether a request belongs to the seed 002 surface: a legacy route, or any POST outside /v1 and /__x__. */
export function isLegacy(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.surface === 'legacy') return true;
  return request.is404 && request.method === 'POST' && !/^\/(v1([/?#]|$)|__)/.test(request.url);
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  if (isLegacy(request)) {
    // Seed clients read only the body: every answer of a legacy route is HTTP 200, except an unknown path.
    return reply.code(problem.status === 404 && request.is404 ? 404 : 200).send(renderLegacy(problem, request.routeOptions.config?.service));
  }
  return reply.code(problem.status).send(renderCliquet(problem));
}

function notFound(app: FastifyInstance, request: FastifyRequest, legacyPaths: readonly string[]): Problem {
  const path = request.url.length > 100 ? `${request.url.slice(0, 100)}…` : request.url;
  const bare = request.url.split('?')[0];
  if (request.method !== 'POST' && app.hasRoute({ method: 'POST', url: bare })) {
    return edge(405, 'HTTP_METHOD_NOT_ALLOWED', `${request.method} ${path} is not allowed; use POST`);
  }
  const hint = request.method === 'POST' && legacyPaths.length > 0 ? `; the API answers POST ${legacyPaths.join(', ')}` : '';
  return edge(404, 'HTTP_NOT_FOUND', `Unknown path ${request.method === 'POST' ? '' : `${request.method} `}${path}${hint}`);
}

/** Log what deserves it: bugs with their stack, outages as warnings, the rest quietly. */
function logProblem(request: FastifyRequest, err: unknown, problem: Problem): void {
  if (problem.status >= 500 && !problem.unavailable) request.log.error({ err }, 'request failed');
  else if (problem.unavailable) request.log.warn({ code: problem.code, detail: problem.message }, 'service unavailable');
  else request.log.info({ code: problem.code }, 'request refused');
}

export interface ErrorHandlerOptions {
  /** The seed 002 paths, listed to a client that POSTs to an unknown one. */
  legacyPaths?: readonly string[];
}

/**
 * Install the handlers on the root instance, before any route plugin is registered, so
 * every scope inherits them. `Allow: POST` accompanies a 405.
 */
export function installErrorHandlers(app: FastifyInstance, options: ErrorHandlerOptions = {}): void {
  const legacyPaths = options.legacyPaths ?? [];
  app.setErrorHandler((err: unknown, request, reply) => {
    const problem = request.is404 ? notFound(app, request, legacyPaths) : toProblem(err, request);
    logProblem(request, err, problem);
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) => {
    const problem = notFound(app, request, legacyPaths);
    if (problem.status === 405) reply.header('allow', 'POST');
    return sendProblem(request, reply, problem);
  });
}
