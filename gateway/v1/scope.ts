/**
 * What every /v1 route shares: its own validator compiler (query strings, path parameters
 * and headers are coerced from text; bodies are not, so `"1"` never becomes 1), the
 * `Accept` (406) and `Content-Length` (411) checks, one way to call the bus with a deadline,
 * and the schemas of common answers. Register a resource's routes inside `v1Scope` so they
 * get all of it; see v1/channels.ts for the shape of a route.
 */
import Ajv from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import { BEARER_HEADERS, requireSession } from '../hooks/auth';
import { answersMethod, declaredHeaders, documentStatuses, ERROR_RESPONSE } from '../ops/statuses';
import { compileOncePerSchema } from '../validators';
import { CONDITIONAL_HEADERS } from './conditional';

/** Options of every /v1 route plugin. */
export interface V1Options {
  bus: BusCaller;
  /** Deadline of each bus call, from the moment the route calls. */
  timeoutMs: number;
  /** Most records per page (config.pageMaxRecords). */
  pageMaxRecords: number;
  /** Most sub-requests per batch (config.batchMaxRequests). */
  batchMaxRequests: number;
}

export type Rec = Record<string, unknown>;

// allErrors: `details` names every faulty field at once; strict off: OpenAPI keywords
// such as `example` sit in the same schemas.
const bodyAjv = new Ajv({
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: false,
  allErrors: true,
  strict: false,
});
const textAjv = new Ajv({
  coerceTypes: true,
  useDefaults: true,
  removeAdditional: false,
  allErrors: true,
  strict: false,
});
compileOncePerSchema(bodyAjv);
compileOncePerSchema(textAjv);

/** The validator compiler of the /v1 scope. */
export function v1ValidatorCompiler({
  schema,
  httpPart,
}: {
  schema: object;
  httpPart?: string;
}): (data: unknown) => boolean {
  return (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
}

/** Whether an Accept header admits a JSON answer (absent, *\/*, application/*, application/json or +json). */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.trim().toLowerCase().split(';');
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) return false;
    return type === '*/*' || type === 'application/*' || type === 'application/json' || type.endsWith('+json');
  });
}

const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** onRequest of every /v1 route: 406 unless Accept admits JSON, then 411 for a body of unknown length. */
function checkHeaders(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const { accept, 'content-length': length, 'transfer-encoding': encoding } = request.headers;
  if (!acceptsJson(accept)) return done(new AgoraError('AGORA_ERR_HTTP_NOT_ACCEPTABLE'));
  if (BODY_METHODS.has(request.method) && length === undefined && encoding === undefined)
    return done(new AgoraError('AGORA_ERR_HTTP_LENGTH_REQUIRED', [request.method]));
  done();
}

/**
 * Prepare a /v1 scope (call it first in the plugin): the validator compiler, JSON bodies
 * only, and the Accept / Content-Length hook.
 */
export function v1Scope(app: FastifyInstance): void {
  app.setValidatorCompiler(v1ValidatorCompiler);
  // Bodies are JSON only: any other Content-Type answers 415.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', checkHeaders);
  documentStatuses(app, v1Statuses);
}

/**
 * What the scope answers besides a route's handler: 406 (checkHeaders), 400 where a schema
 * validates the request, 411, 413 and 415 on a write (its body), 304 on a conditional read
 * (v1/conditional.ts notModified) and 412 on a conditional write.
 */
function v1Statuses(route: RouteOptions): number[] {
  const schema = (route.schema ?? {}) as Rec;
  const headers = declaredHeaders(route);
  const write = [...BODY_METHODS].some((method) => answersMethod(route, method));
  const validated = ['body', 'querystring', 'params', 'headers'].some((part) => schema[part] !== undefined);
  return [
    406,
    ...(validated || write ? [400] : []),
    ...(write ? [411, 413, 415] : []),
    ...(answersMethod(route, 'GET') && headers.includes('if-none-match') ? [304] : []),
    ...(!answersMethod(route, 'GET') && headers.includes('if-match') ? [412] : []),
  ];
}

/** One bus call for a request: its deadline, its request id, the route's idempotence. */
export async function callBus(
  options: Pick<V1Options, 'bus' | 'timeoutMs'>,
  request: FastifyRequest,
  service: string,
  method: string,
  params: Rec,
  idempotent: boolean,
): Promise<Rec> {
  const callOptions: CallOptions = { deadline: Date.now() + options.timeoutMs, reqId: request.id, idempotent };
  const reply = await options.bus.call(service, method, [params], callOptions);
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply))
    throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`${service}.${method}`]);
  return reply as Rec;
}

/** Error answers of a route, for the OpenAPI document: each status → the Cliquet body. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const common = [400, 401, 406, 429, 500, 502, 503, 504];
  return Object.fromEntries([...new Set([...common, ...statuses])].sort().map((s) => [s, ERROR_RESPONSE]));
}

/** Header schema of an authenticated route: the Bearer key and the conditional headers. */
export function authHeaders(): Rec {
  return { type: 'object', properties: { ...BEARER_HEADERS.properties, ...CONDITIONAL_HEADERS } };
}

/** A schema with the tag, security and headers (authHeaders) of an authenticated /v1 route. */
export function authed(tag: string, schema: FastifySchema & Rec): FastifySchema {
  return { tags: [tag], security: [{ bearer: [] }], headers: authHeaders(), ...schema };
}

/**
 * The options of an authenticated /v1 route: the requireSession hook, and the schema that
 * says so (authed), together so the OpenAPI document's security is what the route enforces.
 */
export function sessionRoute(
  tag: string,
  schema: FastifySchema & Rec,
): { onRequest: typeof requireSession; schema: FastifySchema } {
  return { onRequest: requireSession, schema: authed(tag, schema) };
}
