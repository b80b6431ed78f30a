/**
 * Compute's side of the driver contract (proto/driver.proto): typed calls to the driver
 * service named by AGORA_COMPUTE_DRIVER. A driver in another language may leave out keys
 * holding defaults, so every reply is passed through the contract's protobuf codec, which
 * fills them in (and turns a reply that is not a map into AGORA_ERR_BUS_BAD_REPLY).
 */
import type { BusCaller } from '../../lib/bus/client';
import { AgoraError } from '../../lib/errors';
import type { DriverCreateRequest__Output } from '../../lib/gen/agora/DriverCreateRequest';
import type { DriverNode__Output } from '../../lib/gen/agora/DriverNode';
import { loadProto } from '../../lib/rpc/proto';

export type DriverNodeView = DriverNode__Output;

/** A Create request, every field given. */
export type DriverSpec = DriverCreateRequest__Output;

/** The driver contract as compute calls it. */
export interface DriverApi {
  create(spec: DriverSpec, reqId?: string): Promise<DriverNodeView>;
  start(id: string, reqId?: string): Promise<DriverNodeView>;
  stop(id: string, reqId?: string): Promise<DriverNodeView>;
  delete(id: string, reqId?: string): Promise<DriverNodeView>;
  status(id: string, reqId?: string): Promise<DriverNodeView>;
  update(id: string, name: string, size: string, reqId?: string): Promise<DriverNodeView>;
  list(): Promise<DriverNodeView[]>;
}

export interface DriverClientOptions {
  bus: BusCaller;
  /** The driver's bus service name. */
  service: string;
  /** Deadline of each call. */
  timeoutMs: number;
}

type Method = 'Create' | 'Start' | 'Stop' | 'Delete' | 'Status' | 'List' | 'Update';

export function createDriverClient(options: DriverClientOptions): DriverApi {
  const definition = loadProto('driver.proto').agora.Driver.service;
  // Every driver method is idempotent (docs/COMPUTE.md), so the broker may retry it.
  const call = async <T>(method: Method, request: object, reqId?: string): Promise<T> => {
    const reply = await options.bus.call(options.service, method, [request], {
      timeoutMs: options.timeoutMs,
      reqId,
      idempotent: true,
    });
    if (reply === null || typeof reply !== 'object' || Array.isArray(reply))
      throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`${options.service}.${method}`]);
    const codec = definition[method];
    try {
      return codec.responseDeserialize(codec.responseSerialize(reply)) as T;
    } catch {
      throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`${options.service}.${method}`]);
    }
  };
  return {
    create: (spec, reqId) => call('Create', spec, reqId),
    start: (id, reqId) => call('Start', { id }, reqId),
    stop: (id, reqId) => call('Stop', { id }, reqId),
    delete: (id, reqId) => call('Delete', { id }, reqId),
    status: (id, reqId) => call('Status', { id }, reqId),
    update: (id, name, size, reqId) => call('Update', { id, name, size }, reqId),
    list: async () => (await call<{ nodes: DriverNodeView[] }>('List', { owner: '' })).nodes,
  };
}
