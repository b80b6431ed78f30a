/**
 * The compute service (docs/COMPUTE.md "The compute service"): handlers for proto service
 * `Compute`, served on the bus and on gRPC by lib/rpc. Each call resolves the caller's
 * session to a username, then asks the core (./compute.ts), which checks and calls the
 * driver.
 */
import type { ComputeDefinition } from '../../lib/gen/agora/Compute';
import type { Node } from '../../lib/gen/agora/Node';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, RpcContext, ServiceImpl } from '../../lib/rpc/service';
import type { SessionResolver } from '../../lib/session-cache';
import type { NodeRecord } from '../../lib/store/contracts';
import type { Compute } from './compute';

export interface ComputeDeps {
  compute: Compute;
  sessions: SessionResolver;
}

/** The wire form of a record. */
export function nodeOf(record: NodeRecord): Node {
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
  };
}

/** The version a write names for its compare-and-write, if any. */
function expected(request: { check_version: boolean; expected_version: number }): number | undefined {
  return request.check_version ? request.expected_version : undefined;
}

export function buildComputeHandlers(deps: ComputeDeps): Implementation<ComputeDefinition> {
  const user = (sesskey: number, ctx: RpcContext): Promise<string> => deps.sessions.resolve(sesskey, ctx);
  const { compute } = deps;
  return {
    Create: async (request, ctx) =>
      nodeOf(await compute.create(await user(request.sesskey, ctx), request, ctx.reqId, expected(request))),
    List: async (request, ctx) => {
      const { nodes, version } = await compute.list(await user(request.sesskey, ctx));
      return { nodes: nodes.map(nodeOf), version };
    },
    Get: async (request, ctx) => nodeOf(await compute.get(await user(request.sesskey, ctx), request.id)),
    Update: async (request, ctx) =>
      nodeOf(await compute.update(await user(request.sesskey, ctx), request.id, request, ctx.reqId, expected(request))),
    Delete: async (request, ctx) =>
      nodeOf(await compute.delete(await user(request.sesskey, ctx), request.id, ctx.reqId, expected(request))),
    Output: async (request, ctx) => compute.output(await user(request.sesskey, ctx), request.id, ctx.reqId),
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
