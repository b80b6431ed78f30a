/**
 * A Broadcast (./contracts.ts) on PostgreSQL's LISTEN/NOTIFY, for processes that share a
 * database: what auth instances fan session invalidations out on when Redis is not set. The topics
 * of a process on one database listen on one connection (`PgListener`). A topic that appends
 * announce on only while someone hears it (the messages topic) is `listed`: its subscribers list
 * themselves in agora_topic_listeners (./migrations.ts, migration 17) while they listen.
 */
import { randomBytes } from 'node:crypto';
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

type Handlers = { onMessage(message: string): void; onGap(reason: string): void };

/**
 * A listing lasts `leaseMs` from its renewal, renewed every `renewMs`; a renewal that finds less than
 * `marginMs` left lists anew, and reports a gap (an append may have found no listener). Without a
 * renewal that succeeded since `leaseMs - marginMs`, the listing may lapse: a gap too.
 */
export const LISTING = { leaseMs: 30_000, renewMs: 10_000, marginMs: 10_000 };
const LIST_SQL = 'SELECT agora_list_listener($1, $2, $3, $4) AS kept';
const UNLIST_SQL = 'DELETE FROM agora_topic_listeners WHERE topic = $1 AND listener = $2';

/**
 * One subscriber's listing of a topic in agora_topic_listeners (./migrations.ts, migration 17), kept
 * while it listens (LISTING): `list` makes it (once the appends that could not see it have committed),
 * renewals keep it and report a gap when it may have lapsed, `unlist` removes it, after the renewal in
 * flight if any (which could otherwise list it again).
 */
export class TopicListing {
  private readonly listener = randomBytes(8).toString('hex');
  private renewal: NodeJS.Timeout | undefined;
  /** When the last renewal that succeeded started (`clock`). */
  private renewedAt = 0;
  /** The renewal in flight. */
  private renewing: Promise<void> | undefined;
  /**
   * When a lapse was reported (undefined: none since the last renewal): the next renewal started after it
   * does not report one again, and one started before it counts for nothing.
   */
  private lapsedAt: number | undefined;
  private onGap: ((reason: string) => void) | undefined;

  /** `listing` and `clock` (ms, monotonic): tests. */
  constructor(
    private readonly db: Pick<PgDatabase, 'query'>,
    private readonly topic: string,
    private readonly listing = LISTING,
    private readonly clock = (): number => performance.now(),
  ) {}

  /** List this subscriber, then keep it listed, telling `onGap` when it may have lapsed. */
  async list(onGap: (reason: string) => void): Promise<void> {
    const started = this.clock();
    await this.listed();
    this.renewedAt = started;
    this.lapsedAt = undefined;
    this.onGap = onGap;
    clearInterval(this.renewal);
    this.renewal = setInterval(() => void this.renew(), this.listing.renewMs);
    this.renewal.unref();
  }

  /** Stop renewing and remove the listing, once the renewal in flight is done. */
  async unlist(): Promise<void> {
    clearInterval(this.renewal);
    this.renewal = undefined;
    this.onGap = undefined;
    await this.renewing;
    await this.db.query(UNLIST_SQL, [this.topic, this.listener]).catch(() => undefined);
  }

  /** A renewal, unless one is in flight; first a lapse is reported if the last success is too old. */
  async renew(): Promise<void> {
    const onGap = this.onGap;
    if (onGap === undefined) return;
    const started = this.clock();
    if (this.lapsedAt === undefined && started - this.renewedAt > this.listing.leaseMs - this.listing.marginMs) {
      this.lapsedAt = started;
      onGap('the listing of the topic may have lapsed: announces may have been left unsent');
    }
    if (this.renewing !== undefined) return;
    const renewing = this.listAgain(onGap, started);
    this.renewing = renewing;
    await renewing;
    this.renewing = undefined;
  }

