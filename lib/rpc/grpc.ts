/**
 * The gRPC transport of a service, and typed gRPC calls to other services. Errors travel
 * as `{ code: <grpc Status>, details: message }` plus metadata `agora-error-code`, and come
 * back as the same AgoraError (docs/ARCHITECTURE.md "One error registry"). `x-request-id`
 * metadata carries the request id.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config';
import { AgoraError, errorMessage, isAgoraError, isErrorCode } from '../errors';
import type { Logger } from '../log';
import type { RpcContext, ServiceImpl, UntypedHandler, UntypedMethod } from './service';

export const ERROR_CODE_KEY = 'agora-error-code';
export const REQUEST_ID_KEY = 'x-request-id';

/** The grpc-js implementation object of a service's unary handlers plus its gRPC-only ones. */
export function grpcImplementation<D extends grpc.ServiceDefinition>(
  impl: ServiceImpl<D>,
  log: Logger,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = { ...(impl.grpcOnly ?? {}) };
  for (const name of Object.keys(impl.definition)) {
    const method = impl.definition[name] as UntypedMethod;
    if (method.requestStream || method.responseStream) continue;
    const handler = (impl.handlers as Record<string, UntypedHandler>)[name];
    out[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const reqId = firstString(call.metadata.get(REQUEST_ID_KEY));
      const deadline = call.getDeadline();
      const ctx: RpcContext = {
        service: impl.name,
        method: name,
        reqId,
        deadline:
          deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined,
        log: reqId === undefined ? log : log.child({ reqId }),
      };
      // At debug level, each call leaves a line with the caller's request id.
      ctx.log.debug({ method: name, caller: 'grpc' }, 'call');
      Promise.resolve()
        .then(() => handler(call.request, ctx))
        .then(
          (reply) => callback(null, reply),
          (err: unknown) => {
            if (!isAgoraError(err)) ctx.log.error({ err, method: name }, 'handler failed');
            callback(toServiceError(err));
          },
        );
    };
  }
  return out;
}

/** An error as grpc-js sends it: status, details, and our code in metadata. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const e = isAgoraError(err) ? err : new AgoraError('AGORA_ERR_INTERNAL');
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  return { code: e.grpc, details: e.message, metadata };
}

/** The AgoraError a failed gRPC call stands for. */
export function fromServiceError(err: unknown, target: string): AgoraError {
  const status = err as Partial<grpc.ServiceError>;
  const code = status.metadata ? firstString(status.metadata.get(ERROR_CODE_KEY)) : undefined;
  if (isErrorCode(code)) return new AgoraError(code, [], { message: status.details ?? errorMessage(err) });
  if (status.code === grpc.status.DEADLINE_EXCEEDED) return new AgoraError('AGORA_ERR_RPC_TIMEOUT', [target]);
  if (status.code === grpc.status.UNAVAILABLE || status.code === grpc.status.CANCELLED)
    return new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', [target], { cause: err });
  return new AgoraError('AGORA_ERR_INTERNAL', [], { cause: err });
}

/** A unary method of a generated grpc-js client, in the overload `unary` calls. */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, reply: Res) => void,
) => grpc.ClientUnaryCall;

export interface UnaryOptions {
  /** The caller's absolute deadline: the call ends at it, or after timeoutMs if that comes first. */
  deadline?: number;
  reqId?: string;
}

/**
 * A promise-returning unary call on a generated grpc-js client, with a deadline always.
 * It waits for a connection until that deadline (gRPC's wait-for-ready) rather than failing
 * at once while the channel reconnects, so a callee restarting (a rolling restart, several
 * instances coming back) costs callers a short wait, not errors; a callee still unreachable
 * at the deadline is AGORA_ERR_RPC_UNAVAILABLE, not a timeout.
 */
