/**
 * POST /v1/batch (Kinto's format): `{defaults?, requests: [{method, path, headers?, body?}]}`
 * answers `{responses: [{status, path, headers, body}]}`, one per request, in order. Each
 * sub-request is injected into this same application, so it passes through the same routes,
 * authentication, validation and error rendering as a direct one; a failing sub-request
 * does not stop the others. The batch's own `Authorization` (and `Accept`) carry over to its
 * sub-requests unless a sub-request sets its own. A path without the `/v1` prefix gets it.
 * The whole batch is checked before any of it runs (a fault in its last sub-request must not
 * leave the earlier ones done and the batch answered 400 or 500): method, path, and each
 * body's nesting depth and serialization.
 */
import type { FastifyPluginAsync, FastifyRequest, InjectOptions, LightMyRequestResponse as Response } from 'fastify';
import { httpError } from '../errors';
import { errorResponses, v1Scope, type Rec, type V1Options } from './scope';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

interface SubRequest {
  method?: Method;
  path?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

const HEADERS = { type: 'object', additionalProperties: { type: 'string' } } as const;
const SUB_REQUEST = {
  type: 'object',
  additionalProperties: false,
  properties: {
    method: { type: 'string', enum: METHODS },
    path: { type: 'string', pattern: '^/', maxLength: 2048 },
    headers: HEADERS,
    body: {},
  },
} as const;

const BATCH_RESPONSE = {
  type: 'object',
  properties: {
    responses: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          status: { type: 'integer' },
          path: { type: 'string' },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
          body: {},
        },
      },
    },
  },
} as const;

/** Headers of an answer that describe the connection, not the sub-response. */
const HOP_BY_HOP = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/** The batch's headers that every sub-request inherits. */
const INHERITED = ['authorization', 'accept', 'host'] as const;

/** Deepest nesting of arrays and objects a sub-request's body may have (docs/API-V1.md "Batch"). */
export const MAX_BODY_DEPTH = 64;

/** 400 naming field `field` of sub-request `index`. */
function invalid(index: number, field: string, description: string): Error {
  const name = `requests.${index}.${field}`;
  return httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [`${name} ${description}`], {
    details: [{ location: 'body', name, description }],
  });
}

function merged(
  defaults: SubRequest,
  sub: SubRequest,
  index: number,
): { method: Method; path: string; headers: Record<string, string>; body?: unknown } {
  const method = sub.method ?? defaults.method;
  const path = sub.path ?? defaults.path;
  const missing = method === undefined ? 'method' : path === undefined ? 'path' : undefined;
  if (missing !== undefined) throw invalid(index, missing, 'is required (in the request or in defaults)');
  const full = (path as string).startsWith('/v1/') ? (path as string) : `/v1${path as string}`;
  if (/^\/v1\/batch([/?#]|$)/.test(full)) throw invalid(index, 'path', 'may not be a batch itself');
  const headers = { ...(defaults.headers ?? {}), ...(sub.headers ?? {}) };
  const body = sub.body ?? defaults.body;
  if (depthOver(body, MAX_BODY_DEPTH)) throw invalid(index, 'body', `is nested deeper than ${MAX_BODY_DEPTH} levels`);
  return { method: method as Method, path: full, headers, body };
}

/** Whether `value` nests arrays and objects deeper than `max` (iteratively: no recursion to overflow). */
export function depthOver(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

function answerOf(path: string, res: Response): Rec {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = String(value);
  let body: unknown = null;
  if (res.body !== '') {
    try {
      body = JSON.parse(res.body);
    } catch {
      body = res.body;
    }
  }
  return { status: res.statusCode, path, headers, body };
}

function inherited(request: FastifyRequest, index: number): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': `${request.id}.${index}` };
  for (const name of INHERITED) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

export const batchRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  app.post(
    '/batch',
    {
      // A batch answers 200 whatever its sub-requests answered: kept whole, a retry could not rerun a failed one.
      config: { noIdempotency: 'send an Idempotency-Key on each sub-request instead' },
      schema: {
        tags: ['utilities'],
        summary: 'Run several requests in one (Kinto batch)',
        body: {
          type: 'object',
          required: ['requests'],
          additionalProperties: false,
          properties: {
            defaults: SUB_REQUEST,
            requests: { type: 'array', minItems: 1, maxItems: options.batchMaxRequests, items: SUB_REQUEST },
          },
        },
        response: { 200: BATCH_RESPONSE, ...errorResponses(413, 415) },
      },
    },
    async (request) => {
      const { defaults = {}, requests } = request.body as { defaults?: SubRequest; requests: SubRequest[] };
      const subs = requests.map((sub, i) => merged(defaults, sub, i));
      const responses: Rec[] = [];
      // In order, one at a time: a later request may depend on an earlier one (create, then post).
      for (const [i, sub] of subs.entries()) {
        // The client's address, not inject's 127.0.0.1: rate limits and logon throttling count per client.
        const inject: InjectOptions = {
          method: sub.method,
          url: sub.path,
          headers: { ...inherited(request, i), ...lower(sub.headers) },
          remoteAddress: request.ip,
        };
        if (sub.body !== undefined) inject.payload = sub.body as InjectOptions['payload'];
        responses.push(answerOf(sub.path, await app.inject(inject)));
      }
      return { responses };
    },
  );
};

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
