/**
 * A gateway's following of the Messages service's `Stream` (proto/messages.proto): one gRPC
 * stream per channel, however many listeners (the SSE clients of gateway/v1/stream.ts) the
 * channel has here, opened by its first listener and cancelled after its last has left. A stream
 * that ends or breaks (its Messages instance went away) is opened again after a backoff; on its
 * hello every listener is told to catch up, since messages may have been posted meanwhile.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcChannelOptions, grpcTarget } from './config';
import { within } from './deadline';
import { AgoraError } from './errors';
import type { Message__Output } from './gen/agora/Message';
import type { MessagesClient } from './gen/agora/Messages';
import type { StreamEvent__Output } from './gen/agora/StreamEvent';
import type { Logger } from './log';
import { loadProto } from './rpc/proto';

export interface FeedOptions {
  /** The Messages service's gRPC address(es), AGORA_MESSAGES_GRPC_URL. */
  url: string;
  /** How long a first listener waits for its channel's stream to say hello. */
  timeoutMs: number;
  log: Logger;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The channel's credentials (lib/rpc/grpc.ts grpcSecurity); plaintext by default. */
  credentials?: grpc.ChannelCredentials;
}

/** A message as the /v1 protocol shows it: with the store's `last_modified` (ms since the epoch). */
export interface FeedMessage {
  messageid: number;
  username: string;
  message: string;
  last_modified: number;
}
/** What a listener of one channel is told. */
export interface FeedListener {
  /** A message posted to the channel, whole (`last_modified` 0 when the instance that posted it did not say). */
  message(message: FeedMessage): void;
  /** Messages may have been posted that this listener was not told of: fetch what follows its last. */
  catchUp(): void;
}

interface Feed {
  listeners: Set<FeedListener>;
  stream?: grpc.ClientReadableStream<StreamEvent__Output>;
  /** Resolved at the first hello. */
  ready: Promise<void>;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

export class MessageFeeds {
  private readonly client: MessagesClient;
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly options: FeedOptions) {
    const Messages = loadProto('messages.proto').agora.Messages;
    this.client = new Messages(
      grpcTarget(options.url),
      options.credentials ?? grpc.credentials.createInsecure(),
      grpcChannelOptions(options.url),
    );
  }

  /** Channels followed now. */
  get channels(): number {
    return this.feeds.size;
  }

  /**
   * Listen to `channel`: resolves once its stream has said hello (every message posted from then
   * on reaches `listener`), or fails with AGORA_ERR_RPC_UNAVAILABLE; answers the unsubscribe.
   */
  async listen(channel: string, listener: FeedListener): Promise<() => void> {
    let feed = this.feeds.get(channel);
    if (feed === undefined) {
      feed = this.open(channel);
      this.feeds.set(channel, feed);
    }
    feed.listeners.add(listener);
    const leave = (): void => this.leave(channel, listener);
    try {
      await within(
        feed.ready,
        this.options.timeoutMs,
        () => new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', ['Messages (its message stream)']),
      );
    } catch (e) {
      leave();
      throw e;
    }
    return leave;
  }

  close(): void {
    for (const channel of [...this.feeds.keys()]) this.stop(channel);
    this.client.close();
  }

  private leave(channel: string, listener: FeedListener): void {
    const feed = this.feeds.get(channel);
    if (feed === undefined) return;
    feed.listeners.delete(listener);
    if (feed.listeners.size === 0) this.stop(channel);
  }

  private stop(channel: string): void {
    const feed = this.feeds.get(channel);
    if (feed === undefined) return;
    this.feeds.delete(channel);
    feed.closed = true;
    clearTimeout(feed.timer);
    feed.stream?.cancel();
  }

  private open(channel: string): Feed {
    let hello!: () => void;
    const feed: Feed = { listeners: new Set(), ready: new Promise((resolve) => (hello = resolve)), closed: false };
    const min = this.options.backoffMinMs ?? 100;
    const max = this.options.backoffMaxMs ?? 2000;
    let backoff = min;
    let first = true;
    const connect = (): void => {
      if (feed.closed) return;
      const current = this.client.Stream({ channel });
      feed.stream = current;
      let down = false;
      const onDown = (err: Error | undefined): void => {
        if (down || feed.closed) return;
        down = true;
        current.cancel();
        this.options.log.warn({ channel, detail: err?.message }, 'message stream down; opening it again');
        feed.timer = setTimeout(connect, backoff * (0.8 + Math.random() * 0.4));
        feed.timer.unref();
        backoff = Math.min(backoff * 2, max);
      };
      current.on('data', (event: StreamEvent__Output) => {
        if (event.hello === true) {
          backoff = min;
          if (first) {
            first = false;
            hello();
          } else for (const l of feed.listeners) l.catchUp();
        } else if (event.message !== null && event.message !== undefined) {
          const m = plain(event.message);
          for (const l of feed.listeners) l.message(m);
        } else for (const l of feed.listeners) l.catchUp();
      });
      current.on('error', (err: Error) => onDown(err));
      current.on('end', () => onDown(undefined));
    };
    connect();
    return feed;
  }
}

function plain(m: Message__Output): FeedMessage {
  return {
    messageid: Number(m.messageid),
    username: m.username,
    message: m.message,
    last_modified: Number(m.last_modified),
  };
}
