/**
 * A typed gRPC client of the Routes service (proto/routes.proto, docs/ROUTING.md "The Routes
 * contract") for the processes that keep its table in step or follow it: compute pushes node
 * targets with it, a proxy loads the table and follows the Watch stream, which this client
 * opens again after a backoff whenever it ends or breaks.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcChannelOptions, grpcTarget } from './config';
import type { NodeTarget } from './gen/agora/NodeTarget';
import type { RouteChange__Output } from './gen/agora/RouteChange';
import type { RoutesClient as GrpcRoutesClient } from './gen/agora/Routes';
import type { RouteTable__Output } from './gen/agora/RouteTable';
import type { Logger } from './log';
import { unary } from './rpc/grpc';
import { loadProto } from './rpc/proto';

export interface RoutesClientOptions {
  /** The Routes service's gRPC address(es), AGORA_ROUTES_GRPC_URL. */
  url: string;
  /** Deadline of each unary call (AGORA_GRPC_TIMEOUT_MS). */
  timeoutMs: number;
  log: Logger;
  /** Backoff of the Watch stream's reopening, doubling from min to max. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The channel's credentials (lib/rpc/grpc.ts grpcSecurity); plaintext by default. */
  credentials?: grpc.ChannelCredentials;
}

/** What a Watch stream tells its follower. */
export interface RouteWatchHandlers {
  /** The stream's hello, or a `reload`: load the table now; every change after it follows on the stream. */
  onReload(): void;
  /** A change, in the order the Routes store made them. */
  onChange?(change: RouteChange__Output): void;
  /** The stream ended or broke (the Routes instance went away); it is opened again after a backoff. */
  onDown?(err: Error | undefined): void;
}

/** One open Watch, followed until `close`. */
export interface RouteWatch {
  close(): void;
}

export class RoutesClient {
  private readonly client: GrpcRoutesClient;

  constructor(private readonly options: RoutesClientOptions) {
    const Routes = loadProto('routes.proto').agora.Routes;
    this.client = new Routes(
      grpcTarget(options.url),
      options.credentials ?? grpc.credentials.createInsecure(),
      grpcChannelOptions(options.url),
    );
  }

  /** Compute's: where a node is now (ignored by Routes when older than what it holds). */
  async syncNode(target: NodeTarget, reqId?: string): Promise<void> {
    await unary(this.client, 'SyncNode', target, { timeoutMs: this.options.timeoutMs, reqId });
  }

  /** Compute's: a node is gone (its last version and epoch). */
  async dropNode(id: string, version: number, epoch: string, reqId?: string): Promise<void> {
    await unary(this.client, 'DropNode', { id, version, epoch }, { timeoutMs: this.options.timeoutMs, reqId });
  }

  /** Every custom route and every node target. */
  table(reqId?: string): Promise<RouteTable__Output> {
    return unary<object, RouteTable__Output>(this.client, 'Table', {}, { timeoutMs: this.options.timeoutMs, reqId });
  }

  /** Follow the Watch stream until `close()`: opened now, and again after a backoff each time it goes down. */
  watch(handlers: RouteWatchHandlers): RouteWatch {
    const min = this.options.backoffMinMs ?? 100;
    const max = this.options.backoffMaxMs ?? 2000;
    let backoff = min;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let stream: grpc.ClientReadableStream<RouteChange__Output> | undefined;
    const open = (): void => {
      if (closed) return;
      const current = this.client.Watch({});
      stream = current;
      let down = false;
      const onDown = (err: Error | undefined): void => {
        if (down || closed) return;
        down = true;
        current.cancel();
        handlers.onDown?.(err);
        timer = setTimeout(open, backoff * (0.8 + Math.random() * 0.4));
        timer.unref();
        backoff = Math.min(backoff * 2, max);
      };
      current.on('data', (change: RouteChange__Output) => {
        if (change.hello === true || change.reload === true) {
          backoff = min;
          handlers.onReload();
        } else handlers.onChange?.(change);
      });
      current.on('error', (err: Error) => onDown(err));
      current.on('end', () => onDown(undefined));
    };
    open();
    return {
      close: () => {
        closed = true;
        clearTimeout(timer);
        stream?.cancel();
      },
    };
  }

  close(): void {
    this.client.close();
  }
}
