/**
 * Every status a route can answer is in the OpenAPI document. A route's schema lists what its
 * handler answers (its successes and errorResponses, v1/scope.ts); what a hook answers is
 * added here by the hook itself, for every route it applies to, as routes are registered:
 * `documentStatuses(app, (route) => [429])` in the rate limit, `[503]` in load shedding,
 * `[410]` in the end of service, `[304]` on conditional reads and `[411]` on writes in the /v1
 * scope, `[401]` where authentication runs. The routes of the legacy messaging API are left
 * as they are (every answer is HTTP 200), and so are hidden routes.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

/** The response of an error status: the Cliquet body. */
export const ERROR_RESPONSE = { $ref: 'CliquetError#', description: 'The Cliquet error body (docs/ERRORS.md).' };

/** A 304: no body. */
const NOT_MODIFIED = { type: 'null', description: 'Not Modified: If-None-Match names the current ETag.' } as const;

/** The statuses a hook answers on `route`. */
export type StatusesOf = (route: RouteOptions) => readonly number[];

/** Add what `statuses` says to the responses of every route registered from now on in `app` and its children. */
export function documentStatuses(app: FastifyInstance, statuses: StatusesOf): void {
  app.addHook('onRoute', (route) => addStatuses(route, statuses(route)));
}

/** Add `statuses` to a route's responses (a status it lists already keeps its own). */
export function addStatuses(route: RouteOptions, statuses: readonly number[]): void {
  const schema = route.schema as ({ hide?: boolean; response?: Record<string, unknown> } & object) | undefined;
  if (statuses.length === 0 || schema === undefined || schema.hide === true) return;
  if (route.config?.surface === 'legacy') return;
  // A route that declared no response answers 200 with whatever its handler sends (as the generator says then).
  const response: Record<string, unknown> = { ...(schema.response ?? { 200: { description: 'Default Response' } }) };
  for (const status of statuses)
    if (!(status in response)) response[status] = status === 304 ? NOT_MODIFIED : ERROR_RESPONSE;
  // A new schema object: schemas may be shared by several routes (a path and its alias).
  route.schema = { ...schema, response };
}

/** Whether a route answers `method` (routes may list several). */
export function answersMethod(route: RouteOptions, method: string): boolean {
  return (Array.isArray(route.method) ? route.method : [route.method]).includes(method);
}

/** The request headers a route's schema declares (lower case). */
export function declaredHeaders(route: RouteOptions): string[] {
  const headers = (route.schema as { headers?: { properties?: Record<string, unknown> } } | undefined)?.headers;
  return Object.keys(headers?.properties ?? {});
}
