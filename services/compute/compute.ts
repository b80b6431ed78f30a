/**
 * The compute service's core: node records, their owners, limits and legal transitions
 * (docs/COMPUTE.md "Node states"), over a driver reached through the driver contract.
 * Compute never provisions: it checks, calls the driver, and records what the driver
 * answers. A sync loop reads the driver's list every `syncMs`, which brings progress
 * (BUILDING → ACTIVE), deaths (→ ERROR), the end of deletions, and after a restart every
 * record back (reconciliation): the driver is the source of truth for what exists.
 */
import { randomUUID } from 'node:crypto';
import { staleError } from '../../lib/etag';
import { AgoraError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { nodeLabelProblem } from '../../lib/hosts';
import { cut, NODE_NAME_MAX } from '../../lib/node-names';
import {
  canRead,
  canWrite,
  normalized,
  ownerOnly,
  patched,
  permissionsProblem,
  principalsOf,
  type Permissions,
} from '../../lib/permissions';
import {
  newNode,
  viewVersion,
  type NodeRecord,
  type NodeStatus,
  type NodeStore,
  type OwnedNodes,
} from '../../lib/store/contracts';
import type { DriverApi, DriverNodeView } from './driver-client';

export interface ComputeOptions {
  store: NodeStore;
  driver: DriverApi;
  /** Nodes one user may hold. */
  maxNodesPerUser: number;
  log: Logger;
  /**
   * How long after its last write a record the driver does not list is left alone by the
   * sync: another compute instance may have written it and still be waiting for the driver
   * (a create). The deadline of a driver call; default 0 (one instance).
   */
  settleMs?: number;
  /** How long a deleted node is listed as a tombstone (AGORA_TOMBSTONE_TTL_S); default a day. */
  tombstoneTtlMs?: number;
  /**
   * The permissions a node had, for a record rebuilt from the driver (none kept: its owner's
   * alone); on the memory backend, what ./kept-permissions.ts kept on disk.
   */
  keptPermissions?: (id: string) => Permissions | undefined;
}

/** How often the sync loop forgets the tombstones past their time, at most. */
const PRUNE_EVERY_MS = 60_000;

export interface CreateInput {
  name: string;
  image: string;
  size: string;
  command: string;
  /** Who else may read or write it; absent: the owner's alone (the owner always writes). */
  permissions?: Partial<Permissions>;
}

export interface UpdateInput {
  name: string;
  size: string;
  action: string;
  /** The kinds of permission to replace (Kinto's PATCH), if any. */
  permissions?: Partial<Permissions>;
}

/** What a caller needs of a node: to see it, or to control it. */
type Need = 'read' | 'write';

/** How often a change of permissions alone reads the node again when a sync wrote it meanwhile. */
const PERMISSIONS_TRIES = 5;

/** PATCH actions and the node states each is allowed from. */
const ACTIONS = ['start', 'stop'] as const;

/** Compute's view of a driver state: status and task. */
const STATUS_OF: Readonly<Record<string, [NodeStatus, string]>> = {
  BUILDING: ['BUILDING', ''],
  ACTIVE: ['ACTIVE', ''],
  STOPPING: ['ACTIVE', 'stopping'],
  STOPPED: ['STOPPED', ''],
  DELETING: ['DELETING', ''],
  ERROR: ['ERROR', ''],
};

/** How often a wake asks the driver whether its node is ACTIVE yet. */
const WAKE_POLL_MS = 50;

export const LOST_REASON = 'the driver no longer has this node';

export class Compute {
  /** Ids with a driver call in flight: the sync loop leaves their records alone. */
  private readonly busy = new Set<string>();
  /** The first successful sync (records rebuilt from the driver); until then calls wait for it. */
  private firstSync: Promise<void> | undefined;
  private synced = false;
  /** Wakes under way in this process, by node id. */
  private readonly waking = new Map<string, Promise<NodeRecord>>();
  /** When the sync loop last pruned tombstones. */
  private prunedAt = 0;

  constructor(private readonly options: ComputeOptions) {}

  /**
   * Make a node; with `expectedList`, only if the owner's node list is still at that version
   * (AGORA_ERR_NODE_LIST_STALE).
   */
  async create(owner: string, input: CreateInput, reqId?: string, expectedList?: number): Promise<NodeRecord> {
    const problem =
      nodeLabelProblem(input.name) ?? textProblem('image', input.image, true) ?? textProblem('size', input.size, false);
    if (problem !== null) throw new AgoraError('AGORA_ERR_NODE_INVALID', [problem]);
    const permissions =
      input.permissions === undefined ? ownerOnly(owner) : normalized(checked(input.permissions), owner);
    await this.ready();
    const { name, image, size, command } = input;
    const record = newNode({ id: randomUUID(), owner, name, image, size, command, permissions }, Date.now());
    return this.withDriver(record.id, async () => {
      const created = await this.options.store.create(record, this.options.maxNodesPerUser, expectedList);
      if (created === 'stale')
        throw staleError(
          'AGORA_ERR_NODE_LIST_STALE',
          [expectedList],
          viewVersion(await this.options.store.owned(owner)),
        );
      if (created === 'name') throw new AgoraError('AGORA_ERR_NODE_NAME_TAKEN', [cut(input.name)]);
      if (created === 'limit') throw new AgoraError('AGORA_ERR_NODE_LIMIT', [this.options.maxNodesPerUser]);
      if (created === 'exists') throw new AgoraError('AGORA_ERR_INTERNAL');
      try {
        const node = await this.options.driver.create(
          { id: record.id, name: input.name, owner, image: input.image, size: input.size, command: input.command },
          reqId,
        );
        this.options.log.info({ node: record.id, owner, image: input.image }, 'node created');
        return await this.record(node, record);
      } catch (e) {
        await this.options.store.delete(record.id);
        throw e;
      }
    });
  }

  /**
   * The nodes `user` may read (its own and those shared with it), its own deleted within the
   * tombstones' time, and the timestamp of the list it sees (`viewVersion`: what a create
   * compares); `shared` when another user's node is among them. The version is read before the
   * nodes, so that the nodes answered are never older than it (an ETag at worst behind them).
   */
  async list(user: string): Promise<OwnedNodes & { shared: boolean }> {
    await this.ready();
    const owned = await this.options.store.owned(user);
    const nodes = await this.options.store.readable(principalsOf(user));
    const since = Date.now() - this.tombstoneTtlMs();
    const deleted = owned.deleted.filter((t) => t.lastModified >= since);
    const version = viewVersion(owned);
    return { nodes, deleted, version, sharing: owned.sharing, shared: nodes.some((n) => n.owner !== user) };
  }

  private tombstoneTtlMs(): number {
    return this.options.tombstoneTtlMs ?? 86_400_000;
  }

  async get(user: string, id: string): Promise<NodeRecord> {
    await this.ready();
    return this.visible(user, id, 'read');
  }

  /**
   * Rename, resize, start or stop; everything is checked before anything is done. With
   * `expected` (a version), the change goes ahead only if the node is still at it: the
   * record is claimed by a compare-and-write before the driver is asked (see `claim`).
   */
  async update(user: string, id: string, input: UpdateInput, reqId?: string, expected?: number): Promise<NodeRecord> {
    const problem = updateProblem(input);
    if (problem !== null) throw new AgoraError('AGORA_ERR_NODE_INVALID', [problem]);
    const change = input.permissions === undefined ? undefined : checked(input.permissions);
    await this.ready();
    const read = await this.visible(user, id, 'write');
    checkVersion(read, expected);
    if (!changesNode(input))
      return this.setPermissions(read, patched(read.permissions, change!, read.owner, user), expected);
    const refused = transitionProblem(read, input);
    if (refused !== null) throw new AgoraError('AGORA_ERR_NODE_CONFLICT', refused);
    if (input.name !== '' && input.name !== read.name) await this.checkNameFree(read.owner, input.name);
    const claimed = await this.claim(read, expected);
    // New permissions ride with the change: every record written from here on carries them.
    const current =
      change === undefined
        ? claimed
        : { ...claimed, permissions: patched(claimed.permissions, change, read.owner, user) };
    if (current.reason === LOST_REASON) return this.updateLost(current, input, reqId);
    try {
      return await this.withDriver(id, async () => {
        let node: DriverNodeView | undefined;
        if (input.name !== '' || input.size !== '')
          node = await this.options.driver.update(id, input.name, input.size, reqId);
        if (input.action === 'start') node = await this.options.driver.start(id, reqId);
        if (input.action === 'stop') node = await this.options.driver.stop(id, reqId);
        return this.record(node!, current);
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // The driver lost the node before the sync loop noticed: the change is one to a lost node.
      const lost = await this.markLost(current);
      const refusedNow = transitionProblem(lost, input);
      if (refusedNow !== null) throw new AgoraError('AGORA_ERR_NODE_CONFLICT', refusedNow);
      return this.updateLost(lost, input, reqId);
    }
  }

  /**
   * A change to a node its driver lost (e.g. the driver restarted): a start makes it again
   * at the driver, same id and owner, with the recorded (or the new) name and size; a rename
   * or resize is recorded for that start. There is nothing to stop.
   */
  private async updateLost(current: NodeRecord, input: UpdateInput, reqId?: string): Promise<NodeRecord> {
    if (input.action === 'stop')
      throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['stop', `ERROR (${LOST_REASON}); start it again or delete it`]);
    const next = { ...current, name: input.name || current.name, size: input.size || current.size };
    if (input.action !== 'start') return this.put({ ...next, updatedAt: Date.now() }, current);
    return this.withDriver(current.id, async () => {
      const spec = {
        id: next.id,
        name: next.name,
        owner: next.owner,
        image: next.image,
        size: next.size,
        command: next.command,
      };
      this.options.log.info({ node: current.id }, 'node made again at the driver');
      return this.record(await this.options.driver.create(spec, reqId), next);
    });
  }

  /**
   * Change a node's permissions alone: written at the version read (or `expected`), read again when
   * another writer (the sync loop) came first, so that nothing it wrote is undone.
   */
  private async setPermissions(read: NodeRecord, next: Permissions, expected?: number): Promise<NodeRecord> {
    let current = read;
    for (let tries = 1; ; tries++) {
      const written = await this.options.store.putIfVersion({ ...current, permissions: next }, current.version);
      if (written.done) {
        this.options.log.info({ node: current.id, permissions: next }, 'node permissions changed');
        return { ...current, permissions: next, version: written.version };
      }
      if (expected !== undefined) throw staleError('AGORA_ERR_NODE_STALE', [cut(read.id), expected], written.version);
      const again = written.version === undefined ? undefined : await this.options.store.get(read.id);
      if (again === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(read.id)]);
      if (tries >= PERMISSIONS_TRIES)
        throw staleError('AGORA_ERR_NODE_STALE', [cut(read.id), read.version], again.version);
      current = again;
    }
  }

  /** Start removing a node; answers it in DELETING (again, if it already was). `expected` as for update. */
  async delete(user: string, id: string, reqId?: string, expected?: number): Promise<NodeRecord> {
    await this.ready();
    const read = await this.visible(user, id, 'write');
    checkVersion(read, expected);
    if (read.status === 'DELETING') return read;
    const current = await this.claim(read, expected);
    return this.withDriver(id, async () => {
      try {
        return await this.record(await this.options.driver.delete(id, reqId), current);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // The driver has no such node any more: there is nothing left to wait for.
        await this.options.store.delete(id);
        return { ...current, status: 'DELETING', task: '', updatedAt: Date.now() };
      }
    });
  }

  /** The last lines of the node's output, from the driver. */
  async output(user: string, id: string, reqId?: string): Promise<{ id: string; lines: string[] }> {
    await this.ready();
    const record = await this.visible(user, id, 'read');
    if (record.reason === LOST_REASON) return { id, lines: [] };
    try {
      return { id, lines: (await this.options.driver.status(id, reqId)).output };
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.markLost(record);
      return { id, lines: [] };
    }
  }

  /**
   * Internal (the wake service's): start node `id` whoever owns it, and answer its record once
   * the driver reports it ACTIVE (which it does only once the node answers its health check).
   * A node starting is waited for, one being stopped too and then started; ERROR and DELETING
   * fail with AGORA_ERR_NODE_CONFLICT, and `deadline` passed with AGORA_ERR_RPC_TIMEOUT.
   * Concurrent wakes of one node in this process share one.
   */
  wake(id: string, deadline: number, reqId?: string): Promise<NodeRecord> {
    const current = this.waking.get(id);
    if (current !== undefined) return current;
    const woken = this.wakeOnce(id, deadline, reqId).finally(() => this.waking.delete(id));
    this.waking.set(id, woken);
    return woken;
  }

  private async wakeOnce(id: string, deadline: number, reqId?: string): Promise<NodeRecord> {
    await this.ready();
    let started = false;
    for (;;) {
      const record = id.length <= NODE_NAME_MAX ? await this.options.store.get(id) : undefined;
      if (record === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(id)]);
      let node: DriverNodeView;
      try {
        node = await this.options.driver.status(id, reqId);
      } catch (e) {
        if (isNotFound(e)) throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['wake', `ERROR (${LOST_REASON})`]);
        throw e;
      }
      if (node.state === 'ACTIVE') return this.record(node, record);
      if (node.state === 'ERROR' && started) await this.record(node, record);
      if (node.state === 'ERROR' || node.state === 'DELETING')
        throw new AgoraError('AGORA_ERR_NODE_CONFLICT', [
          'wake',
          node.reason ? `${node.state} (${node.reason})` : node.state,
        ]);
      if (node.state === 'STOPPED') {
        await this.withDriver(id, async () => this.record(await this.options.driver.start(id, reqId), record));
        this.options.log.info({ node: id }, 'node woken');
        started = true;
      }
      if (Date.now() + WAKE_POLL_MS >= deadline) throw new AgoraError('AGORA_ERR_RPC_TIMEOUT', ['Compute.Wake']);
      await new Promise((resolve) => setTimeout(resolve, WAKE_POLL_MS));
    }
  }

  /** Internal (the wake service's): stop node `id` if it is ACTIVE and not already stopping; answers its record. */
  async sleep(id: string, reqId?: string): Promise<NodeRecord> {
    await this.ready();
    const record = id.length <= NODE_NAME_MAX ? await this.options.store.get(id) : undefined;
    if (record === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(id)]);
    if (record.status !== 'ACTIVE' || record.task !== '') return record;
    this.options.log.info({ node: id }, 'idle node stopped');
    return this.withDriver(id, async () => this.record(await this.options.driver.stop(id, reqId), record));
  }

  /**
   * Read the driver's nodes and bring the records in line: each driver node updates (or,
   * after a restart, recreates) its record; a record the driver no longer has is gone if it
   * was being deleted, and in ERROR otherwise.
   *
   * Several compute instances may sync at once, beside each other's driver calls: every
   * write here is a compare-and-write on the version read (a record another instance wrote
   * meanwhile is left for the next sync, never overwritten with older news), and a record
   * written less than `settleMs` ago is not judged lost (its create may still be on its way
   * to the driver from another instance).
   */
  async sync(): Promise<void> {
    const before = Date.now() - (this.options.settleMs ?? 0);
    const nodes = await this.options.driver.list();
    // Every record, read once after the driver's list; those the driver does not list are left in `unseen`.
    const unseen = new Map((await this.options.store.list()).map((record) => [record.id, record]));
    for (const node of nodes) {
      const current = unseen.get(node.id);
      unseen.delete(node.id);
      if (this.busy.has(node.id)) continue;
      // A reply older than what a driver call already recorded must not undo it.
      if (current !== undefined && node.updated_at < current.updatedAt) continue;
      const next = fromDriver(
        node,
        current,
        current === undefined ? this.options.keptPermissions?.(node.id) : undefined,
      );
      if (current === undefined) await this.put(next, current);
      else if (changed(current, next)) await this.putIfUnchanged(next, current);
    }
    for (const record of unseen.values()) {
      if (this.busy.has(record.id) || record.updatedAt >= before) continue;
      if (record.status === 'DELETING') {
        await this.options.store.delete(record.id);
        this.options.log.info({ node: record.id }, 'node gone');
      } else if (record.reason !== LOST_REASON) {
        await this.putIfUnchanged(lostRecord(record), record);
      }
    }
    this.synced = true;
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await this.options.store.pruneTombstones(this.prunedAt - this.tombstoneTtlMs());
    }
  }

  /** Resolve once the records have been read from the driver at least once since start. */
  ready(): Promise<void> {
    if (this.synced) return Promise.resolve();
    this.firstSync ??= this.sync().catch((e: unknown) => {
      this.firstSync = undefined;
      throw new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', ['Compute (its driver has not answered yet)'], { cause: e });
    });
    return this.firstSync;
  }

  /** Run the sync loop every `everyMs` until the returned function is called. */
  startSync(everyMs: number): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let failing = 0;
    const tick = async (): Promise<void> => {
      try {
        await this.sync();
        if (failing > 0) this.options.log.info({ failed: failing }, 'driver sync ok again');
        failing = 0;
      } catch (e) {
        // One line while the driver is away (e.g. starting after compute), not one per tick.
        this.options.log[failing++ === 0 ? 'warn' : 'debug']({ detail: errorMessage(e) }, 'driver sync failed');
      }
      if (!stopped) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /**
   * Node `id` if `user` may do what `need` says with it: a node it may not read is as unknown as
   * a node that never was (AGORA_ERR_NODE_NOT_FOUND); one it may read but not write, to be
   * changed, is AGORA_ERR_FORBIDDEN.
   */
  private async visible(user: string, id: string, need: Need): Promise<NodeRecord> {
    const record = id.length <= NODE_NAME_MAX ? await this.options.store.get(id) : undefined;
    const principals = principalsOf(user);
    if (record === undefined || !canRead(record.permissions, principals))
      throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(id)]);
    if (need === 'write' && !canWrite(record.permissions, principals))
      throw new AgoraError('AGORA_ERR_FORBIDDEN', ['change node', cut(id)]);
    return record;
  }

  /**
   * AGORA_ERR_NODE_NAME_TAKEN when another of the owner's nodes has `name` (a name is the
   * node's host). Read before the rename rather than in one step with it: two renames of two
   * nodes to one name at the same moment can both pass (a create cannot: the store checks it).
   */
  private async checkNameFree(owner: string, name: string): Promise<void> {
    const { nodes } = await this.options.store.owned(owner);
    if (nodes.some((n) => n.name === name)) throw new AgoraError('AGORA_ERR_NODE_NAME_TAKEN', [cut(name)]);
  }

  /**
   * Take the right to change `read` for a caller who named version `expected`: write the
   * record back unchanged but for its version, only if it is still at `expected` (one atomic
   * step in the store, whichever compute instance calls). Of several writers naming one
   * version exactly one passes; the others get AGORA_ERR_NODE_STALE with the version found,
   * and none of them has reached the driver.
   */
  private async claim(read: NodeRecord, expected: number | undefined): Promise<NodeRecord> {
    if (expected === undefined) return read;
    const claimed = await this.options.store.putIfVersion(read, expected);
    if (!claimed.done) throw staleError('AGORA_ERR_NODE_STALE', [cut(read.id), expected], claimed.version);
    return { ...read, version: claimed.version };
  }

  /** Record that the driver no longer has this node (ERROR, LOST_REASON). */
  private markLost(record: NodeRecord): Promise<NodeRecord> {
    return this.put(lostRecord(record), record);
  }

  private async withDriver<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.busy.add(id);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
    }
  }

  /** Record what the driver answered for a node. */
  private record(node: DriverNodeView, current: NodeRecord): Promise<NodeRecord> {
    return this.put(fromDriver(node, current), current);
  }

  /** Store `next`; answers it with the version the store gave it. */
  private async put(next: NodeRecord, current: NodeRecord | undefined): Promise<NodeRecord> {
    const version = await this.options.store.put(next);
    this.logStatus(next, current);
    return { ...next, version };
  }

  /** Store `next` only if the record is still at `current`'s version (else another writer came first). */
  private async putIfUnchanged(next: NodeRecord, current: NodeRecord): Promise<void> {
    if ((await this.options.store.putIfVersion(next, current.version)).done) this.logStatus(next, current);
  }

  private logStatus(next: NodeRecord, current: NodeRecord | undefined): void {
    if (current?.status !== next.status) {
      this.options.log.info(
        { node: next.id, from: current?.status, to: next.status, reason: next.reason || undefined },
        'node status',
      );
    }
  }
}