export function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  options: UnaryOptions & { timeoutMs: number },
): Promise<Res> {
  const metadata = new grpc.Metadata({ waitForReady: true });
  if (options.reqId !== undefined) metadata.set(REQUEST_ID_KEY, options.reqId);
  const deadline = Math.min(options.deadline ?? Infinity, Date.now() + options.timeoutMs);
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[method];
  const trace = new Error();
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, metadata, { deadline }, (err: grpc.ServiceError | null, reply: Res) => {
      if (err === null) return resolve(reply);
      const unreachable =
        err.code === grpc.status.DEADLINE_EXCEEDED &&
        client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY;
      const e = unreachable
        ? new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', [method], { cause: err })
        : fromServiceError(err, method);
      e.stack = `${e.name}: ${e.message}\n${(trace.stack ?? '').split('\n').slice(1).join('\n')}`;
      return reject(e);
    });
  });
}

/** Bind a grpc-js server at `address` (port 0: any free port); resolves with the bound port. */
export function bindServer(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** The credentials of a service's gRPC: its server's, and those of the channels it dials. */
export interface GrpcSecurity {
  server: grpc.ServerCredentials;
  client: grpc.ChannelCredentials;
  /** Mutual TLS (else plaintext). */
  tls: boolean;
}

type TlsConfig = Pick<Config, 'grpcTlsCert' | 'grpcTlsKey' | 'grpcTlsCa' | 'grpcInsecure'>;

const TLS_VARIABLES = 'AGORA_GRPC_TLS_CERT, AGORA_GRPC_TLS_KEY and AGORA_GRPC_TLS_CA';

/**
 * gRPC between services is mutual TLS when the three AGORA_GRPC_TLS_* files are configured:
 * the server asks every client for a certificate signed by the CA (checkClientCertificate),
 * and the clients present theirs and check the server's against the same CA. Without them it
 * is plaintext, which a service accepts only on a loopback address (`bindAddress`) unless
 * AGORA_GRPC_INSECURE is true. Answers the problems, one per line, for an exit 78.
 */
export function grpcSecurity(config: TlsConfig, bindAddress?: string): GrpcSecurity | { problems: string[] } {
  const files = [config.grpcTlsCert, config.grpcTlsKey, config.grpcTlsCa];
  const set = files.filter((f) => f !== '').length;
  if (set === 0) {
    if (bindAddress !== undefined && !isLoopback(bindAddress) && !config.grpcInsecure)
      return {
        problems: [
          `gRPC would bind ${bindAddress}, not a loopback address, in plaintext: set ${TLS_VARIABLES} (mutual TLS), or AGORA_GRPC_INSECURE=true`,
        ],
      };
    return {
      server: grpc.ServerCredentials.createInsecure(),
      client: grpc.credentials.createInsecure(),
      tls: false,
    };
  }
  if (set < 3) return { problems: [`${TLS_VARIABLES} must be set together (mutual TLS), or none of them`] };
  const read = (name: string, file: string): Buffer | string => {
    try {
      return readFileSync(file);
    } catch (e) {
      return `${name} cannot be read: ${errorMessage(e)}`;
    }
  };
  const [cert, key, ca] = [
    read('AGORA_GRPC_TLS_CERT', config.grpcTlsCert),
    read('AGORA_GRPC_TLS_KEY', config.grpcTlsKey),
    read('AGORA_GRPC_TLS_CA', config.grpcTlsCa),
  ];
  if (typeof cert === 'string' || typeof key === 'string' || typeof ca === 'string')
    return { problems: [cert, key, ca].filter((p): p is string => typeof p === 'string') };
  try {
    return {
      server: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true),
      client: grpc.credentials.createSsl(ca, key, cert),
      tls: true,
    };
  } catch (e) {
    return { problems: [`${TLS_VARIABLES} do not make TLS credentials: ${errorMessage(e)}`] };
  }
}

/** Whether a host:port names this machine's loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopback(address: string): boolean {
  const host = address
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Stop taking calls, let running ones finish (up to `graceMs`), then force. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function firstString(values: grpc.MetadataValue[]): string | undefined {
  const v = values[0];
  return typeof v === 'string' ? v : undefined;
}
