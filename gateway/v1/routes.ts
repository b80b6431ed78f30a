/**
 * `/v1/routes` (docs/ROUTING.md "Routes"): the caller's custom routes, each route one call to
 * the `Routes` service with a deadline, in the /v1 protocol every resource shares (v1/scope.ts):
 * the list filtered, sorted and paged (v1/listing.ts), an ETag on every answer (a route's
 * version; the list's), `If-None-Match` → 304 on reads, `If-Match` handed to Routes, which
 * compares it as it writes (v1/conditional.ts). Whether a host may be routed, the node the
 * caller's, the caller an administrator, is Routes' to say.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ifMatchVersion, notModified, versionCheck, versionTag, writeVersion } from './conditional';
import { answerList, listQuerySchema, listResponse, type ListSpec } from './listing';
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
    version: { type: 'integer', description: 'bumped by every change of the route; its ETag is this number, quoted' },
  },
} as const;

const SOURCE_PARAMS = { type: 'object', required: ['source'], properties: { source: SOURCE } } as const;

/** What `GET /v1/routes` filters and sorts on; `_since`/`_before` compare `updated_at`. */
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
  },
  id: 'source',
  defaultSort: ['created_at'],
  since: 'updated_at',
};

export const routeRoutes: FastifyPluginAsync<V1Options> = async (app, options) => {
  v1Scope(app);
  const call = (request: FastifyRequest, method: string, params: Body, idempotent: boolean): Promise<Body> =>
    callBus(options, request, 'Routes', method, { ...params, sesskey: request.sesskey }, idempotent);
  /** The caller's routes and the version of that list (its ETag), read together. */
  const list = async (request: FastifyRequest): Promise<{ routes: Body[]; version: number }> => {
    const reply = await call(request, 'List', {}, true);
    return { routes: Array.isArray(reply.routes) ? (reply.routes as Body[]) : [], version: Number(reply.version) };
  };
  /** The compare-and-write fields of a write to the route of `source`: Routes compares as it writes. */
  const preconditions = async (request: FastifyRequest, source: string): Promise<Body> =>
    versionCheck(
      await writeVersion(request, async () => Number((await call(request, 'Get', { source }, true)).version)),
    );
  const tagOf = (route: Body): string => versionTag(Number(route.version));
  const route = (summary: string, extra: Record<string, unknown>) => ({
    ...sessionRoute('routes', { summary, ...extra }),
    config: { service: 'Routes' },
  });
  type WithSource = { Params: { source: string } };

  app.post(
    '/routes',
    route('Route a host to one of your nodes (or, administrators, to a URL); 409 when the host is routed', {
      body: CREATE_BODY,
      response: { 201: ROUTE_SCHEMA, ...errorResponses(403, 404, 409, 412, 413, 415) },
    }),
    async (request, reply) => {
      // If-Match names a version of the caller's list, which Routes compares as it inserts.
      const expected = await ifMatchVersion(request, async () => (await list(request)).version);
      const made = await call(request, 'Create', { route: request.body, ...versionCheck(expected) }, false);
      return reply
        .code(201)
        .header('location', `/v1/routes/${String(made.source)}`)
        .header('etag', tagOf(made))
        .send(made);
    },
  );
  app.get(
    '/routes',
    route("The caller's routes (oldest first unless sorted), filtered and paged like every /v1 list", {
      querystring: listQuerySchema(ROUTES_LIST, options.pageMaxRecords),
      response: { 200: listResponse(ROUTE_SCHEMA), ...errorResponses() },
    }),
    async (request, reply) => {
      const { routes, version } = await list(request);
      return answerList(request, reply, routes, ROUTES_LIST, options.pageMaxRecords, versionTag(version));
    },
  );
  app.get<WithSource>(
    '/routes/:source',
    route("One of the caller's routes", {
      params: SOURCE_PARAMS,
      response: { 200: ROUTE_SCHEMA, ...errorResponses(404) },
    }),
    async (request, reply) => {
      const found = await call(request, 'Get', { source: request.params.source }, true);
      if (notModified(request, reply, tagOf(found))) return reply;
      return found;
    },
  );
  app.put<WithSource>(
    '/routes/:source',
    route("Replace the target and settings of one of the caller's routes (404 when there is none)", {
      params: SOURCE_PARAMS,
      body: PUT_BODY,
      response: { 200: ROUTE_SCHEMA, ...errorResponses(403, 404, 412, 413, 415) },
    }),
    async (request, reply) => {
      const { source } = request.params;
      const check = await preconditions(request, source);
      const body = { ...(request.body as Body), source };
      const replaced = await call(request, 'Replace', { route: body, ...check }, check.check_version !== true);
      return reply.header('etag', tagOf(replaced)).send(replaced);
    },
  );
  app.delete<WithSource>(
    '/routes/:source',
    route("Remove one of the caller's routes; answers it as it was", {
      params: SOURCE_PARAMS,
      response: { 200: ROUTE_SCHEMA, ...errorResponses(404, 412) },
    }),
    async (request, reply) => {
      const check = await preconditions(request, request.params.source);
      const gone = await call(request, 'Delete', { source: request.params.source, ...check }, false);
      return reply.header('etag', tagOf(gone)).send(gone);
    },
  );
};
