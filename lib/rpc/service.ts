/**
 * One handler table, two transports (docs/ARCHITECTURE.md "One contract, two transports"). A
 * service writes each unary method of its .proto once, as `(request, ctx) => reply`, typed from
 * the generated `*Definition`; `busHandlers` serves it on the bus and `grpcImplementation`
 * (lib/rpc/grpc.ts) on gRPC. On both, the request reaches the handler in the same shape:
 * decoded by the method's protobuf type, defaults filled and unknown fields dropped, and with
 * the same context.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { AgoraError, errorMessage } from '../errors';
import type { Handlers, RpcContext } from '../bus/worker';
import type { Logger } from '../log';
import type { PublicMethods } from './describe';
import { busPackedOf } from './packed';
import { shapeOf, UNSURE, type MessageDescriptor, type Shape } from './shape';

/** What a handler knows of the call, whichever transport brought it (defined with the bus worker). */
export type { RpcContext } from '../bus/worker';

/**
 * A method definition, whatever its message types: every method's is assignable to it (the
 * request types sit where a subtype is expected, the decoded ones where a supertype is).
 */
type SomeMethod = MethodDefinition<never, never, unknown, unknown>;

/** A method definition as served at run time, its messages checked by its own codec. */
export type UntypedMethod = MethodDefinition<unknown, unknown>;

/** A unary handler as served at run time. */
export type UntypedHandler = (request: unknown, ctx: RpcContext) => unknown;

/**
 * The declared keys of D, without the `[index: string]` signature that generated
 * definitions inherit from grpc.ServiceDefinition (indexing a mapped type by `string`
 * would answer only the signature's type, and no method name).
 */
type KnownKeys<D> = keyof { [K in keyof D as string extends K ? never : number extends K ? never : K]: D[K] };

/** Names of the unary (non-streaming) methods of a service definition. */
export type UnaryMethodNames<D> = {
  [M in KnownKeys<D>]: D[M] extends SomeMethod ? (D[M]['requestStream'] extends true ? never : M) : never;
}[KnownKeys<D>] &
  string;

/** The decoded request of method M. */
export type RequestOf<M> = M extends MethodDefinition<never, never, infer Req, unknown> ? Req : never;
/** What method M may answer (the permissive input form). */
export type ReplyOf<M> = M extends MethodDefinition<never, infer Res, unknown, unknown> ? Res : never;

/** Handlers for every unary method of definition D. */
export type Implementation<D> = {
  [M in UnaryMethodNames<D>]: (request: RequestOf<D[M]>, ctx: RpcContext) => Promise<ReplyOf<D[M]>> | ReplyOf<D[M]>;
};

/** A service as served: its proto name, definition and handlers. */
export interface ServiceImpl<D extends grpc.ServiceDefinition = grpc.ServiceDefinition> {
  /** The .proto service name, which is also its bus service name. */
  name: string;
  definition: D;
  handlers: Implementation<D>;
  /** Methods served on gRPC only (e.g. streams). */
  grpcOnly?: grpc.UntypedServiceImplementation;
  /** Unary methods not offered on the bus (internal-only). */
  busExclude?: readonly string[];
  /**
   * Bus methods the gateway may call on behalf of a signed-in user, with the JSON Schemas of
   * their one param and result, answered by DESCRIBE_METHOD (lib/rpc/describe.ts). None by default.
   */
  publicMethods?: PublicMethods;
}

/**
 * Bus handlers for a service: params `[request]` → reply. The request and the reply take the shape the
 * method's protobuf codec would give them (lib/rpc/shape.ts, or the codec round trip itself where a shape
 * cannot be sure), so the handler sees exactly what gRPC would give it; a reply that carries its own encoding
 * (./packed.ts `withBusPacked`) is sent as those bytes. Each call writes a debug line
 * through its own logger (`ctx.log`, made on first use) when `log`, the process's, logs at debug (without
 * `log`: always, at the level of the call's logger).
 */
export function busHandlers<D extends grpc.ServiceDefinition>(impl: ServiceImpl<D>, log?: Logger): Handlers {
  const debug = log === undefined || log.isLevelEnabled('debug');
  const out: Record<string, (params: unknown[], ctx: RpcContext) => Promise<unknown>> = {};
  for (const name of Object.keys(impl.definition)) {
    const method = impl.definition[name] as UntypedMethod;
    if (method.requestStream || method.responseStream || impl.busExclude?.includes(name)) continue;
    const handler = (impl.handlers as Record<string, UntypedHandler>)[name];
    const requestShape = shapeFor(method.requestType);
    const replyShape = shapeFor(method.responseType);
    out[name] = async (params, ctx) => {
      const request = normalize(method, params[0], requestShape);
      if (debug) ctx.log.debug({ method: name, caller: ctx.caller ?? 'bus' }, 'call');
      const reply = await handler(request, ctx);
      const packed = busPackedOf(reply);
      if (packed !== undefined) return packed;
      const shaped = replyShape === undefined ? UNSURE : replyShape(reply);
      return shaped !== UNSURE ? shaped : method.responseDeserialize(method.responseSerialize(reply));
    };
  }
  return out;
}

function shapeFor(type: { type?: unknown } | undefined): Shape | undefined {
  return type?.type === undefined ? undefined : shapeOf(type.type as MessageDescriptor);
}

/** Decode a bus request the way gRPC would, or fail with AGORA_ERR_RPC_BAD_PARAMS. */
function normalize(method: UntypedMethod, request: unknown, shape: Shape | undefined): unknown {
  if (request === undefined || request === null) request = {};
  if (typeof request !== 'object' || Array.isArray(request)) {
    throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', ['the request must be a map']);
  }
  const shaped = shape === undefined ? UNSURE : shape(request);
  if (shaped !== UNSURE) return shaped;
  const problem = method.requestType.type ? checkFields(method, request as Record<string, unknown>) : null;
  if (problem !== null) throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [problem]);
  try {
    return method.requestDeserialize(method.requestSerialize(request));
  } catch (e) {
    throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [errorMessage(e)]);
  }
}

/** Scalar type checks protobuf's encoder would otherwise coerce silently. */
function checkFields(method: UntypedMethod, request: Record<string, unknown>): string | null {
  const type = method.requestType.type as { field?: Array<{ name: string; type: string; label?: string }> };
  for (const field of type.field ?? []) {
    const value = request[field.name];
    if (value === undefined || value === null) continue;
    const repeated = field.label === 'LABEL_REPEATED';
    for (const item of repeated ? (Array.isArray(value) ? value : [Symbol('not an array')]) : [value]) {
      if (!scalarMatches(field.type, item)) return `field ${field.name} has the wrong type`;
    }
  }
  return null;
}

function scalarMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'TYPE_STRING':
      return typeof value === 'string';
    case 'TYPE_BOOL':
      return typeof value === 'boolean';
    case 'TYPE_UINT64':
    case 'TYPE_UINT32':
    case 'TYPE_FIXED64':
    case 'TYPE_FIXED32':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'TYPE_INT64':
    case 'TYPE_INT32':
    case 'TYPE_SINT64':
    case 'TYPE_SINT32':
    case 'TYPE_SFIXED64':
    case 'TYPE_SFIXED32':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return typeof value === 'number';
    default:
      return typeof value === 'object';
  }
}
