/**
 * Messages' end of the `Stream` gRPC stream (proto/messages.proto): every message posted to a
 * channel, through any Messages instance, reaches every instance's streams of that channel.
 * A post announces its message on the store's topic (lib/store/contracts.ts `Broadcast`: Redis
 * PUBLISH, PostgreSQL NOTIFY; in memory, with no other instance, it stays in this process) once it is stored
 * (on PostgreSQL the store mostly does so itself, in the transaction that stores it: docs/STORAGE.md
 * "PostgreSQL"); each instance hears the topic while it has streams open (a subscription made for its first
 * stream, left some seconds after its last) and writes the message to its streams of that channel. A topic that
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

/** How long a process keeps hearing the topic after its last stream has gone. */
export const HEAR_LINGER_MS = 10_000;

type Handlers = Parameters<Broadcast['subscribe']>[0];

export class MessageStreamHub {
  /** The streams told hello, by channel: what the topic's announces are written to. */
  private readonly streams = new Map<string, Set<StreamCall>>();
  /** The streams waiting for the topic to be heard before their hello. */
  private readonly waiting = new Set<StreamCall>();
  private count = 0;
  /** Settles once the topic is heard (undefined: not subscribed); its handlers, the only ones heeded. */
  private hearing: Promise<void> | undefined;
  private handlers: Handlers | undefined;
  /** The unsubscription in progress, which a new subscription waits for. */
  private closing: Promise<void> = Promise.resolve();
  private idle: NodeJS.Timeout | undefined;

  /**
   * `topic` undefined: this process is the only instance (memory), and announces to itself. Else the
   * topic is heard only while a stream is open here, and `lingerMs` after the last has gone: hearing
   * it costs the backend and this process a wake-up per announce, which no one reads without a stream.
   */
  constructor(
    private readonly topic: Broadcast | undefined,
    private readonly log: Logger,
    private readonly lingerMs = HEAR_LINGER_MS,
  ) {}

  /** Open streams. */
  get size(): number {
    return this.count;
  }

  /** Whether the topic is heard now (or its subscription is under way). */
  get hears(): boolean {
    return this.hearing !== undefined;
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

  /**
   * Serve one Stream (the grpc-js handler of `Stream`): hello once the topic is heard, so that every
   * message stored after the hello reaches it and its follower fetches what was stored before; if the
   * topic cannot be heard, UNAVAILABLE (the follower opens it again later).
   */
  attach(call: StreamCall): void {
    this.count++;
    const gone = (): void => this.drop(call);
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
    const channel = call.request.channel;
    this.log.debug({ peer: call.getPeer(), channel, streams: this.count }, 'stream opened');
    const greet = (): void => {
      let calls = this.streams.get(channel);
      if (calls === undefined) this.streams.set(channel, (calls = new Set()));
      calls.add(call);
      this.send(call, { hello: true });
    };
    if (this.topic === undefined) return greet();
    this.waiting.add(call);
    clearTimeout(this.idle);
    this.hear(this.topic).then(
      () => {
        if (this.waiting.delete(call)) greet();
      },
      (err: unknown) => {
        if (!this.waiting.has(call)) return;
        this.drop(call);
        call.emit('error', {
          code: GRPC.UNAVAILABLE,
          details: `the message topic cannot be heard: ${errorMessage(err)}`,
        });
      },
    );
  }

  /** Subscribe to the topic unless subscribed (or subscribing); settles once it is heard. */
  private hear(topic: Broadcast): Promise<void> {
    if (this.hearing !== undefined) return this.hearing;
    const handlers: Handlers = {
      onMessage: (text) => {
        if (this.handlers === handlers) this.onMessage(text);
      },
      onGap: (reason) => {
        if (this.handlers !== handlers) return;
        this.log.warn({ reason }, 'posted messages may have been missed; streams reload');
        for (const calls of this.streams.values()) for (const call of calls) this.send(call, { reload: true });
      },
    };
    this.handlers = handlers;
    const hearing = this.closing.then(() => topic.subscribe(handlers));
    this.hearing = hearing;
    hearing.catch((err: unknown) => {
      if (this.hearing !== hearing) return;
      this.log.warn({ detail: errorMessage(err) }, 'the message topic cannot be heard; streams are refused');
      this.unhear(); // the next stream tries again
    });
    return hearing;
  }

  /** Stop hearing the topic once no stream has been open for `lingerMs`. */
  private unhearLater(): void {
    if (this.count > 0 || this.hearing === undefined) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.count === 0) this.unhear();
    }, this.lingerMs);
    this.idle.unref();
  }

  private unhear(): void {
    const { topic, hearing } = this;
    if (topic === undefined || hearing === undefined) return;
    this.hearing = undefined;
    this.handlers = undefined;
    this.closing = hearing
      .catch(() => undefined)
      .then(() => topic.close())
      .catch((err: unknown) => this.log.warn({ detail: errorMessage(err) }, 'the message topic was not left cleanly'));
  }

  /** End every stream (shutdown): followers open theirs again on another instance. */
  close(): void {
    clearTimeout(this.idle);
    for (const call of [...this.waiting, ...[...this.streams.values()].flatMap((calls) => [...calls])]) {
      this.drop(call);
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

  private drop(call: StreamCall): void {
    const channel = call.request.channel;
    const calls = this.streams.get(channel);
    if (this.waiting.delete(call)) this.count--;
    else if (calls !== undefined && calls.delete(call)) {
      this.count--;
      if (calls.size === 0) this.streams.delete(channel);
    } else return;
    this.unhearLater();
  }

  private send(call: StreamCall, event: StreamEvent): void {
    if (call.writableLength >= MAX_QUEUED) {
      this.drop(call);
      this.log.warn({ peer: call.getPeer(), queued: call.writableLength }, 'stream too far behind; cut off');
      call.emit('error', { code: GRPC.RESOURCE_EXHAUSTED, details: `more than ${MAX_QUEUED} events unsent` });
      return;
    }
    call.write(event);
  }
}
