/**
 * The proxy's table kept in step with the Routes service (docs/ROUTING.md "The proxy"): the
 * custom routes, and every node's implicit host `<name>.<owner's label>.<AGORA_PROXY_DOMAIN>`
 * (lib/hosts.ts `nodeHost`). At the Watch stream's hello and at every `reload` (Routes started
 * again, its store reconnected, or the stream was reopened) the whole table is loaded again;
 * the changes that arrive while it loads are applied after it, in order, so none is lost. A
 * change older than what the table holds (a route's or a node's version) is ignored. Where a
 * custom route and a node's implicit host name the same host, the custom route wins.
 */
import { errorMessage } from '../../lib/errors';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { Route__Output } from '../../lib/gen/agora/Route';
import type { RouteChange__Output } from '../../lib/gen/agora/RouteChange';
import type { RouteTable__Output } from '../../lib/gen/agora/RouteTable';
import { nodeHost } from '../../lib/hosts';
import type { Logger } from '../../lib/log';
import type { RouteWatch, RouteWatchHandlers } from '../../lib/routes-client';
import { checkEntry, normalizeHost, type NodeRef, type NodeStatus, type RouteEntry, type RouteTable } from './routes';
import { canWrite, principalsOf, targetWriters } from '../../lib/permissions';

/** What the follower needs of Routes (lib/routes-client.ts `RoutesClient` is one). */
export interface RoutesFeed {
  table(): Promise<RouteTable__Output>;
  watch(handlers: RouteWatchHandlers): RouteWatch;
}

export interface FollowOptions {
  routes: RoutesFeed;
  table: RouteTable;
  /** AGORA_PROXY_DOMAIN: the implicit hosts' domain. */
  domain: string;
  log: Logger;
  /** Told after every load and change (tests, the ready line). */
  onUpdate?: () => void;
  /** Wait before loading again after a failed load (default 500 ms). */
  retryMs?: number;
}

export class RouteFollower {
  private readonly routes = new Map<string, Route__Output>();
  private readonly nodes = new Map<string, NodeTarget__Output>();
  /** Implicit host → node id. */
  private readonly implicit = new Map<string, string>();
  /** Node id → the sources of the custom routes to it. */
  private readonly byNode = new Map<string, Set<string>>();
  /** Changes that arrived while a load is under way; undefined when none is. */
  private pending: RouteChange__Output[] | undefined;
  private loads = 0;
  private watch: RouteWatch | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private loadedOnce: Promise<void>;
  /** The stream is down and this outage has been told once (the next drops go to debug). */
  private downTold = false;
  private loaded = false;
  private markLoaded: () => void = () => undefined;

  constructor(private readonly options: FollowOptions) {
    this.loadedOnce = new Promise((resolve) => (this.markLoaded = resolve));
  }

  /** Open the Watch stream; resolves once the first table is loaded. */
  start(): Promise<void> {
    this.watch = this.options.routes.watch({
      onReload: () => this.reload(),
      onChange: (change) => (this.pending !== undefined ? this.pending.push(change) : this.apply(change)),
      onDown: (err) => this.down(err),
    });
    return this.loadedOnce;
  }

  /**
   * The Watch stream dropped and is being reopened: one line per outage, not one per attempt. Before
   * the first table, Routes is most likely still starting (it may start after the proxy): say so.
   */
  private down(err: Error | undefined): void {
    const detail = err?.message ?? 'ended';
    if (this.downTold) this.options.log.debug({ detail }, 'route stream down; reopening');
    else if (!this.loaded) this.options.log.info('waiting for Routes');
    else this.options.log.warn({ detail }, 'route stream down; reopening');
    this.downTold = true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.watch?.close();
  }

  /** Custom routes and nodes held now. */
  get counts(): { routes: number; nodes: number } {
    return { routes: this.routes.size, nodes: this.nodes.size };
  }

  private reload(): void {
    const load = ++this.loads;
    this.pending ??= [];
    clearTimeout(this.retry);
    this.options.routes.table().then(
      (table) => {
        if (load !== this.loads || this.closed) return;
        this.replace(table);
        const changes = this.pending ?? [];
        this.pending = undefined;
        for (const change of changes) this.apply(change);
        if (this.downTold && this.loaded) this.options.log.info('following Routes again');
        this.downTold = false;
        this.loaded = true;
        this.markLoaded();
        this.options.onUpdate?.();
      },
      (e: unknown) => {
        if (load !== this.loads || this.closed) return;
        this.options.log.warn({ detail: errorMessage(e) }, 'route table not loaded; trying again');
        this.retry = setTimeout(() => this.reload(), this.options.retryMs ?? 500);
        this.retry.unref();
      },
    );
  }

  /** A fresh table: everything held is replaced. */
  private replace(table: RouteTable__Output): void {
    this.routes.clear();
    this.nodes.clear();
    this.implicit.clear();
    this.byNode.clear();
    for (const node of table.nodes) this.setNode(node);
    for (const route of table.routes) this.setRoute(route);
    const entries: RouteEntry[] = [];
    for (const host of new Set([...this.implicit.keys(), ...this.routes.keys()])) {
      const entry = this.entryOf(host);
      if (entry !== undefined) entries.push(entry);
    }
    this.options.table.replaceAll(entries);
  }

