/**
 * Trailing slashes (the Cliquet/Kinto protocol): a path ending in `/` that no route answers (an
 * unknown path, or `/v1/channels/` taken by `/v1/channels/:name` with an empty name) answers
 * 307 to the same path without its trailing slashes, query kept; `/v1` answers 307 to `/v1/`,
 * the API's root. `/` and `/v1/` stay as they are, and so do the legacy messaging API's answers.
 * Registered after the request id, CORS and end-of-service hooks, so that a redirect carries
 * their headers.
 */
import fp from 'fastify-plugin';
import { isLegacy } from '../errors';

/** The API's root, which keeps its slash (`/v1` is redirected to it). */
const V1_ROOT = '/v1/';

/**
 * Where `url` is redirected, or undefined. Leading slashes are folded to one, so that the
 * Location never names another host (`//host/`).
 */
export function withoutTrailingSlash(url: string): string | undefined {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = at < 0 ? '' : url.slice(at);
  if (path === '/v1') return `${V1_ROOT}${query}`;
  if (!path.endsWith('/') || path === '/' || path === V1_ROOT) return undefined;
  const bare = `/${path.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return `${bare}${query}`;
}

/** Whether a route's last segment is a parameter (`/v1/channels/:name`), which an empty value may have matched. */
function endsWithParameter(route: string): boolean {
  return route.charCodeAt(route.lastIndexOf('/') + 1) === 0x3a; // ':'
}

export const trailingSlash = fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      // The path first, the route only for a path that would be redirected: Fastify's routeOptions makes a
      // new object at each read, and almost no path ends with a slash.
      const location = withoutTrailingSlash(request.url);
      if (location === undefined) return done();
      const route = request.routeOptions.url;
      const unanswered = route === undefined || endsWithParameter(route);
      if (!unanswered || isLegacy(request)) return done();
      void reply.code(307).header('location', location).send();
    });
  },
  { name: 'agora-trailing-slash' },
);
