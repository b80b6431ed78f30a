/**
 * `/v1/routes` (docs/ROUTING.md "Routes"): the caller's custom routes, each route one call to
 * the `Routes` service with a deadline, in the /v1 protocol every resource shares (v1/scope.ts):
 * a route is a record `{data, permissions}` (v1/record.ts), its id its source, its
 * `last_modified` the version Routes' store stamped; the list filtered, sorted and paged
 * (v1/listing.ts), an ETag and Last-Modified on every answer (the route's timestamp; the
 * list's), `If-None-Match` → 304 on reads, `If-Match` handed to Routes, which compares it as
 * it writes (v1/conditional.ts). Whether a host may be routed, the node the
 * caller's, the caller an administrator, is Routes' to say.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ifMatchVersion, versionCheck, writeVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec, type Tombstone } from './listing';
import { answerRecord, RECORD_QUERY, recordResponse, sendRecord, withExisting } from './record';
import { callBus, errorResponses, sessionRoute, v1Scope, type V1Options } from './scope';

type Body = Record<string, unknown>;

const STR = { type: 'string' } as const;
const INT = { type: 'integer' } as const;

/** What a client sets of a route (PUT: all but the source, which the path names). */
const SETTINGS = {
  target_node: { type: 'string', maxLength: 64, description: 'The id of one of your nodes (or give target_url).' },
  target_url: {
    type: 'string',
    maxLength: 2048,
    description: 'An http:// or https:// URL: administrators (AGORA_ADMINS) only.',
  },
  mode: { type: 'string', enum: ['proxy', 'redirect'], description: 'proxy (the default) or redirect (307).' },
  enforce_https: { type: 'boolean', description: 'Redirect plain-HTTP requests to https:// first.' },
  connect_timeout_ms: { type: 'integer', minimum: 0, maximum: 600_000, description: "0: the proxy's own." },
  read_timeout_ms: { type: 'integer', minimum: 0, maximum: 600_000, description: "0: the proxy's own." },
} as const;

const SOURCE = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  description: 'The host the proxy matches (no port); stored in lower case.',
} as const;

const CREATE_BODY = {
  type: 'object',
  required: ['source'],
  additionalProperties: false,
  properties: { source: SOURCE, ...SETTINGS },
} as const;

const PUT_BODY = { type: 'object', additionalProperties: false, properties: SETTINGS } as const;

/** A route as the routes answer it (proto/routes.proto `Route`), for the OpenAPI document. */
export const ROUTE_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'its source' },
    source: STR,
    owner: STR,
    target_node: STR,
    target_url: STR,
    mode: { type: 'string', enum: ['proxy', 'redirect'] },
    enforce_https: { type: 'boolean' },
    connect_timeout_ms: INT,
    read_timeout_ms: INT,
    created_at: INT,
    updated_at: INT,
    last_modified: {
      type: 'integer',
      description: 'ms since the epoch: the timestamp of its last change; its ETag is this number, quoted',
    },
    deleted: { type: 'boolean', description: 'true on a tombstone (a deleted route, listed to _since readers)' },
  },
} as const;

const SOURCE_PARAMS = { type: 'object', required: ['source'], properties: { source: SOURCE } } as const;

/** What `GET /v1/routes` filters and sorts on; `_since`/`_before` compare `last_modified`. */
export const ROUTES_LIST: ListSpec = {
  fields: {
    source: 'string',
    target_node: 'string',
    target_url: 'string',
    mode: 'string',
    connect_timeout_ms: 'integer',
    read_timeout_ms: 'integer',
    created_at: 'integer',
    updated_at: 'integer',
    last_modified: 'integer',
  },
  id: 'source',
  defaultSort: ['created_at'],
  since: 'last_modified',
};

/** A route of Routes (proto/routes.proto `Route`) as a record: its source is its id, its version its last_modified. */
export function routeRecord(route: Body): Body {
  const { version, ...fields } = route;
  return { id: fields.source, ...fields, last_modified: Number(version) };
}

