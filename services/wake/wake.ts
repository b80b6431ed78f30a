/**
 * The wake service's core (docs/ROUTING.md "Waking and idle nodes"). `wake` starts a stopped
 * node through compute's internal Compute.Wake and answers once it is ACTIVE, one call per node
 * however many proxies ask at once. With an idle limit, it stops (Compute.Sleep) every ACTIVE
 * node that served no request through any proxy for that long: the proxies report the nodes
 * they served (`activity`), and every wake instance hears every report, its own through the
 * bus and the others' through the shared backend's topic, so each judges with all of them.
 * Which nodes are ACTIVE, and since when, it learns by following Routes' node targets.
 */
import { AgoraError, errorMessage, isAgoraError } from '../../lib/errors';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { Logger } from '../../lib/log';
import type { RouteWatch, RouteWatchHandlers } from '../../lib/routes-client';
import type { Broadcast } from '../../lib/store/contracts';

/** What the wake service needs of compute (its internal methods, over the bus). */
export interface ComputeWaker {
  /** Compute.Wake: the node's record once ACTIVE. */
  wake(id: string, deadline: number, reqId?: string): Promise<{ status: string; host: string; port: number }>;
  /** Compute.Sleep: stop the node if it is ACTIVE. */
  sleep(id: string): Promise<void>;
}

/** What it needs of Routes (lib/routes-client.ts `RoutesClient` is one). */
export interface NodeSource {
  table(): Promise<{ nodes: NodeTarget__Output[] }>;
  watch(handlers: RouteWatchHandlers): RouteWatch;
}

export interface WakeOptions {
  compute: ComputeWaker;
  routes: NodeSource;
  /** A node serving no request for this long is stopped; 0: never (AGORA_NODE_IDLE_S in ms). */
  idleMs: number;
  /** The topic shared with the other wake instances; undefined: this instance is alone. */
  topic?: Broadcast;
  log: Logger;
}

export interface NodeAddress {
  host: string;
  port: number;
}

/** A node as the idle rule sees it. */
interface Watched {
  status: string;
  /** When this instance last saw it turn ACTIVE, or a request reach it (ms since the epoch). */
  lastUsed: number;
  /** A Sleep is under way. */
  sleeping: boolean;
}

export class WakeService {
  private readonly waking = new Map<string, Promise<NodeAddress>>();
  private readonly nodes = new Map<string, Watched>();
  private watch: RouteWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loads = 0;

  constructor(private readonly options: WakeOptions) {}

  /** Follow Routes' node targets, hear the other instances, and run the idle rule. */
  async start(): Promise<void> {
    await this.options.topic?.subscribe({
      onMessage: (m) => this.onReport(m),
      // Reports may have been missed: count every node as used now rather than stop a busy one.
      onGap: () => this.touchAll(),
    });
    this.watch = this.options.routes.watch({
      onReload: () => void this.load(),
      onChange: (change) => {
        if (change.node) this.setNode(change.node);
        else if (change.node_deleted) this.nodes.delete(change.node_deleted);
      },
    });
    if (this.options.idleMs > 0) {
      const every = Math.min(1000, Math.max(50, Math.floor(this.options.idleMs / 4)));
      this.timer = setInterval(() => this.stopIdle(), every);
      this.timer.unref();
    }
  }

  close(): void {
    this.watch?.close();
    clearInterval(this.timer);
  }

  /**
   * Wake node `id` by `deadline`: the wake under way for it, or a new one. Rejects with
   * AGORA_ERR_PROXY_WAKE_FAILED or AGORA_ERR_PROXY_WAKE_TIMEOUT.
   */
  wake(id: string, deadline: number, reqId?: string): Promise<NodeAddress> {
    let woken = this.waking.get(id);
    if (woken === undefined) {
      const startedAt = Date.now();
      woken = this.options.compute.wake(id, deadline, reqId).then(
        (node) => {
          if (node.status !== 'ACTIVE' || node.host === '' || node.port === 0)
            throw new AgoraError('AGORA_ERR_PROXY_WAKE_FAILED', [id, `compute answered it ${node.status}`]);
          this.used(id);
          return { host: node.host, port: node.port };
        },
        (e: unknown) => {
          throw wakeError(id, e, deadline - startedAt);
        },
      );
      const settled = woken.finally(() => this.waking.delete(id));
      settled.catch(() => undefined);
      this.waking.set(id, woken);
    }
    return woken;
  }

