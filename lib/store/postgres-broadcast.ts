/**
 * A Broadcast (./contracts.ts) on PostgreSQL's LISTEN/NOTIFY, for processes that share a
 * database: what auth instances fan session invalidations out on when Redis is not set.
 */
import { Client } from 'pg';
import { errorMessage } from '../errors';
import type { Broadcast } from './contracts';
import { storeError, type PgDatabase } from './postgres-pool';

/** The most messages one notify statement carries. */
const MAX_NOTIFY_BATCH = 500;
/** PostgreSQL refuses a payload of this many bytes or more: such a message fails in a statement of its own. */
const PAYLOAD_MAX_BYTES = 8000;
/** Every message of `$2`, in order, in one statement and so one transaction. */
const NOTIFY_SQL = 'SELECT pg_notify($1, u.m) FROM unnest($2::text[]) WITH ORDINALITY AS u(m, o) ORDER BY u.o';

interface Queued {
  message: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A Broadcast on LISTEN/NOTIFY: notifications reach listeners in commit order, the same
 * order for all. The listening connection is its own (not the pool's); when it breaks,
 * `onGap` fires and it reconnects with a doubling backoff.
 */
export class PgBroadcast implements Broadcast {
  private listener: Client | undefined;
  /** The listener once its LISTEN has succeeded. */
  private listening: Client | undefined;
  private handlers: { onMessage(message: string): void; onGap(reason: string): void } | undefined;
  private closed = false;
  private backoffMs = 100;
  private timer: NodeJS.Timeout | undefined;
  /** Messages waiting for the notify in flight to be answered, in publish order. */
  private readonly queued: Queued[] = [];
  private flushing = false;

  constructor(
    private readonly db: PgDatabase,
    /** A PostgreSQL identifier, e.g. agora_auth. */
    private readonly channel: string,
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new RangeError(`bad channel name ${channel}`);
  }

  /**
   * One notify statement at a time (a pg Client must not be handed a query while it runs another);
   * the messages published meanwhile go together in the next, in order: one round trip and one
   * commit for all of them, not one each.
   */
  publish(message: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queued.length > 0) {
      // PostgreSQL delivers one of identical payloads notified in one transaction: a statement stops
      // before a message it already carries, which goes in the next.
      const carried = new Set<string>();
      for (const { message } of this.queued) {
        const refused = message.length * 3 >= PAYLOAD_MAX_BYTES && Buffer.byteLength(message) >= PAYLOAD_MAX_BYTES;
        if (carried.size === MAX_NOTIFY_BATCH || carried.has(message) || (refused && carried.size > 0)) break;
        carried.add(message);
        if (refused) break;
      }
      const n = carried.size;
      const batch = this.queued.splice(0, n);
      try {
        await this.notify(batch.map((q) => q.message));
        for (const q of batch) q.resolve();
      } catch (e) {
        for (const q of batch) q.reject(e);
      }
    }
    this.flushing = false;
  }

  /**
   * On the listening connection when it is up: a busy pool must not delay heartbeats (which
   * would fence auth instances under load for nothing), and this connection serves nothing else.
   */
  private async notify(messages: string[]): Promise<void> {
    const listener = this.listening;
    if (listener === undefined) {
      await this.db.query(NOTIFY_SQL, [this.channel, messages]);
      return;
    }
    try {
      await listener.query(NOTIFY_SQL, [this.channel, messages]);
    } catch (e) {
      throw storeError('PostgreSQL', e);
    }
  }

  async subscribe(handlers: { onMessage(message: string): void; onGap(reason: string): void }): Promise<void> {
    this.handlers = handlers;
    await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    this.listening = undefined;
    await listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    // TCP keep-alive: a listener whose server vanished without a word must notice, reconnect and resubscribe.
    const client = new Client({
      connectionString: this.db.options.url,
      connectionTimeoutMillis: this.db.options.timeoutMs,
      query_timeout: this.db.options.timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    const down = (err: unknown): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listening = undefined;
      client.end().catch(() => undefined);
      this.handlers?.onGap(`listen connection lost: ${errorMessage(err)}`);
      this.retry();
    };
    client.on('error', down);
    client.on('end', () => down(new Error('connection ended')));
    client.on('notification', (n) => {
      if (this.listener === client && n.channel === this.channel) this.handlers?.onMessage(n.payload ?? '');
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      if (this.listener === client) this.listening = client;
      this.backoffMs = 100;
    } catch (e) {
      down(e);
      throw storeError('PostgreSQL', e);
    }
  }

  private retry(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.listen().catch(() => undefined), this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
  }
}
