/**
 * `/v1/nodes` (docs/COMPUTE.md "The HTTP API"): each route takes the session key
 * (hooks/auth.ts) and a body valid against its schema (unknown fields refused), makes one
 * call to the `Compute` service with a deadline, and answers its reply, in the /v1 protocol
 * every resource shares (v1/scope.ts): the list filtered, sorted and paged
 * (v1/listing.ts), an ETag on every answer, `If-None-Match` → 304 on reads, `If-Match` /
 * `If-None-Match` → 412 on writes (v1/conditional.ts). Failures are rendered in the
 * /v1 error body by gateway/errors.ts. No business logic lives here: whether the session
 * is live, the node readable or writable by the caller, the change allowed, is Compute's to
 * say. A single node is answered with its permissions (v1/permissions.ts); a list without.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { etagOf, ifMatchVersion, notModified, versionCheck, versionTag, writeVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
import {
  createPermissions,
  patchPermissions,
  PERMISSIONS_BODY,
  splitPermissions,
  withPermissions,
  withPermissionsSchema,
} from './permissions';
import { callBus, errorResponses, sessionRoute, v1Scope, type V1Options } from './scope';

type Body = Record<string, unknown>;

const TEXT = { type: 'string', maxLength: 4096 } as const;

const CREATE_BODY = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: { name: TEXT, image: TEXT, size: TEXT, command: TEXT, permissions: PERMISSIONS_BODY },
} as const;

const PATCH_BODY = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    name: TEXT,
    size: TEXT,
    action: { type: 'string', enum: ['start', 'stop'] },
    permissions: PERMISSIONS_BODY,
  },
} as const;

const STR = { type: 'string' } as const;
const INT = { type: 'integer' } as const;

/** A node as the routes answer it (proto/compute.proto `Node`), for the OpenAPI document. */
export const NODE_SCHEMA = {
  type: 'object',
  properties: {
    id: STR,
    name: STR,
    owner: STR,
    image: STR,
    size: STR,
    command: STR,
    status: { type: 'string', enum: ['BUILDING', 'ACTIVE', 'STOPPED', 'DELETING', 'ERROR'] },
    task: { type: 'string', description: '"stopping" while an ACTIVE node is being stopped, else ""' },
    reason: { type: 'string', description: 'why the node is in ERROR, else ""' },
    host: STR,
    port: INT,
    pid: INT,
    exit_code: {
      type: 'integer',
      description: 'exit code of its last process; -1 when a signal ended it or none has ended',
    },
    signal: STR,
    created_at: INT,
    updated_at: INT,
    version: { type: 'integer', description: 'bumped by every change of the node; its ETag is this number, quoted' },
    url: {
      type: 'string',
      description: 'its static URL through the proxy, http://<name>.<owner>.<proxy domain>:<port>/ (docs/ROUTING.md)',
    },
  },
} as const;

/** A single node as the routes answer it: with its permissions. */
const ONE_NODE = withPermissionsSchema(NODE_SCHEMA);

/** The single-record answer of a Compute reply (a `Node`). */
function oneNode(reply: Body): Body {
  const { record, permissions } = splitPermissions(reply);
  return withPermissions(record, permissions);
}

type Asked = { permissions?: Record<'read' | 'write', string[]> } & Body;

interface NodeList {
  nodes: Body[];
  version: number;
  etag: string;
}

/**
 * Compute's List reply as the route answers it: the nodes the caller may read (without their
 * permissions: a list keeps its shape), the version of the caller's own list, and the list's
 * ETag: that version, or a digest of the list when another user's node is in it (`shared`: that
 * user's writes do not move the version).
 */
function listOf(reply: Body): NodeList {
  const nodes = Array.isArray(reply.nodes) ? (reply.nodes as Body[]).map((n) => splitPermissions(n).record) : [];
  const version = Number(reply.version);
  return { nodes, version, etag: reply.shared === true ? etagOf({ version, nodes }) : versionTag(version) };
}

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: STR } } as const;

/** What `GET /v1/nodes` filters and sorts on; `_since`/`_before` compare `updated_at`. */
export const NODES_LIST: ListSpec = {
  fields: {
    id: 'string',
    name: 'string',
    image: 'string',
    size: 'string',
    status: 'string',
    port: 'integer',
    created_at: 'integer',
    updated_at: 'integer',
  },
  id: 'id',
  defaultSort: ['created_at'],
  since: 'updated_at',
};

