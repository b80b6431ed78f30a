/**
 * The proxy's route table: what each public host name leads to. It lives in memory and is
 * the only thing a request reads on its way through (docs/ARCHITECTURE.md "Slow hops off
 * the hot path"); whoever owns the routes feeds it with `replaceAll`, `upsert`, `delete`
 * and `setNode`. Hosts are matched lower-cased, without their port.
 *
 * A route, as it travels (JSON, snake_case like the /v1 protocol):
 *   {"source": "web.ann.nodes.localhost",
 *    "target": {"node": {"id": "3dde…", "status": "ACTIVE", "host": "127.0.0.1", "port": 38991}}
 *              | {"url": "http://backend.example:8080/prefix"},
 *    "mode": "proxy" | "redirect", "enforce_https": false,
 *    "connect_timeout_ms": 5000, "read_timeout_ms": 60000}
 * `mode`, `enforce_https` and the timeouts may be left out (proxy, false, the configured defaults).
 */
import { AgoraError } from '../../lib/errors';
import { nodeIdProblem } from '../../lib/node-names';

/** Node states of docs/COMPUTE.md "Node states (compute)". */
export type NodeStatus = 'BUILDING' | 'ACTIVE' | 'STOPPED' | 'ERROR' | 'DELETING';

export interface NodeRef {
  id: string;
  status: NodeStatus;
  /** Where the node listens while ACTIVE; empty and 0 otherwise. */
  host: string;
  port: number;
}

export type RouteTarget = { node: NodeRef } | { url: string };

export type RouteMode = 'proxy' | 'redirect';

/** One route as the table is fed it. */
export interface RouteEntry {
  source: string;
  target: RouteTarget;
  mode?: RouteMode;
  enforce_https?: boolean;
  connect_timeout_ms?: number;
  read_timeout_ms?: number;
}

/** A node as routes see it: one object per node id, shared by every route to that node. */
export interface NodeState {
  readonly id: string;
  status: NodeStatus;
  host: string;
  port: number;
  /** How many routes lead to it. */
  routes: number;
}

/** A plain http:// target (admins' routes). */
export interface UrlTarget {
  host: string;
  port: number;
  /** The Host header sent to it: the URL's `host[:port]`. */
  authority: string;
  /** Path prepended to each request's path ('' for none; never ends with `/`). */
  prefix: string;
  /** `http://authority` + prefix, for redirects. */
  base: string;
}

/** A route as the proxy reads it. */
export interface Route {
  readonly source: string;
  readonly mode: RouteMode;
  readonly enforceHttps: boolean;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly node: NodeState | undefined;
  readonly url: UrlTarget | undefined;
  /** The entry it was made from. */
  readonly entry: RouteEntry;
}

export interface RouteDefaults {
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

const STATUSES: ReadonlySet<string> = new Set(['BUILDING', 'ACTIVE', 'STOPPED', 'ERROR', 'DELETING']);
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const TIMEOUT_MAX_MS = 3_600_000;

/** A Host header's host: lower-cased, without its port or a final dot (`[::1]:80` → `[::1]`). */
export function normalizeHost(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return (end < 0 ? host : host.slice(0, end + 1)).toLowerCase();
  }
  const colon = host.indexOf(':');
  let h = colon < 0 ? host : host.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

function invalid(why: string): AgoraError {
  return new AgoraError('AGORA_ERR_PROXY_INVALID_ROUTE', [why]);
}

function timeout(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > TIMEOUT_MAX_MS)
    throw invalid(`${field} must be an integer from 1 to ${TIMEOUT_MAX_MS}`);
  return value as number;
}

/** Check a node target; answers a copy. */
function checkNode(node: unknown): NodeRef {
  const n = (node ?? {}) as Partial<Record<keyof NodeRef, unknown>>;
  const idProblem = nodeIdProblem(n.id);
  if (idProblem !== null) throw invalid(`target.node: ${idProblem}`);
  if (typeof n.status !== 'string' || !STATUSES.has(n.status))
    throw invalid(`target.node.status must be one of ${[...STATUSES].join(', ')}`);
  const host = n.host ?? '';
  const port = n.port ?? 0;
  if (typeof host !== 'string' || !Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535)
    throw invalid('target.node needs a host (string) and a port (0 to 65535)');
  if (n.status === 'ACTIVE' && (host === '' || port === 0))
    throw invalid('target.node is ACTIVE but has no host and port');
  return { id: n.id as string, status: n.status as NodeStatus, host, port: port as number };
}

/** Parse an http:// target URL: host, optional port and path prefix; no credentials, query or fragment. */
export function parseTargetUrl(raw: unknown): UrlTarget {
  if (typeof raw !== 'string' || !/^http:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/i.test(raw))
    throw invalid('target.url must be an http:// URL without credentials, query or fragment');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`target.url ${JSON.stringify(raw)} is not a URL`);
  }
  const port = url.port === '' ? 80 : Number(url.port);
  const prefix = url.pathname.replace(/\/+$/, '');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port, authority: url.host, prefix, base: `http://${url.host}${prefix}` };
}

