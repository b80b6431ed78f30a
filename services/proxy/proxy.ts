/**
 * The proxy's data plane: an HTTP/1.1 server that answers each request from its in-memory
 * route table (routes.ts) by the Host it names. A route to an ACTIVE node, or to a URL, is
 * forwarded at once (forward.ts) without asking anything of anyone; a STOPPED or BUILDING
 * node is woken through the Waker first (waker.ts), the request held meanwhile, while a
 * browser gets a page that reloads itself. It builds the server and never reads the
 * environment: main.ts does.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgoraError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { rawError, rawRedirect, sendError, sendRedirect, sendWakingPage, wantsPage } from './answers';
import { forward } from './forward';
import { bodyModeOf, forwardedOf, requestHead, requestIdOf, type BodyMode, type Forwarded } from './headers';
import type { NodeState, Route, RouteTable } from './routes';
import { pipeUpgrade } from './upgrade';
import { Upstreams } from './upstream';
import { NO_WAKER, Wakes, type NodeAddress, type Waker } from './waker';

export interface ProxyOptions {
  table: RouteTable;
  /** Wakes STOPPED and BUILDING nodes; without one, their requests get 503 at once. */
  waker?: Waker;
  /** How long a request is held while its node wakes (AGORA_PROXY_WAKE_TIMEOUT_MS). */
  wakeTimeoutMs: number;
  /** Requests held at once for waking nodes (AGORA_PROXY_WAKE_MAX_WAITING). */
  wakeMaxWaiting: number;
  /** Retry-After of a 503 (AGORA_RETRY_AFTER_S). */
  retryAfterS: number;
  /** Believe the client's X-Forwarded-* (AGORA_PROXY_TRUST_FORWARDED). */
  trustForwarded: boolean;
  log: Logger;
  /** Seconds between reloads of the waking page (default 2). */
  wakingRefreshS?: number;
  /** How long an idle keep-alive connection to a target is kept (default 4000 ms). */
  idleTimeoutMs?: number;
  /** Idle connections kept per target (default 256). */
  maxIdlePerTarget?: number;
  /**
   * Told the node id of every request routed to a node (kept cheap: the activity report's
   * set, sent off the request path).
   */
  seen?: (nodeId: string) => void;
}

export interface Proxy {
  readonly server: http.Server;
  readonly table: RouteTable;
  readonly wakes: Wakes;
  readonly upstreams: Upstreams;
  /** Listen on `host:port` (0: any free port); resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  /** Stop accepting, let requests in flight finish, close idle connections to targets. */
  close(): Promise<void>;
}

/** What a request resolves to: a target address, or a failure to answer. */
type Found = { address: NodeAddress } | { error: AgoraError } | { wake: NodeState };

/** Describe a node status for "Node %s is %s". */
const STATUS_WORDS: Readonly<Record<string, string>> = {
  ERROR: 'in ERROR',
  DELETING: 'being deleted',
  STOPPED: 'stopped',
  BUILDING: 'starting',
};

/** Build the proxy (not yet listening). */
export function createProxy(options: ProxyOptions): Proxy {
  return new ProxyServer(options);
}

class ProxyServer implements Proxy {
  readonly server: http.Server;
  readonly table: RouteTable;
  readonly wakes: Wakes;
  readonly upstreams: Upstreams;
  private readonly log: Logger;
  private readonly retryAfterS: number;
  private readonly refreshS: number;