export const nodeRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  const call = (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<Body> =>
    callBus(options, request, 'Compute', method, { ...params, sesskey: request.sesskey }, idempotent);
  const list = async (request: FastifyRequest): Promise<NodeList> => listOf(await call(request, 'List', {}, true));
  /**
   * The compare-and-write fields of a write to node `id`: Compute compares the version
   * If-Match names as it claims the change.
   */
  const preconditions = async (request: FastifyRequest, id: string): Promise<Body> =>
    versionCheck(await writeVersion(request, async () => Number((await call(request, 'Get', { id }, true)).version)));
  /** A node's ETag: its version. */
  const tagOf = (node: Body): string => versionTag(Number(node.version));
  /** An authenticated nodes route: the session check, its documented security and schema, Compute as its service. */
  const route = (summary: string, extra: Record<string, unknown>) => ({
    ...sessionRoute('nodes', { summary, ...extra }),
    config: { service: 'Compute' },
  });
  type WithId = { Params: { id: string } };

  app.post(
    '/nodes',
    route('Create a node: answers at once in BUILDING; it turns ACTIVE once it answers its health check', {
      body: CREATE_BODY,
      response: { 201: ONE_NODE, ...errorResponses(403, 412, 413, 415, 422) },
    }),
    async (request, reply) => {
      const { permissions, ...fields } = request.body as Asked;
      // If-Match names a version of the caller's list, the collection this creates into;
      // Compute compares it as it inserts.
      const expected = await ifMatchVersion(request, async () => (await list(request)).version);
      const params = { ...fields, ...versionCheck(expected), ...createPermissions(permissions) };
      const node = await call(request, 'Create', params, false);
      return reply
        .code(201)
        .header('location', `/v1/nodes/${String(node.id)}`)
        .header('etag', tagOf(node))
        .send(oneNode(node));
    },
  );
  app.get(
    '/nodes',
    route('The nodes the caller may read (oldest first unless sorted), filtered and paged like every /v1 list', {
      querystring: listQuerySchema(NODES_LIST, options.pageMaxRecords),
      response: { 200: listResponse(NODE_SCHEMA), ...errorResponses() },
    }),
    async (request, reply) => {
      const { nodes, etag } = await list(request);
      return answerList(request, reply, nodes, NODES_LIST, options.pageMaxRecords, etag);
    },
  );
  app.get<WithId>(
    '/nodes/:id',
    route('One node the caller may read, with its permissions', {
      params: ID_PARAMS,
      response: { 200: ONE_NODE, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const node = await call(request, 'Get', { id: request.params.id }, true);
      if (notModified(request, reply, tagOf(node))) return reply;
      return oneNode(node);
    },
  );
  app.get<WithId>(
    '/nodes/:id/output',
    route("The last lines the node's process wrote", {
      params: ID_PARAMS,
      response: {
        200: { type: 'object', properties: { id: STR, lines: { type: 'array', items: STR } } },
        ...errorResponses(404),
      },
    }),
    async (request, reply) => {
      const output = await call(request, 'Output', { id: request.params.id }, true);
      if (notModified(request, reply, etagOf(output))) return reply;
      return output;
    },
  );
  app.patch<WithId>(
    '/nodes/:id',
    route('Rename, resize (STOPPED only), start or stop a node, or change its permissions; write on it required', {
      params: ID_PARAMS,
      body: PATCH_BODY,
      response: { 200: ONE_NODE, ...errorResponses(403, 404, 409, 412, 413, 415, 422) },
    }),
    async (request, reply) => {
      const { permissions, ...fields } = request.body as Asked;
      const check = await preconditions(request, request.params.id);
      const params = { ...fields, ...patchPermissions(permissions), ...check, id: request.params.id };
      const node = await call(request, 'Update', params, false);
      return reply.header('etag', tagOf(node)).send(oneNode(node));
    },
  );
  app.delete<WithId>(
    '/nodes/:id',
    route('Delete a node: answers it in DELETING; it is gone (404) once its process is', {
      params: ID_PARAMS,
      response: { 202: ONE_NODE, ...errorResponses(403, 404, 409, 412) },
    }),
    async (request, reply) => {
      const check = await preconditions(request, request.params.id);
      // With a version to compare, a retry after a lost reply would be refused as stale: not idempotent then.
      const node = await call(request, 'Delete', { id: request.params.id, ...check }, check.check_version !== true);
      return reply.code(202).header('etag', tagOf(node)).send(oneNode(node));
    },
  );
};
