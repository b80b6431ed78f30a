/**
 * `/v1/nodes` (seed 000, docs/COMPUTE.md "The HTTP API"): each route takes the session key
 * (plugins/auth.ts) and a body valid against its schema, makes one call to the `Compute`
 * service with a deadline, and answers its reply. Failures are rendered in the `/v1` error
 * body by plugins/errors.ts. No business logic lives here: whether the session is live,
 * the node the caller's, the change allowed, is Compute's to say.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
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

const STR = { type: 'string' } as const;
const INT = { type: 'integer' } as const;

/** A node as the routes answer it (proto/compute.proto `Node`), for the OpenAPI document. */
export const NODE_SCHEMA = {
  type: 'object',
  properties: {
    id: STR, name: STR, owner: STR, image: STR, size: STR, command: STR,
    status: { type: 'string', enum: ['BUILDING', 'ACTIVE', 'STOPPED', 'DELETING', 'ERROR'] },
    task: { type: 'string', description: '"stopping" while an ACTIVE node is being stopped, else ""' },
    reason: { type: 'string', description: 'why the node is in ERROR, else ""' },
    host: STR, port: INT, pid: INT,
    exit_code: { type: 'integer', description: 'exit code of its last process; -1 when a signal ended it or none has ended' },
    signal: STR, created_at: INT, updated_at: INT,
  },
} as const;

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: STR } } as const;
const TAGS = ['nodes'];

/** The reply of a Compute call, which must be a map. */
function mapOf(reply: unknown, method: string): Body {
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`Compute.${method}`]);
  return reply as Body;
}

export const nodeRoutes: FastifyPluginAsync<NodeRoutesOptions> = async (app, options) => {
  const call = async (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<Body> => {
    const callOptions: CallOptions = { deadline: Date.now() + options.timeoutMs, reqId: request.id, idempotent };
    return mapOf(await options.bus.call('Compute', method, [params], callOptions), method);
  };
  const config = { service: 'Compute' };
  const headers = BEARER_HEADERS;
  const schema = (summary: string, extra: Record<string, unknown>) => ({ tags: TAGS, summary, headers, ...extra });
  type WithId = { Params: { id: string } };

  app.post('/v1/nodes', {
    onRequest: requireSession, config,
    schema: schema('Create a node: answers at once in BUILDING; it turns ACTIVE once it answers its health check', { body: CREATE_BODY, response: { 201: NODE_SCHEMA } }),
  }, async (request, reply) => {
    const node = await call(request, 'Create', { ...knownFields(request, CREATE_BODY), sesskey: request.sesskey }, false);
    return reply.code(201).header('location', `/v1/nodes/${String(node.id)}`).send(node);
  });
  app.get('/v1/nodes', {
    onRequest: requireSession, config,
    schema: schema("The caller's nodes, oldest first", { response: { 200: { type: 'object', properties: { data: { type: 'array', items: NODE_SCHEMA } } } } }),
  }, async (request) => ({ data: (await call(request, 'List', { sesskey: request.sesskey }, true)).nodes }));
  app.get<WithId>('/v1/nodes/:id', {
    onRequest: requireSession, config, schema: schema('One of the caller\'s nodes', { params: ID_PARAMS, response: { 200: NODE_SCHEMA } }),
  }, async (request) => call(request, 'Get', { sesskey: request.sesskey, id: request.params.id }, true));
  app.get<WithId>('/v1/nodes/:id/output', {
    onRequest: requireSession, config,
    schema: schema('The last lines the node\'s process wrote', {
      params: ID_PARAMS, response: { 200: { type: 'object', properties: { id: STR, lines: { type: 'array', items: STR } } } },
    }),
  }, async (request) => call(request, 'Output', { sesskey: request.sesskey, id: request.params.id }, true));
  app.patch<WithId>('/v1/nodes/:id', {
    onRequest: requireSession, config,
    schema: schema('Rename, resize (STOPPED only), start or stop a node; 409 when not allowed in its status', { params: ID_PARAMS, body: PATCH_BODY, response: { 200: NODE_SCHEMA } }),
  }, async (request) => call(request, 'Update', { ...knownFields(request, PATCH_BODY), sesskey: request.sesskey, id: request.params.id }, false));
  app.delete<WithId>('/v1/nodes/:id', {
    onRequest: requireSession, config,
    schema: schema('Delete a node: answers it in DELETING; it is gone (404) once its process is', { params: ID_PARAMS, response: { 202: NODE_SCHEMA } }),
  }, async (request, reply) => reply.code(202).send(await call(request, 'Delete', { sesskey: request.sesskey, id: request.params.id }, true)));
};
