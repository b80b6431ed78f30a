/**
 * The routes service (docs/ROUTING.md): handlers for proto service `Routes`, served on the bus
 * and on gRPC by lib/rpc, plus the gRPC-only `Watch` stream (./watch.ts) fed by ./relay.ts.
 * The user methods resolve the caller's session and keep the rules of ./rules.ts; a route to a
 * node needs the caller to hold write on the node (lib/permissions.ts), as compute last said
 * (SyncNode). State is reached only through the RouteStore contract. This file reads no
 * environment and listens on nothing.
 */
import { staleError } from '../../lib/etag';
import { AgoraError } from '../../lib/errors';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { Route } from '../../lib/gen/agora/Route';
import type { RouteChange as WireChange } from '../../lib/gen/agora/RouteChange';
import type { Route__Output } from '../../lib/gen/agora/Route';
import type { RoutesDefinition } from '../../lib/gen/agora/Routes';
import type { Logger } from '../../lib/log';
import { cut, nodeIdProblem } from '../../lib/node-names';
import { canWrite, principalsOf } from '../../lib/permissions';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import { nodeTarget, type RouteChange, type RouteRecord, type RouteStore } from '../../lib/store/contracts';
import { ChangeRelay } from './relay';
import { checkRoute, sourceOf, type RouteRules } from './rules';
import { RouteWatchHub, type WatchCall } from './watch';

export interface RoutesDeps {
  store: RouteStore;
  sessions: SessionResolver;
  rules: RouteRules;
  log: Logger;
  /** Wall clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /** How long a deleted route is listed as a tombstone (AGORA_TOMBSTONE_TTL_S); default a day. */
  tombstoneTtlMs?: number;
}

/** How often the tombstones past their time are forgotten, at most (on a list or a delete). */
const PRUNE_EVERY_MS = 60_000;

/** The statuses compute gives a node (proto/compute.proto `Node.status`). */
const STATUSES = new Set(['BUILDING', 'ACTIVE', 'STOPPED', 'DELETING', 'ERROR']);

/** The wire form of a route. */
export function routeOf(record: RouteRecord): Route {
  return {
    source: record.source,
    owner: record.owner,
    target_node: record.targetNode,
    target_url: record.targetUrl,
    mode: record.mode,
    enforce_https: record.enforceHttps,
    connect_timeout_ms: record.connectTimeoutMs,
    read_timeout_ms: record.readTimeoutMs,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    version: record.version,
  };
}

/** The wire form of a store change, as Watch sends it. */
export function changeOf(change: RouteChange): WireChange {
  switch (change.kind) {
    case 'route':
      return { route: routeOf(change.route) };
    case 'route_deleted':
      return { route_deleted: change.source };
    case 'node':
      return { node: nodeTarget(change.node) };
    case 'node_deleted':
      return { node_deleted: change.id };
  }
}

/** The unary handlers (Watch, a stream, is served from `grpcOnly`, as auth's is). */
type UnaryHandlers = Omit<Implementation<RoutesDefinition>, 'Watch'>;

/** The version a write names for its compare-and-write, if any. */
function expected(request: { check_version: boolean; expected_version: number }): number | undefined {
  return request.check_version ? request.expected_version : undefined;
}

/** A source host named in a read or a delete: one that is no host names no route. */
function namedSource(text: string): string {
  try {
    return sourceOf(text);
  } catch {
    throw new AgoraError('AGORA_ERR_ROUTE_NOT_FOUND', [cut(text)]);
  }
}

/** Why a NodeTarget from compute is malformed, or null. */
function targetProblem(t: NodeTarget__Output): string | null {
  return nodeIdProblem(t.id) ?? (STATUSES.has(t.status) ? null : `status ${cut(t.status)} is not a node status`);
}