  private apply(change: RouteChange__Output): void {
    if (change.route) {
      const old = this.routes.get(change.route.source);
      if (old !== undefined && change.route.version < old.version) return;
      this.setRoute(change.route);
      this.refresh(change.route.source);
    } else if (change.route_deleted) {
      const old = this.routes.get(change.route_deleted);
      if (old !== undefined) {
        this.routes.delete(old.source);
        if (old.target_node !== '') this.byNode.get(old.target_node)?.delete(old.source);
      }
      this.refresh(change.route_deleted);
    } else if (change.node) {
      const old = this.nodes.get(change.node.id);
      if (old !== undefined && old.epoch === change.node.epoch && change.node.version < old.version) return;
      const oldHost = old === undefined ? undefined : this.hostOf(old);
      this.setNode(change.node);
      this.refreshNode(change.node.id, oldHost);
    } else if (change.node_deleted) {
      const old = this.nodes.get(change.node_deleted);
      if (old === undefined) return;
      this.nodes.delete(old.id);
      const host = this.hostOf(old);
      if (host !== undefined && this.implicit.get(host) === old.id) this.implicit.delete(host);
      this.refreshNode(old.id, host);
    } else return;
    this.options.onUpdate?.();
  }

  private setRoute(route: Route__Output): void {
    const old = this.routes.get(route.source);
    if (old !== undefined && old.target_node !== '') this.byNode.get(old.target_node)?.delete(old.source);
    this.routes.set(route.source, route);
    if (route.target_node !== '') {
      let sources = this.byNode.get(route.target_node);
      if (sources === undefined) this.byNode.set(route.target_node, (sources = new Set()));
      sources.add(route.source);
    }
  }

  private setNode(node: NodeTarget__Output): void {
    const old = this.nodes.get(node.id);
    const oldHost = old === undefined ? undefined : this.hostOf(old);
    if (oldHost !== undefined && this.implicit.get(oldHost) === node.id) this.implicit.delete(oldHost);
    this.nodes.set(node.id, node);
    const host = this.hostOf(node);
    if (host !== undefined) this.implicit.set(host, node.id);
  }

  /** Every host that leads to node `id` (and its former implicit host), written again. */
  private refreshNode(id: string, oldHost: string | undefined): void {
    const node = this.nodes.get(id);
    const hosts = new Set(this.byNode.get(id) ?? []);
    if (oldHost !== undefined) hosts.add(oldHost);
    const host = node === undefined ? undefined : this.hostOf(node);
    if (host !== undefined) hosts.add(host);
    for (const h of hosts) this.refresh(h);
  }

  /** Write host `source` into the table as it now stands (or remove it). */
  private refresh(source: string): void {
    const entry = this.entryOf(source);
    if (entry === undefined) {
      this.options.table.delete(source);
      return;
    }
    try {
      this.options.table.upsert(entry);
    } catch (e) {
      this.options.table.delete(source);
      this.options.log.warn({ source, detail: errorMessage(e) }, 'route not served');
    }
  }

  /**
   * Whether `route` may lead where it does: a URL (Routes allowed it), a node Routes does not know
   * (it answers 503), or a node its owner may still write (docs/ROUTING.md "Ownership").
   */
  private allowed(route: Route__Output): boolean {
    const node = route.target_node === '' ? undefined : this.nodes.get(route.target_node);
    if (node === undefined) return true;
    return canWrite({ read: [], write: targetWriters(node.write, node.owner) }, principalsOf(route.owner));
  }

  /**
   * The table entry of `host`: its custom route, else the node it is the implicit host of. A
   * route to a node its owner may no longer write is left out, as if it were not there.
   */
  private entryOf(host: string): RouteEntry | undefined {
    const route = this.routes.get(host);
    if (route !== undefined && this.allowed(route)) {
      const entry: Record<string, unknown> = {
        source: route.source,
        target: route.target_node !== '' ? { node: this.refOf(route.target_node) } : { url: route.target_url },
        mode: route.mode || 'proxy',
        enforce_https: route.enforce_https,
      };
      if (route.connect_timeout_ms > 0) entry.connect_timeout_ms = route.connect_timeout_ms;
      if (route.read_timeout_ms > 0) entry.read_timeout_ms = route.read_timeout_ms;
      return this.checked(entry);
    }
    const id = this.implicit.get(host);
    if (id === undefined) return undefined;
    return this.checked({ source: host, target: { node: this.refOf(id) } });
  }

  private checked(entry: Record<string, unknown>): RouteEntry | undefined {
    try {
      return checkEntry(entry);
    } catch (e) {
      this.options.log.warn({ source: entry.source, detail: errorMessage(e) }, 'route not served');
      return undefined;
    }
  }

  /** Where node `id` is; a node Routes does not know (any more) leads nowhere (503). */
  private refOf(id: string): NodeRef {
    const node = this.nodes.get(id);
    if (node === undefined) return { id, status: 'DELETING', host: '', port: 0 };
    return { id, status: node.status as NodeStatus, host: node.host, port: node.port };
  }

  private hostOf(node: NodeTarget__Output): string | undefined {
    const host = nodeHost(node.name, node.owner, this.options.domain);
    return host === undefined ? undefined : normalizeHost(host);
  }
}