  /** List or renew (agora_list_listener): whether the listing was kept without a break. */
  private async listed(): Promise<boolean> {
    const [row] = await this.db.query<{ kept: boolean }>(LIST_SQL, [
      this.topic,
      this.listener,
      this.listing.leaseMs,
      this.listing.marginMs,
    ]);
    return row?.kept === true;
  }

  /** One renewal, started at `started`: what it finds is reported unless a lapse was reported since it started. */
  private async listAgain(onGap: (reason: string) => void, started: number): Promise<void> {
    try {
      const kept = await this.listed();
      if (this.onGap !== onGap || (this.lapsedAt !== undefined && started < this.lapsedAt)) return;
      this.renewedAt = started;
      if (!kept && this.lapsedAt === undefined) onGap('the topic was listed anew: announces may have been left unsent');
      this.lapsedAt = undefined;
    } catch {
      // Tried again at the next period; a lapse is reported then.
    }
  }
}

/**
 * The one listening connection of a process's topics on a database: PostgreSQL wakes every
 * connection that listens in the database at each committed NOTIFY, whatever it listens to, so one
 * per process rather than one per topic. It is its own (not the pool's), opened with the first
 * topic and closed with the last; when it breaks, every topic's `onGap` fires and it reconnects
 * with a doubling backoff, listening again to every topic.
 */
