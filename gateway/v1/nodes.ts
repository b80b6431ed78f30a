/**
 * `/v1/nodes` (docs/COMPUTE.md "The HTTP API"): each route takes the session key
 * (hooks/auth.ts) and a body valid against its schema (unknown fields refused), makes one
 * call to the `Compute` service with a deadline, and answers its reply, in the /v1 protocol
 * every resource shares (v1/scope.ts): a node is a record `{data, permissions}` (v1/record.ts)
 * whose `last_modified` is the version Compute's store stamped, the list filtered, sorted and
 * paged with the tombstones of deleted nodes for `_since` readers (v1/listing.ts), an ETag
 * and Last-Modified on every answer, `If-None-Match` → 304 on reads, `If-Match` /
 * `If-None-Match` → 412 on writes (v1/conditional.ts). Failures are rendered in the
 * /v1 error body by gateway/errors.ts. No business logic lives here: whether the session
 * is live, the node readable or writable by the caller, the change allowed, is Compute's to
 * say. A single node is answered with its permissions (v1/permissions.ts); a list without.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { etagOf, ifMatchVersion, notModified, versionCheck, writeVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec, type Tombstone } from './listing';
import {
  createPermissions,
  patchPermissions,
  PERMISSIONS_BODY,
  PERMISSIONS_SCHEMA,
  splitPermissions,
} from './permissions';
import { answerRecord, RECORD_QUERY, recordResponse, sendRecord, withExisting } from './record';
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
    last_modified: {
      type: 'integer',
      description: 'ms since the epoch: the timestamp of its last change; its ETag is this number, quoted',
    },
    deleted: { type: 'boolean', description: 'true on a tombstone (a deleted node, listed to _since readers)' },
    url: {
      type: 'string',
      description: 'its static URL through the proxy, http://<name>.<owner>.<proxy domain>:<port>/ (docs/ROUTING.md)',
    },
  },
} as const;

/** A single node as the routes answer it: `{data, permissions}`. */
const ONE_NODE = recordResponse(NODE_SCHEMA, PERMISSIONS_SCHEMA);

/** Compute's reply (a `Node`) as one record's answer takes it: the record and its permissions. */
function oneNode(reply: Body): { data: Body; permissions: Record<string, string[]> } {
  const { record, permissions } = splitPermissions(reply);
  return { data: nodeRecord(record), permissions };
}

/** Answer a write of a node with `status`: Compute's reply as one record. */
function sendNode(reply: FastifyReply, status: number, node: Body): FastifyReply {
  const { data, permissions } = oneNode(node);
  return sendRecord(reply, status, data, permissions);
}

type Asked = { permissions?: Record<'read' | 'write', string[]> } & Body;

interface NodeList {
  nodes: Body[];
  version: number;
  deleted: Tombstone[];
}

/**
 * Compute's List reply as the route answers it: the nodes the caller may read (as records,
 * without their permissions: a list keeps its shape), the tombstones of the caller's nodes
 * deleted, and the timestamp of the list the caller sees (its own list's, or the store's sharing
 * stamp when later: docs/API-V1.md "Permissions"), the list's ETag and Last-Modified, and what
 * `If-Match` on a create names.
 */
function listOf(reply: Body): NodeList {
  const nodes = Array.isArray(reply.nodes)
    ? (reply.nodes as Body[]).map((n) => nodeRecord(splitPermissions(n).record))
    : [];
  return { nodes, version: Number(reply.version), deleted: tombstonesOf(reply.deleted) };
}

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: STR } } as const;

/** What `GET /v1/nodes` filters and sorts on; `_since`/`_before` compare `last_modified`. */
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
    last_modified: 'integer',
  },
  id: 'id',
  defaultSort: ['created_at'],
  since: 'last_modified',
};

/** A node of Compute (proto/compute.proto `Node`) as a record: its version is its last_modified. */
export function nodeRecord(node: Body): Body {
  const { version, ...fields } = node;
  return { ...fields, last_modified: Number(version) };
}

/** Compute's tombstones (`NodeList.deleted`) as the list shows them. */
function tombstonesOf(deleted: unknown): Tombstone[] {
  if (!Array.isArray(deleted)) return [];
  return (deleted as Body[]).map((t) => ({ id: String(t.id), last_modified: Number(t.last_modified), deleted: true }));
}