  constructor(private readonly options: ProxyOptions) {
    const { table, log } = options;
    this.table = table;
    this.log = log;
    this.retryAfterS = options.retryAfterS;
    this.refreshS = options.wakingRefreshS ?? 2;
    this.upstreams = new Upstreams({
      idleTimeoutMs: options.idleTimeoutMs ?? 4000,
      maxIdlePerTarget: options.maxIdlePerTarget ?? 256,
    });
    this.wakes = new Wakes({
      waker: options.waker ?? NO_WAKER,
      timeoutMs: options.wakeTimeoutMs,
      maxWaiting: options.wakeMaxWaiting,
      retryAfterS: options.retryAfterS,
      onWoken: (nodeId, address) => {
        table.setNode(nodeId, { status: 'ACTIVE', host: address.host, port: address.port });
        log.info({ node: nodeId, host: address.host, port: address.port }, 'node woken');
      },
      onFailed: (nodeId, err) => log.warn({ node: nodeId, code: err.code, detail: err.message }, 'wake failed'),
    });
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        this.upstreams.close();
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const r = resolveRequest(req, this.table, this.options.trustForwarded);
    if ('error' in r) return this.failed(req, res, r.requestId, r.error);
    if (r.redirect !== undefined) return sendRedirect(res, r.redirect.status, r.redirect.location, r.requestId);
    if (r.route.node !== undefined) this.options.seen?.(r.route.node.id);
    const found = this.find(r.route);
    if ('address' in found) return this.dispatch(req, res, r, found.address);
    if ('error' in found) return this.failed(req, res, r.requestId, found.error);
    if (wantsPage(req.headers.accept)) {
      void this.wakes.start(found.wake.id);
      return sendWakingPage(res, r.route.source, this.refreshS, r.requestId);
    }
    this.wakes.wait(found.wake.id).then(
      (address) => {
        if (!req.socket.destroyed) this.dispatch(req, res, r, address);
      },
      (err: AgoraError) => {
        if (!req.socket.destroyed) this.failed(req, res, r.requestId, err);
      },
    );
  }

  /** Where a route leads now: an address, a node to wake, or an error. */
  private find(route: Route): Found {
    if (route.url !== undefined) return { address: route.url };
    const node = route.node!;
    if (node.status === 'ACTIVE') return { address: node };
    if ((node.status === 'STOPPED' || node.status === 'BUILDING') && this.options.waker !== undefined)
      return { wake: node };
    return { error: unavailable(route.source, node.status) };
  }

  /**
   * Forward (or redirect) to a resolved address. A node that refuses or drops a body-less
   * request unanswered (it was just stopped, or moved) is woken (or found at its new address)
   * and the request sent there, once.
   */
  private dispatch(req: IncomingMessage, res: ServerResponse, r: Resolved, address: NodeAddress, again = false): void {
    const { route, requestId } = r;
    if (route.mode === 'redirect') return sendRedirect(res, 307, redirectBase(route, address) + r.path, requestId);
    const body = bodyModeOf(req);
    const spec = {
      host: address.host,
      port: address.port,
      connectTimeoutMs: route.connectTimeoutMs,
      readTimeoutMs: route.readTimeoutMs,
      head: headOf(req, r, body, false),
      body,
      requestId,
      label: route.source,
      onLost:
        route.node === undefined || again || this.options.waker === undefined
          ? undefined
          : () => this.retryLost(req, res, r, route.node!),
    };
    forward(this.upstreams, req, res, spec, (err) => this.failed(req, res, requestId, err));
  }

  /** The node of a lost request: woken (or found where it moved), then the request sent there. */
  private retryLost(req: IncomingMessage, res: ServerResponse, r: Resolved, node: NodeState): boolean {
    this.log.debug({ reqId: r.requestId, node: node.id }, 'node lost a request; waking it');
    this.wakes.wait(node.id).then(
      (address) => {
        if (!req.socket.destroyed) this.dispatch(req, res, r, address, true);
      },
      (err: AgoraError) => {
        if (!req.socket.destroyed) this.failed(req, res, r.requestId, err);
      },
    );
    return true;
  }

  private failed(req: IncomingMessage, res: ServerResponse, requestId: string, err: AgoraError): void {
    const line = { reqId: requestId, host: req.headers.host, code: err.code, detail: err.message };
    if (err.status >= 500) this.log.warn(line, 'proxy answered an error');
    else this.log.debug(line, 'proxy answered an error');
    sendError(res, err, requestId, this.retryAfterS);
  }