/** `record` as the driver no longer having it: ERROR, LOST_REASON. */
function lostRecord(record: NodeRecord): NodeRecord {
  return {
    ...record,
    status: 'ERROR',
    task: '',
    reason: LOST_REASON,
    host: '',
    port: 0,
    pid: 0,
    updatedAt: Date.now(),
  };
}

/** A record from what the driver answered of a node. */
export function fromDriver(node: DriverNodeView, current?: NodeRecord, kept?: Permissions): NodeRecord {
  const [status, task] = STATUS_OF[node.state] ?? ['ERROR', ''];
  const reason =
    STATUS_OF[node.state] === undefined ? `the driver reported an unknown state ${cut(node.state)}` : node.reason;
  return {
    id: node.id,
    owner: node.owner,
    name: node.name,
    image: node.image,
    size: node.size,
    command: node.command,
    status,
    task,
    reason,
    host: node.host,
    port: node.port,
    pid: node.pid,
    exitCode: node.exit_code,
    signal: node.signal,
    createdAt: node.created_at || current?.createdAt || Date.now(),
    // The driver's clock, so that the sync loop compares like with like (stale replies).
    updatedAt: node.updated_at || current?.updatedAt || Date.now(),
    version: current?.version ?? 0,
    // The driver knows nothing of permissions: the record's stay; one rebuilt from the driver gets those kept
    // for it, or is its owner's alone.
    permissions: current?.permissions ?? (kept === undefined ? ownerOnly(node.owner) : normalized(kept, node.owner)),
  };
}

