/**
 * `/v1/nodes` (seed 000, docs/COMPUTE.md "The HTTP API"): each route takes the session key
 * (plugins/auth.ts) and a body valid against its schema, makes one call to the `Compute`
 * service with a deadline, and answers its reply. Failures are rendered in the `/v1` error
 * body by plugins/errors.ts. No business logic lives here: whether the session is live,
 * the node the caller's, the change allowed, is Compute's to say.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import { BEARER_HEADERS, requireSession } from '../plugins/auth';
import { httpError } from '../plugins/errors';

export interface NodeRoutesOptions {
  bus: BusCaller;
  /** Deadline of each bus call, from the moment the route calls. */
  timeoutMs: number;
}

type Body = Record<string, unknown>;

const TEXT = { type: 'string', maxLength: 4096 } as const;

const CREATE_BODY = {
  type: 'object',
  required: ['name', 'image'],
  properties: { name: TEXT, image: TEXT, size: TEXT, command: TEXT },
} as const;

const PATCH_BODY = {
  type: 'object',
  minProperties: 1,
  properties: { name: TEXT, size: TEXT, action: { type: 'string', enum: ['start', 'stop'] } },
} as const;

/**
 * The body, holding no field the route's schema does not name. (Unknown fields are refused
 * here, not by `additionalProperties: false`, which Fastify's ajv would silently strip.)
 */
function knownFields(request: FastifyRequest, schema: { properties: object }): Body {
  const body = request.body as Body;
  const unknown = Object.keys(body).find((key) => !Object.prototype.hasOwnProperty.call(schema.properties, key));
  if (unknown === undefined) return body;
  const name = unknown.length > 64 ? `${unknown.slice(0, 64)}…` : unknown;
  const description = `is not allowed here; known fields: ${Object.keys(schema.properties).join(', ')}`;
  throw httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [`${name} in body ${description}`], { details: [{ location: 'body', name, description }] });
}

export const nodeRoutes: FastifyPluginAsync<NodeRoutesOptions> = async (app, options) => {
  const call = (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<unknown> => {
    const callOptions: CallOptions = { deadline: Date.now() + options.timeoutMs, reqId: request.id, idempotent };
    return options.bus.call('Compute', method, [params], callOptions);
  };
  const config = { service: 'Compute' };
  const headers = BEARER_HEADERS;
  type WithId = { Params: { id: string } };
  const one = { onRequest: requireSession, schema: { headers }, config };

  app.post('/v1/nodes', { onRequest: requireSession, schema: { headers, body: CREATE_BODY }, config }, async (request, reply) => {
    const node = (await call(request, 'Create', { ...knownFields(request, CREATE_BODY), sesskey: request.sesskey }, false)) as { id: string };
    return reply.code(201).header('location', `/v1/nodes/${node.id}`).send(node);
  });
  app.get('/v1/nodes', one, async (request) => {
    const { nodes } = (await call(request, 'List', { sesskey: request.sesskey }, true)) as { nodes: unknown[] };
    return { data: nodes };
  });
  app.get<WithId>('/v1/nodes/:id', one, async (request) => call(request, 'Get', { sesskey: request.sesskey, id: request.params.id }, true));
  app.get<WithId>('/v1/nodes/:id/output', one, async (request) => call(request, 'Output', { sesskey: request.sesskey, id: request.params.id }, true));
  app.patch<WithId>('/v1/nodes/:id', { onRequest: requireSession, schema: { headers, body: PATCH_BODY }, config }, async (request) =>
    call(request, 'Update', { ...knownFields(request, PATCH_BODY), sesskey: request.sesskey, id: request.params.id }, false));
  app.delete<WithId>('/v1/nodes/:id', one, async (request, reply) => {
    const node = await call(request, 'Delete', { sesskey: request.sesskey, id: request.params.id }, true);
    return reply.code(202).send(node);
  });
};