/** The calls of the nodes routes to Compute, each with the caller's session. */
function computeCalls(options: V1Options) {
  const call = (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<Body> =>
    callBus(options, request, 'Compute', method, { ...params, sesskey: request.sesskey }, idempotent);
  /** The nodes the caller may read, the tombstones of its own deleted, and its list's version, read together. */
  const list = async (request: FastifyRequest): Promise<NodeList> => listOf(await call(request, 'List', {}, true));
  /** The node `id` as a record, or undefined when the caller has none (for a 412's details.existing). */
  const existing = (request: FastifyRequest, id: string) => async (): Promise<Body | undefined> =>
    oneNode(await call(request, 'Get', { id }, true)).data;
  /**
   * The compare-and-write fields of a write to node `id`: Compute compares the version
   * If-Match names as it claims the change.
   */
  const preconditions = async (request: FastifyRequest, id: string): Promise<Body> =>
    versionCheck(await writeVersion(request, async () => Number((await call(request, 'Get', { id }, true)).version)));
  return { call, list, existing, preconditions };
}

/** An authenticated nodes route: the session check, its documented security and schema, Compute as its service. */
const route = (summary: string, extra: Record<string, unknown>) => ({
  ...sessionRoute('nodes', { summary, ...extra }),
  config: { service: 'Compute' },
});

type WithId = { Params: { id: string } };

export const nodeRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  const { call, list, existing, preconditions } = computeCalls(options);

  app.post(
    '/nodes',
    route('Create a node: answers at once in BUILDING; it turns ACTIVE once it answers its health check', {
      body: CREATE_BODY,
      response: { 201: ONE_NODE, ...errorResponses(403, 412, 413, 415, 422) },
    }),
    async (request, reply) => {
      const { permissions, ...fields } = request.body as Asked;
      // If-Match names a timestamp of the list the caller sees (what GET /v1/nodes answered as its
      // ETag); Compute's store compares it as it inserts. Nothing exists yet to show in a 412.
      return withExisting(
        async () => {
          const expected = await ifMatchVersion(request, async () => (await list(request)).version);
          const params = { ...fields, ...versionCheck(expected), ...createPermissions(permissions) };
          const node = await call(request, 'Create', params, false);
          return sendNode(reply.header('location', `/v1/nodes/${String(node.id)}`), 201, node);
        },
        async () => undefined,
      );
    },
  );
  app.get(
    '/nodes',
    route('The nodes the caller may read (oldest first unless sorted), filtered and paged like every /v1 list', {
      querystring: listQuerySchema(NODES_LIST, options.pageMaxRecords),
      response: { 200: listResponse(NODE_SCHEMA), ...errorResponses() },
    }),
    async (request, reply) => {
      const { nodes, version, deleted } = await list(request);
      const state = { records: nodes, lastModified: version, tombstones: deleted };
      return answerList(request, reply, state, NODES_LIST, options.pageMaxRecords);
    },
  );
  app.get<WithId>(
    '/nodes/:id',
    route('One node the caller may read, with its permissions', {
      params: ID_PARAMS,
      querystring: RECORD_QUERY,
      response: { 200: ONE_NODE, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const node = oneNode(await call(request, 'Get', { id: request.params.id }, true));
      return answerRecord(request, reply, node.data, node.permissions);
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
      const { id } = request.params;
      return withExisting(
        async () => {
          const check = await preconditions(request, id);
          const params = { ...fields, ...patchPermissions(permissions), ...check, id };
          return sendNode(reply, 200, await call(request, 'Update', params, false));
        },
        existing(request, id),
      );
    },
  );
  app.delete<WithId>(
    '/nodes/:id',
    route('Delete a node: answers it in DELETING; it is gone (404) once its process is', {
      params: ID_PARAMS,
      response: { 202: ONE_NODE, ...errorResponses(403, 404, 409, 412) },
    }),
    async (request, reply) => {
      const { id } = request.params;
      return withExisting(
        async () => {
          const check = await preconditions(request, id);
          // With a version to compare, a retry after a lost reply would be refused as stale: not idempotent then.
          const node = await call(request, 'Delete', { id, ...check }, check.check_version !== true);
          return sendNode(reply, 202, node);
        },
        existing(request, id),
      );
    },
  );
};
