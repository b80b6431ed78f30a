/**
 * What a custom route may be (docs/ROUTING.md "Routes" and "Ownership"): its source a host name
 * outside every other user's zone, its target exactly one of a node id or (administrators only)
 * an http:// or https:// URL, its settings in range. Pure: whether a node is the caller's needs
 * the store and is checked by ./handlers.ts.
 */
import { AgoraError } from '../../lib/errors';
import type { Route__Output } from '../../lib/gen/agora/Route';
import { normalizeHost, zoneProblem } from '../../lib/hosts';
import { cut, nodeIdProblem } from '../../lib/node-names';
import type { RouteMode, RouteRecord } from '../../lib/store/contracts';

/** Where the rules come from: AGORA_PROXY_DOMAIN and AGORA_ADMINS. */
export interface RouteRules {
  domain: string;
  admins: ReadonlySet<string>;
}

export const MODES: readonly RouteMode[] = ['proxy', 'redirect'];
/** Longest target URL. */
export const URL_MAX = 2048;
/** Longest connect or read timeout a route may set, ms (0: the proxy's own). */
export const TIMEOUT_MAX_MS = 600_000;

/** A route's source host in its one form, or AGORA_ERR_ROUTE_INVALID naming why it is none. */
export function sourceOf(text: string): string {
  const normal = normalizeHost(text);
  if ('problem' in normal) throw new AgoraError('AGORA_ERR_ROUTE_INVALID', [`source: ${normal.problem}`]);
  return normal.host;
}

/** Why `text` is not a target URL, or null. */
function urlProblem(text: string): string | null {
  if (text.length > URL_MAX) return `target_url has ${text.length} characters, at most ${URL_MAX} allowed`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `target_url ${cut(text)} is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `target_url ${cut(text)} must start with http:// or https://`;
  if (url.username !== '' || url.password !== '') return 'target_url may not carry a user name or password';
  return null;
}

/** Why the settings are out of range, or null. */
function settingsProblem(route: Route__Output): string | null {
  if (route.mode !== '' && !(MODES as readonly string[]).includes(route.mode))
    return `mode ${cut(route.mode)} must be one of ${MODES.join(', ')}`;
  for (const field of ['connect_timeout_ms', 'read_timeout_ms'] as const)
    if (route[field] > TIMEOUT_MAX_MS) return `${field} is ${route[field]}, at most ${TIMEOUT_MAX_MS} allowed`;
  return null;
}

/** Why the target is not exactly one well-formed node id or URL, or null. */
function targetProblem(route: Route__Output): string | null {
  const node = route.target_node !== '';
  const url = route.target_url !== '';
  if (node === url) return 'give exactly one of target_node (one of your nodes) and target_url';
  return node ? nodeIdProblem(route.target_node) : urlProblem(route.target_url);
}

/**
 * The route `user` asks for, as a record (owner, times; version 0 until the store gives one),
 * or the refusal: AGORA_ERR_ROUTE_INVALID (400) for anything malformed, then
 * AGORA_ERR_ROUTE_FORBIDDEN (403) for a source in another user's zone or the proxy's own
 * domain, or a URL target from a user who is not an administrator.
 */
export function checkRoute(route: Route__Output, user: string, rules: RouteRules, now: number): RouteRecord {
  const source = sourceOf(route.source);
  const problem = targetProblem(route) ?? settingsProblem(route);
  if (problem !== null) throw new AgoraError('AGORA_ERR_ROUTE_INVALID', [problem]);
  const forbidden = zoneProblem(source, user, rules.domain);
  if (forbidden !== null) throw new AgoraError('AGORA_ERR_ROUTE_FORBIDDEN', [forbidden]);
  if (route.target_url !== '' && !rules.admins.has(user))
    throw new AgoraError('AGORA_ERR_ROUTE_FORBIDDEN', [
      'only administrators (AGORA_ADMINS) may route to a URL; route to one of your nodes (target_node)',
    ]);
  return {
    source,
    owner: user,
    targetNode: route.target_node,
    targetUrl: route.target_url,
    mode: route.mode === '' ? 'proxy' : (route.mode as RouteMode),
    enforceHttps: route.enforce_https,
    connectTimeoutMs: route.connect_timeout_ms,
    readTimeoutMs: route.read_timeout_ms,
    createdAt: now,
    updatedAt: now,
    version: 0,
  };
}
