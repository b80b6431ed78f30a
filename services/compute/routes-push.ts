/**
 * Compute keeps Routes' node targets in step (docs/ROUTING.md "The Routes contract"): every
 * write of a node record (a create, the driver's answers, the sync loop's news, a rename, a
 * delete) is pushed to Routes, SyncNode or DropNode, off the user's call. A user's call never
 * waits for Routes and never fails because of it:
 * - pushes are kept per node, the newest replacing one not yet sent (coalesced), one call in
 *   flight per node (so they arrive in order) and CONCURRENCY in all;
 * - a push that fails is kept and retried after a backoff (doubling from 100 ms to 2 s), so
 *   what changed while Routes was down reaches it once it is back;
 * - at every hello or reload of Routes' Watch stream (Routes started, came back, or its store
 *   may have missed changes) everything is pushed again: every record compute holds, and a drop
 *   of every node Routes holds that compute does not. So a Routes restarted on the memory
 *   backend, which starts empty, loses nothing.
 */
import { errorMessage } from '../../lib/errors';
import type { NodeTarget, NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import type { RouteTable__Output } from '../../lib/gen/agora/RouteTable';
import type { Logger } from '../../lib/log';
import type { RouteWatch, RouteWatchHandlers } from '../../lib/routes-client';
import type { NodeRecord, NodeStore, Versioned } from '../../lib/store/contracts';

/** What the pusher needs of Routes (lib/routes-client.ts `RoutesClient` is one). */
export interface RoutesApi {
  syncNode(target: NodeTarget): Promise<void>;
  dropNode(id: string, version: number, epoch: string): Promise<void>;
  table(): Promise<Pick<RouteTable__Output, 'nodes'>>;
  watch(handlers: RouteWatchHandlers): RouteWatch;
}

export interface RoutePusherOptions {
  routes: RoutesApi;
  /** The records (read at a resync), without the pushing wrapper. */
  store: NodeStore;
  /** The sequence the records' versions count in (proto/routes.proto `NodeTarget.epoch`). */
  epoch: string;
  /** Resolves once compute's records are rebuilt from its driver (a resync before would drop every node). */
  ready: () => Promise<void>;
  log: Logger;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

type Push = { kind: 'sync'; target: NodeTarget } | { kind: 'drop'; version: number };

/** Calls to Routes in flight at once. */
const CONCURRENCY = 8;

/** What Routes is told of a record: its address only while it is ACTIVE, and who may route to it (its writers). */
export function targetOf(record: NodeRecord, epoch: string): NodeTarget__Output {
  const active = record.status === 'ACTIVE';
  return {
    id: record.id,
    name: record.name,
    owner: record.owner,
    status: record.status,
    host: active ? record.host : '',
    port: active ? record.port : 0,
    version: record.version,
    epoch,
    write: [...record.permissions.write],
  };
}

export class RoutePusher {
  /** The newest push not yet sent, per node. */
  private readonly pending = new Map<string, Push>();
  /** Nodes with a call in flight. */
  private readonly sending = new Set<string>();
  /** When each node was last pushed by a write (a counter): a resync leaves alone what changed after it began. */
  private readonly touched = new Map<string, number>();
  private seq = 0;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private failing = false;
  private resyncFailing = false;
  private watch: RouteWatch | undefined;
  /** Bumped by every hello: a resync that a newer one superseded stops retrying. */
  private hellos = 0;
  private closed = false;

  constructor(private readonly options: RoutePusherOptions) {
    this.backoffMinMs = options.backoffMinMs ?? 100;
    this.backoffMaxMs = options.backoffMaxMs ?? 2000;
    this.backoffMs = this.backoffMinMs;
  }

  /** Follow Routes' Watch stream: push everything at each hello or reload. */
  start(): void {
    this.watch = this.options.routes.watch({
      onReload: () => void this.resync(++this.hellos),
      onDown: (err) => this.options.log.debug({ detail: err?.message }, 'routes watch down'),
    });
  }

  /** Nodes whose push is waiting or in flight. */
  get backlog(): number {
    return new Set([...this.pending.keys(), ...this.sending]).size;
  }

  /** A record was written (with the version the store gave it). */
  synced(record: NodeRecord): void {
    this.enqueue(record.id, { kind: 'sync', target: targetOf(record, this.options.epoch) });
  }

  /** A record is gone; `version` its last. */
  dropped(id: string, version: number): void {
    this.enqueue(id, { kind: 'drop', version });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
  }

  /**
   * Push everything again (header). What a write pushed after this resync began is left as
   * that write pushed it: this resync's reads may be older.
   */
  async resync(hello = this.hellos): Promise<void> {
    const since = this.seq;
    try {
      await this.options.ready();
      const { nodes: held } = await this.options.routes.table();
      const records = await this.options.store.list();
      const fresh = (id: string): boolean => (this.touched.get(id) ?? 0) <= since;
      const ids = new Set(records.map((r) => r.id));
      for (const t of held)
        if (!ids.has(t.id) && fresh(t.id))
          this.queue(t.id, { kind: 'drop', version: t.epoch === this.options.epoch ? t.version : 0 });
      for (const record of records)
        if (fresh(record.id)) this.queue(record.id, { kind: 'sync', target: targetOf(record, this.options.epoch) });
      for (const [id, at] of this.touched) if (at <= since) this.touched.delete(id);
      this.options.log.info(
        { nodes: records.length, dropped: held.length - held.filter((t) => ids.has(t.id)).length },
        'routes resynced',
      );
      this.pump();
      this.resyncFailing = false;
    } catch (e) {
      if (this.closed || hello !== this.hellos) return;
      const level = this.resyncFailing ? 'debug' : 'warn';
      this.resyncFailing = true;
      this.options.log[level]({ detail: errorMessage(e) }, 'routes resync failed; retrying');
      setTimeout(() => void this.resync(hello), this.backoffMaxMs).unref();
    }
  }

  private enqueue(id: string, push: Push): void {
    this.touched.set(id, ++this.seq);
    this.queue(id, push);
    this.pump();
  }

  private queue(id: string, push: Push): void {
    this.pending.set(id, push);
  }

  /** Send what waits, one call per node, CONCURRENCY at once; nothing while a retry is scheduled. */
  private pump(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    for (const [id, push] of this.pending) {
      if (this.sending.size >= CONCURRENCY) return;
      if (this.sending.has(id)) continue;
      this.pending.delete(id);
      this.sending.add(id);
      void this.send(id, push).then((ok) => {
        this.sending.delete(id);
        // A newer push of this node replaces a failed one; otherwise it is tried again.
        if (!ok && !this.pending.has(id)) this.pending.set(id, push);
        if (!ok) this.retryLater();
        this.pump();
      });
    }
  }

  private async send(id: string, push: Push): Promise<boolean> {
    try {
      if (push.kind === 'sync') await this.options.routes.syncNode(push.target);
      else await this.options.routes.dropNode(id, push.version, this.options.epoch);
      if (this.failing) this.options.log.info('routes reachable again');
      this.failing = false;
      this.backoffMs = this.backoffMinMs;
      return true;
    } catch (e) {
      if (this.closed) return true;
      if (!this.failing)
        this.options.log.warn({ detail: errorMessage(e) }, 'routes unreachable; node changes kept for later');
      this.failing = true;
      return false;
    }
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.backoffMs);
    this.retryTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
  }
}

/** `store`, telling `pusher` of every write it makes (the records as stored, versions included). */
export function pushingStore(store: NodeStore, pusher: RoutePusher): NodeStore {
  return {
    get: (id) => store.get(id),
    list: (owner) => store.list(owner),
    readable: (principals) => store.readable(principals),
    owned: (owner) => store.owned(owner),
    create: async (node, limit, expectedListVersion) => {
      const created = await store.create(node, limit, expectedListVersion);
      if (created === 'created') pusher.synced((await store.get(node.id)) ?? node);
      return created;
    },
    put: async (node) => {
      const version = await store.put(node);
      pusher.synced({ ...node, version });
      return version;
    },
    putIfVersion: async (node, version): Promise<Versioned> => {
      const written = await store.putIfVersion(node, version);
      if (written.done) pusher.synced({ ...node, version: written.version });
      return written;
    },
    delete: async (id) => {
      const last = await store.get(id);
      const deleted = await store.delete(id);
      if (deleted) pusher.dropped(id, last?.version ?? 0);
      return deleted;
    },
    pruneTombstones: (before) => store.pruneTombstones(before),
  };
}
