/**
 * The compute service (docs/COMPUTE.md "The compute service"): handlers for proto service
 * `Compute`, served on the bus and on gRPC by lib/rpc. Each call resolves the caller's
 * session to a username, then asks the core (./compute.ts), which checks and calls the
 * driver.
 */
import type { ComputeDefinition } from '../../lib/gen/agora/Compute';
import type { NodePermissions__Output } from '../../lib/gen/agora/NodePermissions';
import { nodeUrl } from '../../lib/hosts';
import type { Node } from '../../lib/gen/agora/Node';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { Permissions } from '../../lib/permissions';
import type { NodeRecord } from '../../lib/store/contracts';
import type { Compute } from './compute';

/** Where the nodes' static URLs point: the proxy's domain and port (AGORA_PROXY_DOMAIN, AGORA_PROXY_PORT). */
export interface ProxyAddress {
  domain: string;
  port: number;
}

export interface ComputeDeps {
  compute: Compute;
  sessions: SessionResolver;
  proxy: ProxyAddress;
}

/** The wire form of a record, with its static URL (docs/ROUTING.md "Static URLs"). */
export function nodeOf(record: NodeRecord, proxy: ProxyAddress): Node {
  return {
    id: record.id,
    name: record.name,
    owner: record.owner,
    image: record.image,
    size: record.size,
    command: record.command,
    status: record.status,
    task: record.task,
    reason: record.reason,
    host: record.host,
    port: record.port,
    pid: record.pid,
    exit_code: record.exitCode,
    signal: record.signal,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    version: record.version,
    url: nodeUrl(record.name, record.owner, proxy.domain, proxy.port),
    permissions: { read: [...record.permissions.read], write: [...record.permissions.write] },
  };
}

/** The kinds of permission a request names: those its flags set (a create: both, when it names any). */
function asked(
  given: NodePermissions__Output | null,
  kinds: { read: boolean; write: boolean },
): Partial<Permissions> | undefined {
  if (given === null || (!kinds.read && !kinds.write)) return undefined;
  return { ...(kinds.read ? { read: given.read } : {}), ...(kinds.write ? { write: given.write } : {}) };
}

/** A wake's deadline when the call names none. */
const WAKE_DEFAULT_MS = 30_000;

/** The version a write names for its compare-and-write, if any. */
function expected(request: { check_version: boolean; expected_version: number }): number | undefined {
  return request.check_version ? request.expected_version : undefined;
}

export function buildComputeHandlers(deps: ComputeDeps): Implementation<ComputeDefinition> {
  const user = (sesskey: number, ctx: RpcContext): Promise<string> => deps.sessions.resolve(sesskey, ctx);
  const { compute } = deps;
  const wire = (record: NodeRecord): Node => nodeOf(record, deps.proxy);
  return {
    Create: async (request, ctx) => {
      const permissions = asked(request.permissions, { read: true, write: true });
      const input = { ...request, permissions };
      return wire(await compute.create(await user(request.sesskey, ctx), input, ctx.reqId, expected(request)));
    },
    List: async (request, ctx) => {
      const { nodes, deleted, version, shared } = await compute.list(await user(request.sesskey, ctx));
      return {
        nodes: nodes.map(wire),
        version,
        shared,
        deleted: deleted.map((t) => ({ id: t.id, last_modified: t.lastModified })),
      };
    },
    Get: async (request, ctx) => wire(await compute.get(await user(request.sesskey, ctx), request.id)),
    Update: async (request, ctx) => {
      const permissions = asked(request.permissions ?? { read: [], write: [] }, {
        read: request.set_read,
        write: request.set_write,
      });
      const input = { ...request, permissions };
      return wire(
        await compute.update(await user(request.sesskey, ctx), request.id, input, ctx.reqId, expected(request)),
      );
    },
    Delete: async (request, ctx) =>
      wire(await compute.delete(await user(request.sesskey, ctx), request.id, ctx.reqId, expected(request))),
    Output: async (request, ctx) => compute.output(await user(request.sesskey, ctx), request.id, ctx.reqId),
    // Internal: the wake service's, by node id and without a session (proto/compute.proto).
    Wake: async (request, ctx) =>
      wire(await compute.wake(request.id, ctx.deadline ?? Date.now() + WAKE_DEFAULT_MS, ctx.reqId)),
    Sleep: async (request, ctx) => wire(await compute.sleep(request.id, ctx.reqId)),
  };
}

/** The `Compute` service as lib/rpc serves it. */
export function buildComputeService(deps: ComputeDeps): ServiceImpl<ComputeDefinition> {
  return {
    name: 'Compute',
    definition: loadProto('compute.proto').agora.Compute.service,
    handlers: buildComputeHandlers(deps),
  };
}