export function buildRoutesHandlers(deps: RoutesDeps): UnaryHandlers {
  const { store, rules } = deps;
  const now = deps.now ?? Date.now;
  const ttlMs = deps.tombstoneTtlMs ?? 86_400_000;
  let prunedAt = 0;
  /** Forget the tombstones past their time, at most every PRUNE_EVERY_MS; a failure is only logged. */
  const prune = async (ctx: RpcContext): Promise<void> => {
    if (now() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now();
    await store.pruneTombstones(prunedAt - ttlMs).catch((err: unknown) => {
      ctx.log.warn({ err }, 'route tombstones not pruned');
    });
  };
  const user = (sesskey: number, ctx: RpcContext): Promise<string> => deps.sessions.resolve(sesskey, ctx);
  /**
   * The route asked for, checked; the caller must hold write on a node target (docs/ROUTING.md
   * "Ownership"): any other node is as absent.
   */
  const wanted = async (route: Route__Output | null, owner: string): Promise<RouteRecord> => {
    const record = checkRoute(route ?? emptyRoute(), owner, rules, now());
    if (record.targetNode === '') return record;
    const target = await store.node(record.targetNode);
    if (target === undefined || !canWrite({ read: [], write: target.write }, principalsOf(owner)))
      throw new AgoraError('AGORA_ERR_ROUTE_NODE_NOT_FOUND', [cut(record.targetNode)]);
    return record;
  };
  return {
    List: async (request, ctx) => {
      const { routes, deleted, version } = await store.owned(await user(request.sesskey, ctx));
      await prune(ctx);
      const since = now() - ttlMs;
      return {
        routes: routes.map(routeOf),
        version,
        deleted: deleted
          .filter((t) => t.lastModified >= since)
          .map((t) => ({ source: t.source, last_modified: t.lastModified })),
      };
    },
    Get: async (request, ctx) => {
      const owner = await user(request.sesskey, ctx);
      const route = await store.get(namedSource(request.source));
      if (route === undefined || route.owner !== owner)
        throw new AgoraError('AGORA_ERR_ROUTE_NOT_FOUND', [cut(request.source)]);
      return routeOf(route);
    },
    Create: async (request, ctx) => {
      const owner = await user(request.sesskey, ctx);
      const record = await wanted(request.route, owner);
      const written = await store.create(record, expected(request));
      if (!written.done && written.reason === 'stale')
        throw staleError('AGORA_ERR_ROUTE_LIST_STALE', [request.expected_version], written.version);
      if (!written.done) throw new AgoraError('AGORA_ERR_ROUTE_EXISTS', [cut(record.source)]);
      ctx.log.info({ source: record.source, owner }, 'route created');
      return routeOf(written.route);
    },
    Replace: async (request, ctx) => {
      const owner = await user(request.sesskey, ctx);
      const record = await wanted(request.route, owner);
      const written = await store.replace(record, expected(request));
      if (!written.done && written.reason === 'stale')
        throw staleError('AGORA_ERR_ROUTE_STALE', [cut(record.source), request.expected_version], written.version);
      if (!written.done) throw new AgoraError('AGORA_ERR_ROUTE_NOT_FOUND', [cut(record.source)]);
      return routeOf(written.route);
    },
    Delete: async (request, ctx) => {
      const owner = await user(request.sesskey, ctx);
      const source = namedSource(request.source);
      const written = await store.delete(source, owner, expected(request));
      if (!written.done && written.reason === 'stale')
        throw staleError('AGORA_ERR_ROUTE_STALE', [cut(source), request.expected_version], written.version);
      if (!written.done) throw new AgoraError('AGORA_ERR_ROUTE_NOT_FOUND', [cut(source)]);
      ctx.log.info({ source, owner }, 'route deleted');
      await prune(ctx);
      return routeOf(written.route);
    },
    SyncNode: async (request) => {
      const problem = targetProblem(request);
      if (problem !== null) throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [problem]);
      return { ok: (await store.syncNode(nodeTarget(request))) !== 'stale' };
    },
    DropNode: async (request) => {
      const problem = nodeIdProblem(request.id);
      if (problem !== null) throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [problem]);
      await store.dropNode(request.id, request.version, request.epoch);
      return { ok: true };
    },
    Table: async () => {
      const [routes, nodes] = await Promise.all([store.routes(), store.nodes()]);
      return { routes: routes.map(routeOf), nodes };
    },
  };
}

/** A route with every field at its default (a request that named none). */
function emptyRoute(): Route__Output {
  return {
    source: '',
    owner: '',
    target_node: '',
    target_url: '',
    mode: '',
    enforce_https: false,
    connect_timeout_ms: 0,
    read_timeout_ms: 0,
    created_at: 0,
    updated_at: 0,
    version: 0,
  };
}

/** The built service: what lib/rpc serves, and its Watch streams. */
export interface RoutesService {
  impl: ServiceImpl<RoutesDefinition>;
  hub: RouteWatchHub;
  relay: ChangeRelay;
  /** Resolves once this instance hears its store's changes (its own probe came back). */
  start(timeoutMs: number): Promise<void>;
  /** End every Watch stream and stop probing. */
  close(): void;
}

/** Build the service; `start()` subscribes to the store's changes, `close()` ends the streams. */
export function buildRoutes(deps: RoutesDeps): RoutesService {
  const hub = new RouteWatchHub(deps.log.child({ mod: 'watch' }));
  const relay = new ChangeRelay({
    topic: deps.store.topic,
    sink: { change: (change) => hub.publish(changeOf(change)), reload: () => hub.reload() },
    log: deps.log.child({ mod: 'relay' }),
  });
  return {
    impl: {
      name: 'Routes',
      definition: loadProto('routes.proto').agora.Routes.service,
      handlers: buildRoutesHandlers(deps) as Implementation<RoutesDefinition>,
      grpcOnly: { Watch: (call: WatchCall) => hub.attach(call) },
      // Compute's: no session guards them, so only the mesh's gRPC reaches them.
      busExclude: ['SyncNode', 'DropNode'],
    },
    hub,
    relay,
    start: (timeoutMs) => relay.start(timeoutMs),
    close: () => {
      relay.close();
      hub.close();
    },
  };
}