  /** An upgrade (WebSocket): the same routing, then the two sockets piped together. */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const r = resolveRequest(req, this.table, this.options.trustForwarded);
    const refuse = (err: AgoraError): void => void socket.end(rawError(err, r.requestId, this.retryAfterS));
    if ('error' in r) return refuse(r.error);
    if (r.route.node !== undefined) this.options.seen?.(r.route.node.id);
    if (r.redirect !== undefined)
      return void socket.end(rawRedirect(r.redirect.status, r.redirect.location, r.requestId));
    const connect = (address: NodeAddress): void => {
      if (r.route.mode === 'redirect')
        return void socket.end(rawRedirect(307, redirectBase(r.route, address) + r.path, r.requestId));
      pipeUpgrade(socket, head, {
        host: address.host,
        port: address.port,
        connectTimeoutMs: r.route.connectTimeoutMs,
        readTimeoutMs: r.route.readTimeoutMs,
        head: headOf(req, r, 'none', true),
        requestId: r.requestId,
        label: r.route.source,
        retryAfterS: this.retryAfterS,
      });
    };
    const found = this.find(r.route);
    if ('address' in found) return connect(found.address);
    if ('error' in found) return refuse(found.error);
    this.wakes.wait(found.wake.id).then(connect, refuse);
  }
}

/** The request head for the route's target: a URL target gets its own Host and path prefix. */
function headOf(req: IncomingMessage, r: Resolved, body: BodyMode, upgrade: boolean): string {
  const url = r.route.url;
  return requestHead(req, {
    path: url === undefined ? r.path : url.prefix + r.path,
    host: url === undefined ? r.host : url.authority,
    forwarded: r.forwarded,
    requestId: r.requestId,
    body,
    upgrade,
  });
}

function unavailable(source: string, status: string): AgoraError {
  return new AgoraError('AGORA_ERR_PROXY_NODE_UNAVAILABLE', [source, STATUS_WORDS[status] ?? status]);
}

/** Where a `redirect` route sends clients: its URL, or its node's address. */
function redirectBase(route: Route, a: NodeAddress): string {
  if (route.url !== undefined) return route.url.base;
  return a.host.includes(':') ? `http://[${a.host}]:${a.port}` : `http://${a.host}:${a.port}`;
}

/** A request read against the table. */
interface Resolved {
  requestId: string;
  route: Route;
  /** The Host the client asked for (sent on to node targets). */
  host: string;
  /** The request target to forward (origin-form). */
  path: string;
  forwarded: Forwarded;
  /** http to be redirected to https (enforce_https). */
  redirect?: { status: number; location: string };
}

function resolveRequest(
  req: IncomingMessage,
  table: RouteTable,
  trust: boolean,
): Resolved | { requestId: string; error: AgoraError } {
  const requestId = requestIdOf(req);
  let host = req.headers.host;
  let path = req.url ?? '/';
  if (path.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 §3.2.2): its authority is the host asked for.
    const m = /^https?:\/\/([^/?#]+)([^#]*)/i.exec(path);
    if (m !== null) {
      host = m[1];
      path = m[2] === '' ? '/' : m[2];
    }
  }
  const route = table.lookup(host);
  if (route === undefined) {
    const shown = JSON.stringify((host ?? '').slice(0, 100));
    return { requestId, error: new AgoraError('AGORA_ERR_PROXY_UNKNOWN_HOST', [shown]) };
  }
  const forwarded = forwardedOf(req, trust);
  const resolved: Resolved = { requestId, route, host: host ?? route.source, path, forwarded };
  if (route.enforceHttps && forwarded.proto !== 'https') {
    // 301 for GET and HEAD, as browsers expect; 308 keeps any other method and its body.
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    resolved.redirect = { status, location: `https://${route.source}${path}` };
  }
  return resolved;
}
