/**
 * The gateway's MessageFeeds (lib/messages-feed.ts), made at the first message stream a client opens:
 * until then the gateway loads neither grpc-js nor the Messages proto, some 4 MB of resident memory
 * that a gateway serving no stream never needs (README.md "The parts").
 */
import type { FeedListener, MessageFeeds } from '../lib/messages-feed';

export class LazyFeeds implements Pick<MessageFeeds, 'listen'> {
  private feeds?: Promise<MessageFeeds>;

  /** `make` is called once, at the first `listen`. */
  constructor(private readonly make: () => Promise<MessageFeeds>) {}

  /** Whether the feeds were made. */
  get made(): boolean {
    return this.feeds !== undefined;
  }

  async listen(channel: string, listener: FeedListener): Promise<() => void> {
    this.feeds ??= this.make();
    return (await this.feeds).listen(channel, listener);
  }

  /** Close the feeds if they were made (once made, if they are being made). */
  close(): void {
    void this.feeds?.then(
      (feeds) => feeds.close(),
      () => undefined,
    );
  }
}
