/**
 * The permissions of the nodes, kept on disk for a compute whose store is memory
 * (docs/COMPUTE.md "The HTTP API"). A compute that restarts rebuilds its records from the driver
 * (./compute.ts `sync`), which knows nothing of permissions; this file is what gives each
 * rebuilt record the permissions it had. It is one JSON map, node id → permissions, holding only
 * the nodes whose permissions are not their owner's alone, in `permissions.json` of the state
 * directory `compute@<bus>` (beside the driver's, under AGORA_DRIVER_STATE_DIR). Each change is
 * written whole to a temporary file, then renamed over it, so a crash leaves the old map or the
 * new one, never half of one. With PostgreSQL the record keeps its permissions and this is not used.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import {
  copyPermissions,
  ownerOnly,
  permissionsProblem,
  samePermissions,
  type Permissions,
} from '../../lib/permissions';
import type { NodeRecord, NodeStore } from '../../lib/store/contracts';

export const PERMISSIONS_FILE = 'permissions.json';

/**
 * The directory of compute's kept permissions on bus `busUrl`: `compute@<bus host_port>` under
 * `root` (AGORA_DRIVER_STATE_DIR; empty: the OS temp dir's `agora-driver-<uid>`, as the drivers').
 */
export function keptPermissionsDir(root: string, busUrl: string): string {
  const bus = busUrl.replace(/^tcp:\/\//, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(
    root === '' ? path.join(tmpdir(), `agora-driver-${process.getuid?.() ?? 0}`) : root,
    `compute@${bus}`,
  );
}

export class KeptPermissions {
  private readonly kept = new Map<string, Permissions>();
  private readonly file: string;

  /** The map in `dir` (made if absent); a file that cannot be read or parsed is logged and started afresh. */
  constructor(
    dir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(dir, PERMISSIONS_FILE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // none yet
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      for (const [id, permissions] of Object.entries(parsed)) {
        if (permissionsProblem(permissions) !== null) continue;
        const { read, write } = permissions as Permissions;
        this.kept.set(id, { read: [...read], write: [...write] });
      }
    } catch (err) {
      log.warn({ err: errorMessage(err), file: this.file }, 'node permissions file unreadable: started afresh');
    }
  }

  /** The permissions kept for node `id`, if any (none: its owner's alone). */
  get(id: string): Permissions | undefined {
    const found = this.kept.get(id);
    return found === undefined ? undefined : copyPermissions(found);
  }

  /** Keep what `node` now has (its owner's alone: nothing), written to disk when it changed. */
  note(node: Pick<NodeRecord, 'id' | 'owner' | 'permissions'>): void {
    const held = this.kept.get(node.id);
    if (samePermissions(node.permissions, ownerOnly(node.owner))) {
      if (held !== undefined) this.forget(node.id);
      return;
    }
    if (held !== undefined && samePermissions(held, node.permissions)) return;
    this.kept.set(node.id, copyPermissions(node.permissions));
    this.save();
  }

  /** Forget node `id` (deleted). */
  forget(id: string): void {
    if (this.kept.delete(id)) this.save();
  }

  /** A store that notes the permissions of every node it writes and forgets those it deletes. */
  wrap(store: NodeStore): NodeStore {
    return {
      get: (id) => store.get(id),
      list: (owner) => store.list(owner),
      readable: (principals) => store.readable(principals),
      owned: (owner) => store.owned(owner),
      create: async (node, limit, expected) => {
        const created = await store.create(node, limit, expected);
        if (created === 'created') this.note(node);
        return created;
      },
      put: async (node) => {
        const version = await store.put(node);
        this.note(node);
        return version;
      },
      putIfVersion: async (node, version) => {
        const written = await store.putIfVersion(node, version);
        if (written.done) this.note(node);
        return written;
      },
      delete: async (id) => {
        const deleted = await store.delete(id);
        this.forget(id);
        return deleted;
      },
      pruneTombstones: (before) => store.pruneTombstones(before),
    };
  }

  private save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.kept)), { mode: 0o600 });
      renameSync(temporary, this.file);
    } catch (err) {
      // The store has the change; only a restart would lose it.
      this.log.warn({ err: errorMessage(err), file: this.file }, 'node permissions not written');
    }
  }
}