class PgListener {
  /** The connection, from its start until it is lost or closed. */
  private client: Client | undefined;
  /** Settles once `client` is connected and listens to the topics of that time. */
  private ready: Promise<void> | undefined;
  /** The channels `client` listens to. */
  private readonly listened = new Set<string>();
  private readonly topics = new Map<string, Set<Handlers>>();
  private backoffMs = 100;
  private timer: NodeJS.Timeout | undefined;
  /** The statement last handed to `client`: the next waits for it (a pg Client runs one at a time). */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: PgDatabase) {}

  /** The connection when it is up and listens to `channel`. */
  listening(channel: string): Client | undefined {
    return this.listened.has(channel) ? this.client : undefined;
  }

  /** Run `sql` on `client` once the statements handed to it before are done, whatever their outcome. */
  run(client: Client, sql: string, params?: unknown[]): Promise<unknown> {
    const next = this.last.then(
      () => client.query(sql, params),
      () => client.query(sql, params),
    );
    this.last = next.catch(() => undefined);
    return next;
  }

  /** Hear `channel` from when its LISTEN has succeeded (failing: `onGap`, a retry later, and a throw). */
  async add(channel: string, handlers: Handlers): Promise<void> {
    let set = this.topics.get(channel);
    if (set === undefined) this.topics.set(channel, (set = new Set()));
    set.add(handlers);
    if (this.client === undefined) this.connect();
    const client = this.client;
    await this.ready;
    if (this.listened.has(channel) || this.client !== client || client === undefined) return;
    try {
      await this.run(client, `LISTEN ${channel}`);
      if (this.client === client) this.listened.add(channel);
    } catch (e) {
      this.down(client, e);
      throw storeError('PostgreSQL', e);
    }
  }

  /** Stop hearing `channel` for `handlers`; the connection closes with its last topic. */
  async remove(channel: string, handlers: Handlers): Promise<void> {
    const set = this.topics.get(channel);
    if (set === undefined || !set.delete(handlers) || set.size > 0) return;
    this.topics.delete(channel);
    const client = this.client;
    if (client === undefined) return;
    if (this.topics.size > 0) {
      if (this.listened.delete(channel)) await this.run(client, `UNLISTEN ${channel}`).catch(() => undefined);
      return;
    }
    clearTimeout(this.timer);
    this.client = undefined;
    this.ready = undefined;
    this.listened.clear();
    await client.end().catch(() => undefined);
  }

  private connect(): void {
    // TCP keep-alive: a listener whose server vanished without a word must notice, reconnect and resubscribe.
    const client = new Client({
      connectionString: this.db.options.url,
      connectionTimeoutMillis: this.db.options.timeoutMs,
      query_timeout: this.db.options.timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    client.on('error', (err) => this.down(client, err));
    client.on('end', () => this.down(client, new Error('connection ended')));
    client.on('notification', (n) => {
      if (this.client !== client) return;
      for (const h of this.topics.get(n.channel) ?? []) h.onMessage(n.payload ?? '');
    });
    this.client = client;
    this.last = Promise.resolve(); // what a lost connection still runs does not hold up the new one
    this.ready = (async () => {
      try {
        await client.connect();
        for (const channel of [...this.topics.keys()]) {
          await this.run(client, `LISTEN ${channel}`);
          if (this.client === client) this.listened.add(channel);
        }
        this.backoffMs = 100;
      } catch (e) {
        this.down(client, e);
        throw storeError('PostgreSQL', e);
      }
    })();
    this.ready.catch(() => undefined);
  }

  private down(client: Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.ready = undefined;
    this.listened.clear();
    client.end().catch(() => undefined);
    const reason = `listen connection lost: ${errorMessage(err)}`;
    for (const set of [...this.topics.values()]) for (const h of [...set]) h.onGap(reason);
    if (this.topics.size === 0) return;
    this.timer = setTimeout(() => {
      if (this.client === undefined && this.topics.size > 0) this.connect();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
  }
}

/** The listener of each database (a process's topics on it share it). */
const listeners = new WeakMap<PgDatabase, PgListener>();

function listenerOf(db: PgDatabase): PgListener {
  let listener = listeners.get(db);
  if (listener === undefined) listeners.set(db, (listener = new PgListener(db)));
  return listener;
}

/**
 * A Broadcast on LISTEN/NOTIFY: notifications reach listeners in commit order, the same
 * order for all. It listens on its process's connection of the database (`PgListener`).
 */
export class PgBroadcast implements Broadcast {
  private handlers: Handlers | undefined;
  /** Messages waiting for the notify in flight to be answered, in publish order. */
  private readonly queued: Queued[] = [];
  private flushing = false;
  /** This subscriber in agora_topic_listeners, when `listed`. */
  private readonly listing: TopicListing | undefined;

  constructor(
    private readonly db: PgDatabase,
    /** A PostgreSQL identifier, e.g. agora_auth. */
    private readonly channel: string,
    /**
     * Whether subscribers list themselves while they listen (./migrations.ts, migration 17): the appends
     * announce only to a listed topic. `listing` (tests): the lease, the renewal period and the margin.
     */
    listed = false,
    listing = LISTING,
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new RangeError(`bad channel name ${channel}`);
    this.listing = listed ? new TopicListing(db, channel, listing) : undefined;
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
    const shared = listenerOf(this.db);
    const listener = this.handlers === undefined ? undefined : shared.listening(this.channel);
    if (listener === undefined) {
      await this.db.query(NOTIFY_SQL, [this.channel, messages]);
      return;
    }
    try {
      await shared.run(listener, NOTIFY_SQL, [this.channel, messages]);
    } catch (e) {
      throw storeError('PostgreSQL', e);
    }
  }

  /**
   * Listen; a `listed` topic then lists this subscriber, once the appends that could not see it have
   * committed, before it resolves: whatever they stored can be read, whatever is stored after is heard.
   */
  async subscribe(handlers: Handlers): Promise<void> {
    this.handlers = handlers;
    const shared = listenerOf(this.db);
    await shared.add(this.channel, handlers);
    try {
      await this.listing?.list((reason) => {
        if (this.handlers === handlers) handlers.onGap(reason);
      });
    } catch (e) {
      if (this.handlers === handlers) this.handlers = undefined;
      await shared.remove(this.channel, handlers);
      throw e;
    }
  }

  async close(): Promise<void> {
    const handlers = this.handlers;
    this.handlers = undefined;
    if (handlers === undefined) return;
    await this.listing?.unlist();
    await listenerOf(this.db).remove(this.channel, handlers);
  }
}
