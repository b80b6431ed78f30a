/**
 * Messages' end of the `Stream` gRPC stream (proto/messages.proto): every message posted to a
 * channel, through any Messages instance, reaches every instance's streams of that channel.
 * A post announces its message on the store's topic (lib/store/contracts.ts `Broadcast`: Redis
 * PUBLISH, PostgreSQL NOTIFY; in memory, with no other instance, it stays in this process) once it is stored
 * (on PostgreSQL the store mostly does so itself, in the transaction that stores it: docs/STORAGE.md
 * "PostgreSQL"); each instance hears the topic and writes the message to its streams of that channel. A topic that
 * breaks may lose messages: every stream is then told `reload`, and its follower fetches what
 * follows the last message it has (a gateway does so at each heartbeat anyway).
 */
import type * as grpc from '@grpc/grpc-js';
import { GRPC, errorMessage } from '../../lib/errors';
import type { StreamEvent } from '../../lib/gen/agora/StreamEvent';
import type { StreamRequest__Output } from '../../lib/gen/agora/StreamRequest';
import type { Logger } from '../../lib/log';
import { decodeAnnounces, encodeAnnounce, type Broadcast, type StoredMessage } from '../../lib/store/contracts';

export type StreamCall = grpc.ServerWritableStream<StreamRequest__Output, StreamEvent>;

/** Events a stream may hold unsent before its follower counts as gone. */
export const MAX_QUEUED = 10_000;

export { decodeAnnounce, encodeAnnounce, MAX_TOPIC_BYTES } from '../../lib/store/contracts';

export class MessageStreamHub {
  private readonly streams = new Map<string, Set<StreamCall>>();
  private count = 0;

  /** `topic` undefined: this process is the only instance (memory), and announces to itself. */
  constructor(
    private readonly topic: Broadcast | undefined,
    private readonly log: Logger,
  ) {}

  /** Open streams. */
  get size(): number {
    return this.count;
  }

  /** Hear the topic (before serving). */
  async start(): Promise<void> {
    await this.topic?.subscribe({
      onMessage: (text) => this.onMessage(text),
      onGap: (reason) => {
        this.log.warn({ reason }, 'posted messages may have been missed; streams reload');
        for (const calls of this.streams.values()) for (const call of calls) this.send(call, { reload: true });
      },
    });
  }

  /** Announce a message stored now (never throws: a lost announce is caught up by the followers). */
  announce(channel: string, message: StoredMessage): void {
    if (this.topic === undefined) {
      // The only instance hears only itself: with no stream of the channel here, no one is told.
      if (!this.streams.has(channel)) return;
      const text = encodeAnnounce(channel, message);
      return queueMicrotask(() => this.onMessage(text));
    }
    const text = encodeAnnounce(channel, message);
    this.topic
      .publish(text)
      .catch((err: unknown) => this.log.warn({ detail: errorMessage(err), channel }, 'message not announced'));
  }

  /** Serve one Stream (the grpc-js handler of `Stream`). */
  attach(call: StreamCall): void {
    const channel = call.request.channel;
    let calls = this.streams.get(channel);
    if (calls === undefined) this.streams.set(channel, (calls = new Set()));
    calls.add(call);
    this.count++;
    const gone = (): void => this.drop(channel, call);
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
    this.log.debug({ peer: call.getPeer(), channel, streams: this.count }, 'stream opened');
    this.send(call, { hello: true });
  }

  /** End every stream (shutdown): followers open theirs again on another instance. */
  close(): void {
    for (const [channel, calls] of this.streams)
      for (const call of [...calls]) {
        this.drop(channel, call);
        call.end();
      }
  }

  private onMessage(text: string): void {
    if (this.streams.size === 0) return; // no stream here: nothing to read the announces for
    for (const a of decodeAnnounces(text)) {
      const calls = this.streams.get(a.c);
      if (calls === undefined) continue;
      const event: StreamEvent =
        a.u === undefined || a.m === undefined
          ? { posted: a.i }
          : { message: { messageid: a.i, username: a.u, message: a.m, last_modified: a.t ?? 0 } };
      for (const call of calls) this.send(call, event);
    }
  }

  private drop(channel: string, call: StreamCall): void {
    const calls = this.streams.get(channel);
    if (calls === undefined || !calls.delete(call)) return;
    this.count--;
    if (calls.size === 0) this.streams.delete(channel);
  }

  private send(call: StreamCall, event: StreamEvent): void {
    if (call.writableLength >= MAX_QUEUED) {
      this.drop(call.request.channel, call);
      this.log.warn({ peer: call.getPeer(), queued: call.writableLength }, 'stream too far behind; cut off');
      call.emit('error', { code: GRPC.RESOURCE_EXHAUSTED, details: `more than ${MAX_QUEUED} events unsent` });
      return;
    }
    call.write(event);
  }
}