/** The permissions a request names, checked (AGORA_ERR_PERMISSIONS_INVALID). */
function checked(permissions: Partial<Permissions>): Partial<Permissions> {
  const problem = permissionsProblem(permissions);
  if (problem !== null) throw new AgoraError('AGORA_ERR_PERMISSIONS_INVALID', [problem]);
  return permissions;
}

/** Whether an update changes the node itself (a name, a size, an action), not only its permissions. */
function changesNode(input: UpdateInput): boolean {
  return input.name !== '' || input.size !== '' || input.action !== '';
}

/** AGORA_ERR_NODE_STALE when the caller named a version (`expected`) the node is not at. */
function checkVersion(node: NodeRecord, expected: number | undefined): void {
  if (expected !== undefined && node.version !== expected)
    throw staleError('AGORA_ERR_NODE_STALE', [cut(node.id), expected], node.version);
}

function isNotFound(e: unknown): boolean {
  return e instanceof AgoraError && e.code === 'AGORA_ERR_NODE_NOT_FOUND';
}

/** Whether the sync loop has news of a record (permissions are the record's, never the driver's). */
function changed(a: NodeRecord, b: NodeRecord): boolean {
  return (Object.keys(a) as Array<keyof NodeRecord>).some((k) => k !== 'updatedAt' && k !== 'version' && a[k] !== b[k]);
}

