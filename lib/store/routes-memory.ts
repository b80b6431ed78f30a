/**
 * Routes in memory (the embedded default): custom routes and node targets of one Routes
 * process, and its topic, delivered in this process only. Each write is checked, made and
 * announced in one synchronous step, so no other write can come between (lib/store/contracts.ts
 * `RouteStore`).
 */
import {
  byRouteAge,
  byTargetId,
  encodeRouteChange,
  nodeTarget as target,
  NODE_TOMBSTONE_MS,
  stamp,
  type Broadcast,
  type NodeSync,
  type NodeTargetRecord,
  type OwnedRoutes,
  type RouteChange,
  type RouteRecord,
  type RouteStore,
  type RouteTombstone,
  type RouteWrite,
} from './contracts';

type Handlers = Parameters<Broadcast['subscribe']>[0];

/** A Broadcast within one process: every subscriber gets every message, in order, a microtask later. */
export class MemoryTopic implements Broadcast {
  private readonly subscribers = new Set<Handlers>();

  async publish(message: string): Promise<void> {
    this.deliver(message);
  }

  /** Deliver now (in order: each message is queued behind the ones before it). */
  deliver(message: string): void {
    for (const handlers of this.subscribers) queueMicrotask(() => handlers.onMessage(message));
  }

  async subscribe(handlers: Handlers): Promise<void> {
    this.subscribers.add(handlers);
  }

  async close(): Promise<void> {
    this.subscribers.clear();
  }
}

/** A node target, or the tombstone of a dropped one (`goneAt`). */
type Held = NodeTargetRecord & { goneAt?: number };

export class MemoryRouteStore implements RouteStore {
  readonly topic = new MemoryTopic();
  private readonly routesBySource = new Map<string, RouteRecord>();
  /** The version of each owner's list. */
  private readonly lists = new Map<string, number>();
  private readonly targets = new Map<string, Held>();
  /** The tombstones of deleted routes, by owner, then by source. */
  private readonly tombstones = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(source: string): Promise<RouteRecord | undefined> {
    const route = this.routesBySource.get(source);
    return route === undefined ? undefined : { ...route };
  }

  async owned(owner: string): Promise<OwnedRoutes> {
    const deleted: RouteTombstone[] = [...(this.tombstones.get(owner) ?? [])]
      .map(([source, lastModified]) => ({ source, lastModified }))
      .sort((a, b) => a.lastModified - b.lastModified);
    return { routes: this.sorted((r) => r.owner === owner), deleted, version: this.lists.get(owner) ?? 0 };
  }

  async routes(): Promise<RouteRecord[]> {
    return this.sorted(() => true);
  }

  async create(route: RouteRecord, expectedListVersion?: number): Promise<RouteWrite> {
    const list = this.lists.get(route.owner) ?? 0;
    if (expectedListVersion !== undefined && expectedListVersion !== list)
      return { done: false, reason: 'stale', version: list };
    if (this.routesBySource.has(route.source)) return { done: false, reason: 'exists' };
    this.tombstones.get(route.owner)?.delete(route.source);
    return { done: true, route: this.write(route) };
  }

  async replace(route: RouteRecord, expectedVersion?: number): Promise<RouteWrite> {
    const current = this.routesBySource.get(route.source);
    if (current === undefined || current.owner !== route.owner) return { done: false, reason: 'absent' };
    if (expectedVersion !== undefined && expectedVersion !== current.version)
      return { done: false, reason: 'stale', version: current.version };
    return { done: true, route: this.write({ ...route, createdAt: current.createdAt }) };
  }

  async delete(source: string, owner: string, expectedVersion?: number): Promise<RouteWrite> {
    const current = this.routesBySource.get(source);
    if (current === undefined || current.owner !== owner) return { done: false, reason: 'absent' };
    if (expectedVersion !== undefined && expectedVersion !== current.version)
      return { done: false, reason: 'stale', version: current.version };
    this.routesBySource.delete(source);
    let owned = this.tombstones.get(owner);
    if (owned === undefined) this.tombstones.set(owner, (owned = new Map<string, number>()));
    owned.set(source, this.bump(owner));
    this.announce({ kind: 'route_deleted', source });
    return { done: true, route: { ...current } };
  }

  async pruneTombstones(before: number): Promise<number> {
    let n = 0;
    for (const [owner, owned] of this.tombstones) {
      for (const [source, at] of owned) if (at < before && owned.delete(source)) n++;
      if (owned.size === 0) this.tombstones.delete(owner);
    }
    return n;
  }

  async node(id: string): Promise<NodeTargetRecord | undefined> {
    const held = this.targets.get(id);
    return held === undefined || held.goneAt !== undefined ? undefined : target(held);
  }

  async nodes(): Promise<NodeTargetRecord[]> {
    return [...this.targets.values()]
      .filter((t) => t.goneAt === undefined)
      .map(target)
      .sort(byTargetId);
  }

  async syncNode(next: NodeTargetRecord): Promise<NodeSync> {
    const held = this.targets.get(next.id);
    if (held !== undefined && held.epoch === next.epoch) {
      if (held.goneAt !== undefined ? next.version <= held.version : next.version < held.version) return 'stale';
      if (held.goneAt === undefined && JSON.stringify(target(held)) === JSON.stringify(target(next)))
        return 'unchanged';
    }
    const stored = target(next);
    this.targets.set(next.id, stored);
    this.announce({ kind: 'node', node: stored });
    return 'stored';
  }

  async dropNode(id: string, version: number, epoch: string): Promise<boolean> {
    const now = this.now();
    for (const [key, t] of this.targets)
      if (t.goneAt !== undefined && t.goneAt < now - NODE_TOMBSTONE_MS) this.targets.delete(key);
    const held = this.targets.get(id);
    const kept = held !== undefined && held.epoch === epoch ? Math.max(held.version, version) : version;
    this.targets.set(id, {
      id,
      name: '',
      owner: '',
      status: '',
      host: '',
      port: 0,
      version: kept,
      epoch,
      write: [],
      goneAt: now,
    });
    if (held === undefined || held.goneAt !== undefined) return false;
    this.announce({ kind: 'node_deleted', id });
    return true;
  }

  /** Store a route (copied) stamped as its owner's list's new timestamp, announce it; answers a copy. */
  private write(given: RouteRecord): RouteRecord {
    const route = { ...given, version: this.bump(given.owner) };
    this.routesBySource.set(route.source, { ...route });
    this.announce({ kind: 'route', route });
    return { ...route };
  }

  /** Stamp a write of one of `owner`'s routes: the list's new timestamp, answered. */
  private bump(owner: string): number {
    const version = stamp(this.now(), this.lists.get(owner) ?? 0);
    this.lists.set(owner, version);
    return version;
  }

  private announce(change: RouteChange): void {
    this.topic.deliver(encodeRouteChange(change));
  }

  /** Copies of the routes that pass `keep`, oldest first (createdAt, then source). */
  private sorted(keep: (route: RouteRecord) => boolean): RouteRecord[] {
    return [...this.routesBySource.values()]
      .filter(keep)
      .map((r) => ({ ...r }))
      .sort(byRouteAge);
  }
}