/** The calls of the routes routes to Routes, each with the caller's session. */
function routesCalls(options: V1Options) {
  const call = (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<Body> =>
    callBus(options, request, 'Routes', method, { ...params, sesskey: request.sesskey }, idempotent);
  /** The caller's routes, the tombstones of those deleted, and the version of that list (its ETag), read together. */
  const list = async (request: FastifyRequest): Promise<{ routes: Body[]; version: number; deleted: Tombstone[] }> => {
    const reply = await call(request, 'List', {}, true);
    const routes = Array.isArray(reply.routes) ? (reply.routes as Body[]).map(routeRecord) : [];
    const deleted = Array.isArray(reply.deleted)
      ? (reply.deleted as Body[]).map((t): Tombstone => ({
          id: String(t.source),
          last_modified: Number(t.last_modified),
          deleted: true,
        }))
      : [];
    return { routes, version: Number(reply.version), deleted };
  };
  /** The route of `source` as a record, or undefined when the caller has none (for a 412's details.existing). */
  const existing = (request: FastifyRequest, source: string) => async (): Promise<Body | undefined> =>
    routeRecord(await call(request, 'Get', { source }, true));
  /** The compare-and-write fields of a write to the route of `source`: Routes compares as it writes. */
  const preconditions = async (request: FastifyRequest, source: string): Promise<Body> =>
    versionCheck(
      await writeVersion(request, async () => Number((await call(request, 'Get', { source }, true)).version)),
    );
  return { call, list, existing, preconditions };
}

const route = (summary: string, extra: Record<string, unknown>) => ({
  ...sessionRoute('routes', { summary, ...extra }),
  config: { service: 'Routes' },
});

type WithSource = { Params: { source: string } };

export const routeRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  const { call, list, existing, preconditions } = routesCalls(options);

  app.post(
    '/routes',
    route('Route a host to one of your nodes (or, administrators, to a URL); 409 when the host is routed', {
      body: CREATE_BODY,
      response: { 201: recordResponse(ROUTE_SCHEMA), ...errorResponses(403, 404, 409, 412, 413, 415) },
    }),
    async (request, reply) => {
      const source = String((request.body as Body).source).toLowerCase();
      return withExisting(
        async () => {
          // If-Match names a version of the caller's list, which Routes compares as it inserts.
          const expected = await ifMatchVersion(request, async () => (await list(request)).version);
          const made = routeRecord(
            await call(request, 'Create', { route: request.body, ...versionCheck(expected) }, false),
          );
          return sendRecord(reply.header('location', `/v1/routes/${String(made.source)}`), 201, made);
        },
        existing(request, source),
      );
    },
  );
  app.get(
    '/routes',
    route("The caller's routes (oldest first unless sorted), filtered and paged like every /v1 list", {
      querystring: listQuerySchema(ROUTES_LIST, options.pageMaxRecords),
      response: { 200: listResponse(ROUTE_SCHEMA), ...errorResponses() },
    }),
    async (request, reply) => {
      const { routes, version, deleted } = await list(request);
      const state = { records: routes, lastModified: version, tombstones: deleted };
      return answerList(request, reply, state, ROUTES_LIST, options.pageMaxRecords);
    },
  );
  app.get<WithSource>(
    '/routes/:source',
    route("One of the caller's routes", {
      params: SOURCE_PARAMS,
      querystring: RECORD_QUERY,
      response: { 200: recordResponse(ROUTE_SCHEMA), ...errorResponses(404) },
    }),
    async (request, reply) =>
      answerRecord(request, reply, routeRecord(await call(request, 'Get', { source: request.params.source }, true))),
  );
  app.put<WithSource>(
    '/routes/:source',
    route("Replace the target and settings of one of the caller's routes (404 when there is none)", {
      params: SOURCE_PARAMS,
      body: PUT_BODY,
      response: { 200: recordResponse(ROUTE_SCHEMA), ...errorResponses(403, 404, 412, 413, 415) },
    }),
    async (request, reply) => {
      const { source } = request.params;
      return withExisting(
        async () => {
          const check = await preconditions(request, source);
          const body = { ...(request.body as Body), source };
          const replaced = await call(request, 'Replace', { route: body, ...check }, check.check_version !== true);
          return sendRecord(reply, 200, routeRecord(replaced));
        },
        existing(request, source),
      );
    },
  );
  app.delete<WithSource>(
    '/routes/:source',
    route("Remove one of the caller's routes; answers it as it was", {
      params: SOURCE_PARAMS,
      response: { 200: recordResponse(ROUTE_SCHEMA), ...errorResponses(404, 412) },
    }),
    async (request, reply) => {
      const { source } = request.params;
      return withExisting(
        async () => {
          const check = await preconditions(request, source);
          return sendRecord(reply, 200, routeRecord(await call(request, 'Delete', { source, ...check }, false)));
        },
        existing(request, source),
      );
    },
  );
};
