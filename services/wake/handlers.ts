/**
 * The wake service's handlers (proto/wake.proto), served on the bus as `Wake` and on gRPC by
 * lib/rpc, and compute's internal methods as the wake service calls them over the bus.
 */
import type { BusCaller } from '../../lib/bus/client';
import type { WakeDefinition } from '../../lib/gen/agora/Wake';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, ServiceImpl } from '../../lib/rpc/service';
import type { ComputeWaker, WakeService } from './wake';

/** A wake's deadline when the call names none. */
const DEFAULT_WAKE_MS = 30_000;

export function buildWakeService(wake: WakeService): ServiceImpl<WakeDefinition> {
  const handlers: Implementation<WakeDefinition> = {
    Wake: async (request, ctx) => {
      const address = await wake.wake(request.node_id, ctx.deadline ?? Date.now() + DEFAULT_WAKE_MS, ctx.reqId);
      return { node_id: request.node_id, host: address.host, port: address.port };
    },
    Activity: (request) => ({ recorded: wake.activity(request.node_ids) }),
  };
  return { name: 'Wake', definition: loadProto('wake.proto').agora.Wake.service, handlers };
}

/** Compute.Wake and Compute.Sleep over the bus (proto/compute.proto). */
export function computeOverBus(bus: BusCaller, sleepTimeoutMs: number): ComputeWaker {
  return {
    wake: async (id, deadline, reqId) => {
      const node = (await bus.call('Compute', 'Wake', [{ id }], { deadline, reqId })) as Partial<
        Record<'status' | 'host', string> & { port: number }
      > | null;
      return { status: node?.status ?? '', host: node?.host ?? '', port: node?.port ?? 0 };
    },
    sleep: async (id) => {
      await bus.call('Compute', 'Sleep', [{ id }], { timeoutMs: sleepTimeoutMs });
    },
  };
}