/** Why an image or size text is not acceptable (the driver judges the catalogue itself). */
function textProblem(field: string, value: string, required: boolean): string | null {
  if (value === '') return required ? `an ${field} is required` : null;
  if (value.length > NODE_NAME_MAX)
    return `the ${field} has ${value.length} characters, at most ${NODE_NAME_MAX} allowed`;
  return null;
}

function updateProblem(input: UpdateInput): string | null {
  if (input.action !== '' && !(ACTIONS as readonly string[]).includes(input.action))
    return `action ${cut(input.action)} must be one of ${ACTIONS.join(', ')}`;
  if (!changesNode(input) && input.permissions === undefined)
    return 'nothing to change: give a name, a size, an action or permissions';
  return (input.name === '' ? null : nodeLabelProblem(input.name)) ?? textProblem('size', input.size, false);
}

/** [verb, state] of a refused change, or null when every part of it is allowed now. */
export function transitionProblem(node: NodeRecord, input: UpdateInput): [string, string] | null {
  const state = node.task === '' ? node.status : `${node.status} (${node.task})`;
  if (node.status === 'DELETING') return [input.action || (input.size !== '' ? 'resize' : 'rename'), state];
  if (input.size !== '' && input.size !== node.size && node.status !== 'STOPPED') return ['resize', state];
  if (input.action === 'start' && !(node.status === 'STOPPED' || node.status === 'ERROR')) return ['start', state];
  if (input.action === 'stop' && !((node.status === 'ACTIVE' && node.task === '') || node.status === 'ERROR'))
    return ['stop', state];
  return null;
}