  /** Wakes under way now. */
  get wakesInFlight(): number {
    return this.waking.size;
  }

  /** A proxy's report: these nodes served requests. Passed on to the other instances. */
  activity(ids: readonly string[]): number {
    for (const id of ids) this.used(id);
    if (this.options.topic !== undefined && ids.length > 0) {
      this.options.topic.publish(JSON.stringify({ used: ids })).catch((e: unknown) => {
        this.options.log.warn({ detail: errorMessage(e) }, 'activity not passed on to the other wake instances');
      });
    }
    return ids.length;
  }

  /** Stop every ACTIVE node unused for the idle limit (one Sleep at a time per node). */
  stopIdle(now = Date.now()): void {
    const before = now - this.options.idleMs;
    for (const [id, node] of this.nodes) {
      if (node.status !== 'ACTIVE' || node.sleeping || node.lastUsed > before || this.waking.has(id)) continue;
      node.sleeping = true;
      this.options.log.info({ node: id, idleMs: now - node.lastUsed }, 'stopping an idle node');
      this.options.compute.sleep(id).then(
        () => (node.sleeping = false),
        (e: unknown) => {
          node.sleeping = false;
          node.lastUsed = Date.now(); // try again after another idle period, not at once
          // A node compute does not know (any more): nothing to stop, nothing to watch.
          if (isAgoraError(e) && e.code === 'AGORA_ERR_NODE_NOT_FOUND') this.nodes.delete(id);
          else this.options.log.warn({ node: id, detail: errorMessage(e) }, 'idle node not stopped');
        },
      );
    }
  }

  private async load(): Promise<void> {
    const load = ++this.loads;
    try {
      const { nodes } = await this.options.routes.table();
      if (load !== this.loads) return;
      const seen = new Set<string>();
      for (const node of nodes) {
        seen.add(node.id);
        this.setNode(node);
      }
      for (const id of this.nodes.keys()) if (!seen.has(id)) this.nodes.delete(id);
    } catch (e) {
      this.options.log.warn({ detail: errorMessage(e) }, 'could not load the node targets; the next reload will');
    }
  }

  private setNode(target: NodeTarget__Output): void {
    const node = this.nodes.get(target.id);
    if (node === undefined) {
      this.nodes.set(target.id, { status: target.status, lastUsed: Date.now(), sleeping: false });
      return;
    }
    // A node that has just turned ACTIVE gets a whole idle period before it counts as idle.
    if (target.status === 'ACTIVE' && node.status !== 'ACTIVE') node.lastUsed = Date.now();
    node.status = target.status;
  }

  private used(id: string): void {
    const node = this.nodes.get(id);
    if (node !== undefined) node.lastUsed = Date.now();
    else this.nodes.set(id, { status: 'ACTIVE', lastUsed: Date.now(), sleeping: false });
  }

  private touchAll(): void {
    const now = Date.now();
    for (const node of this.nodes.values()) node.lastUsed = now;
  }

  private onReport(message: string): void {
    try {
      const { used } = JSON.parse(message) as { used?: unknown };
      if (Array.isArray(used)) for (const id of used) if (typeof id === 'string') this.used(id);
    } catch {
      this.options.log.warn({ length: message.length }, 'unreadable activity report ignored');
    }
  }
}

/** A failed wake as the proxies are told it. */
function wakeError(id: string, e: unknown, ms: number): AgoraError {
  if (isAgoraError(e)) {
    if (e.code === 'AGORA_ERR_PROXY_WAKE_FAILED' || e.code === 'AGORA_ERR_PROXY_WAKE_TIMEOUT') return e;
    if (e.code === 'AGORA_ERR_RPC_TIMEOUT')
      return new AgoraError('AGORA_ERR_PROXY_WAKE_TIMEOUT', [id, ms], { cause: e });
  }
  return new AgoraError('AGORA_ERR_PROXY_WAKE_FAILED', [id, errorMessage(e)], { cause: e });
}