/** Check an entry as it came (from JSON); throws AGORA_ERR_PROXY_INVALID_ROUTE naming the fault. */
export function checkEntry(value: unknown): RouteEntry {
  if (value === null || typeof value !== 'object') throw invalid('a route must be an object');
  const e = value as Record<string, unknown>;
  const source = typeof e.source === 'string' ? normalizeHost(e.source) : '';
  if (!HOST_NAME.test(source) && !/^\[[0-9a-f:.]+\]$/.test(source))
    throw invalid(`source must be a host name, got ${JSON.stringify(e.source)}`);
  const target = (e.target ?? {}) as Record<string, unknown>;
  let checked: RouteTarget;
  if (target.node !== undefined && target.url === undefined) checked = { node: checkNode(target.node) };
  else if (target.url !== undefined && target.node === undefined) checked = { url: parseTargetUrl(target.url).base };
  else throw invalid('target must be {"node": {…}} or {"url": "http://…"}');
  if (e.mode !== undefined && e.mode !== 'proxy' && e.mode !== 'redirect')
    throw invalid('mode must be "proxy" or "redirect"');
  if (e.enforce_https !== undefined && typeof e.enforce_https !== 'boolean')
    throw invalid('enforce_https must be true or false');
  const entry: RouteEntry = {
    source,
    target: checked,
    mode: e.mode ?? 'proxy',
    enforce_https: e.enforce_https ?? false,
  };
  if (e.connect_timeout_ms !== undefined)
    entry.connect_timeout_ms = timeout(e.connect_timeout_ms, 'connect_timeout_ms', 0);
  if (e.read_timeout_ms !== undefined) entry.read_timeout_ms = timeout(e.read_timeout_ms, 'read_timeout_ms', 0);
  return entry;
}

/** The in-memory table. Every write checks its entries first and applies all or nothing. */
export class RouteTable {
  private readonly routes = new Map<string, Route>();
  private readonly nodes = new Map<string, NodeState>();

  constructor(private readonly defaults: RouteDefaults) {}

  /** The route of a Host header value, if any. */
  lookup(host: string | undefined): Route | undefined {
    return host === undefined ? undefined : this.routes.get(normalizeHost(host));
  }

  /** Replace the whole table (a fresh load). */
  replaceAll(entries: readonly unknown[]): void {
    const checked = entries.map(checkEntry);
    this.routes.clear();
    this.nodes.clear();
    for (const entry of checked) {
      this.remove(entry.source); // a source listed twice: the last one stands
      this.put(entry);
    }
  }

  /** Add a route, or replace the one of the same source. */
  upsert(entry: unknown): Route {
    const checked = checkEntry(entry);
    this.remove(checked.source);
    return this.put(checked);
  }

  /** Remove the route of `source`; whether there was one. */
  delete(source: string): boolean {
    return this.remove(normalizeHost(source));
  }

  /** A node's new state, for every route to it (a wake, a move); whether any route leads to it. */
  setNode(id: string, change: { status: NodeStatus; host?: string; port?: number }): boolean {
    const node = this.nodes.get(id);
    if (node === undefined) return false;
    node.status = change.status;
    node.host = change.host ?? node.host;
    node.port = change.port ?? node.port;
    return true;
  }

  /** The shared state of node `id`, if a route leads to it. */
  node(id: string): Readonly<NodeState> | undefined {
    return this.nodes.get(id);
  }

  get size(): number {
    return this.routes.size;
  }

  /** Every route's entry, its node's current state included. */
  entries(): RouteEntry[] {
    return [...this.routes.values()].map((r) =>
      r.node === undefined
        ? r.entry
        : {
            ...r.entry,
            target: { node: { id: r.node.id, status: r.node.status, host: r.node.host, port: r.node.port } },
          },
    );
  }

  private put(entry: RouteEntry): Route {
    let node: NodeState | undefined;
    let url: UrlTarget | undefined;
    if ('node' in entry.target) {
      const ref = entry.target.node;
      node = this.nodes.get(ref.id);
      if (node === undefined) {
        node = { id: ref.id, status: ref.status, host: ref.host, port: ref.port, routes: 0 };
        this.nodes.set(ref.id, node);
      } else {
        // The newest entry carries the newest news of its node.
        Object.assign(node, { status: ref.status, host: ref.host, port: ref.port });
      }
      node.routes++;
    } else {
      url = parseTargetUrl(entry.target.url);
    }
    const route: Route = {
      source: entry.source,
      mode: entry.mode ?? 'proxy',
      enforceHttps: entry.enforce_https ?? false,
      connectTimeoutMs: entry.connect_timeout_ms ?? this.defaults.connectTimeoutMs,
      readTimeoutMs: entry.read_timeout_ms ?? this.defaults.readTimeoutMs,
      node,
      url,
      entry,
    };
    this.routes.set(entry.source, route);
    return route;
  }

  private remove(source: string): boolean {
    const old = this.routes.get(source);
    if (old === undefined) return false;
    this.routes.delete(source);
    if (old.node !== undefined && --old.node.routes === 0) this.nodes.delete(old.node.id);
    return true;
  }
}
