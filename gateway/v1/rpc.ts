/**
 * The bridge: `POST /v1/rpc/{service}/{method}` calls a public method of any service on the
 * bus for the signed-in user (docs/API-V1.md "Calling a public method"). The JSON body is the
 * method's one param (no body: no param), checked against the schema the service declared;
 * the answer is `{"data": <result>}`. The session is resolved by Auth and its user travels to
 * the worker in the metadata's `user` (docs/PROTOCOL.md §14). A service without the method
 * among its public ones, or no such service, answers 404; nothing else of the bus is reachable.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AgoraError } from '../../lib/errors';
import type { JsonSchema } from '../../lib/rpc/describe';
import { httpError, validationDetails } from '../errors';
import type { PublicMethodsCatalog, ServiceMethods } from './public-methods';
import { callBus, errorResponses, sessionRoute, v1Scope, type Rec, type V1Options } from './scope';

export const RPC_PREFIX = '/rpc';

export interface RpcOptions extends V1Options {
  catalog: PublicMethodsCatalog;
}

const PARAMS = {
  type: 'object',
  required: ['service', 'method'],
  properties: {
    service: { type: 'string', minLength: 1, maxLength: 255, description: 'The bus service name.' },
    method: { type: 'string', minLength: 1, maxLength: 128, description: 'One of its public methods.' },
  },
} as const;

export const rpcRoutes: FastifyPluginAsync<RpcOptions> = async (app, options) => {
  v1Scope(app);

  app.post(
    `${RPC_PREFIX}/:service/:method`,
    sessionRoute('rpc', {
      summary: 'Call a public method of a service for the signed-in user',
      description:
        "The body is the method's one param (none without a body), checked against its declared schema; " +
        'the answer is {"data": <result>}. Each public method is listed below under its own path.',
      params: PARAMS,
      // Any JSON: the method's own schema is checked in the handler.
      body: {},
      response: { 200: { type: 'object', properties: { data: {} } }, ...errorResponses(404, 413, 415) },
    }),
    async (request) => {
      const { service, method } = request.params as { service: string; method: string };
      const deadline = Date.now() + options.timeoutMs;
      // Both at once; the session's verdict comes first, so a caller without a live session
      // learns nothing of what is public.
      const methods = options.catalog.methods(service, deadline, request.id);
      methods.catch(() => undefined);
      const who = await callBus(options, request, 'Auth', 'Resolve', { sesskey: request.sesskey }, true);
      const found = (await methods).get(method);
      if (found === undefined) throw new AgoraError('AGORA_ERR_RPC_NOT_PUBLIC', [service, method]);
      const body = request.body;
      if (!found.validate(body === undefined ? null : body)) {
        const details = validationDetails(found.validate.errors ?? [], 'body');
        const summary = details.map((d) => `${d.name === 'body' ? 'body' : d.name} ${d.description}`).join('; ');
        throw httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [summary], { details });
      }
      const result = await options.bus.call(service, method, body === undefined ? [] : [body], {
        deadline,
        reqId: request.id,
        user: String(who.username),
      });
      return { data: result === undefined ? null : result };
    },
  );
};

/** An OpenAPI 3.0 schema from a JSON Schema: `true` is any value, `false` none. */
function openApiSchema(schema: JsonSchema | undefined): Rec {
  if (schema === undefined || schema === true) return {};
  if (schema === false) return { not: {} };
  return schema;
}

const ERROR_BODY = {
  description: 'The Cliquet error body (docs/ERRORS.md).',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/CliquetError' } } },
};

/** The OpenAPI path items of the public methods, one `POST /v1/rpc/{service}/{method}` each. */
export function publicMethodPaths(all: ReadonlyMap<string, ServiceMethods>): Record<string, Rec> {
  const paths: Record<string, Rec> = {};
  for (const [service, methods] of [...all].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [name, method] of [...methods].sort(([a], [b]) => a.localeCompare(b))) {
      const path = `/v1${RPC_PREFIX}/${encodeURIComponent(service)}/${encodeURIComponent(name)}`;
      paths[path] = {
        post: {
          tags: ['rpc'],
          summary: method.summary ?? `${service}.${name}`,
          operationId: `rpc.${service}.${name}`,
          security: [{ bearer: [] }],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: openApiSchema(method.params) } },
          },
          responses: {
            200: {
              description: `The result of ${service}.${name}`,
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['data'], properties: { data: openApiSchema(method.result) } },
                },
              },
            },
            ...Object.fromEntries([400, 401, 404, 500, 503, 504].map((status) => [status, ERROR_BODY])),
          },
        },
      };
    }
  }
  return paths;
}
