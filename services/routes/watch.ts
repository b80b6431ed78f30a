/**
 * Routes' end of the `Watch` stream (proto/routes.proto, docs/ROUTING.md "The Routes contract"):
 * each stream gets `hello` first, then every change of the store, from any Routes instance
 * (./relay.ts brings them), in the order the store made them, and `reload` whenever changes may
 * have been missed. A follower that falls too far behind is cut off (it reconnects and loads
 * the table again) rather than held in memory without bound.
 */
import type * as grpc from '@grpc/grpc-js';
import { GRPC } from '../../lib/errors';
import type { RouteChange } from '../../lib/gen/agora/RouteChange';
import type { WatchRoutesRequest__Output } from '../../lib/gen/agora/WatchRoutesRequest';
import type { Logger } from '../../lib/log';

export type WatchCall = grpc.ServerWritableStream<WatchRoutesRequest__Output, RouteChange>;

/** Messages a stream may hold unsent before its follower counts as gone. */
export const MAX_QUEUED = 10_000;

export class RouteWatchHub {
  private readonly streams = new Set<WatchCall>();

  constructor(private readonly log: Logger) {}

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Serve one Watch stream (the grpc-js handler of `Watch`). */
  attach(call: WatchCall): void {
    this.streams.add(call);
    const gone = (): void => {
      if (this.streams.delete(call))
        this.log.info({ peer: call.getPeer(), watchers: this.streams.size }, 'watcher gone');
    };
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
    this.log.info({ peer: call.getPeer(), watchers: this.streams.size }, 'watcher connected');
    this.send(call, { hello: true });
  }

  /** A change, to every stream. */
  publish(change: RouteChange): void {
    for (const call of this.streams) this.send(call, change);
  }

  /** Changes may have been missed: every follower loads the table again. */
  reload(): void {
    for (const call of this.streams) this.send(call, { reload: true });
  }

  /** End every stream (shutdown): followers reconnect to another instance, or to this one once back. */
  close(): void {
    for (const call of [...this.streams]) {
      this.streams.delete(call);
      call.end();
    }
  }

  private send(call: WatchCall, message: RouteChange): void {
    if (call.writableLength >= MAX_QUEUED) {
      this.streams.delete(call);
      this.log.warn({ peer: call.getPeer(), queued: call.writableLength }, 'watcher too far behind; cut off');
      call.emit('error', { code: GRPC.RESOURCE_EXHAUSTED, details: `more than ${MAX_QUEUED} changes unsent` });
      return;
    }
    call.write(message);
  }
}
