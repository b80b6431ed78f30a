/**
 * The in-memory storage adapters: the embedded default (DESIGN "state: memory"). State lives
 * in this process only; every method is async so these stand in for the PostgreSQL and Redis
 * adapters behind the same contracts (lib/store/store.ts).
 */
import type { ChannelStore, MessageStore, StoredMessage } from './store';

// ---------------------------------------------------------------------------------------
// Channels and messages (services/channels, services/messages).
// ---------------------------------------------------------------------------------------

/** Channel names, sorted by UTF-16 code unit (the same order as PostgreSQL's "C" collation). */
export class MemoryChannelStore implements ChannelStore {
  private readonly channels = new Map<string, { createdBy: string; createdAt: number }>();

  async list(): Promise<string[]> {
    return [...this.channels.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async create(name: string, createdBy: string): Promise<boolean> {
    if (this.channels.has(name)) return false;
    this.channels.set(name, { createdBy, createdAt: Date.now() });
    return true;
  }

  async exists(name: string): Promise<boolean> {
    return this.channels.has(name);
  }
}

/**
 * One channel's messages: the last id given, and a ring of the newest `capacity` messages
 * where the message with id `n` sits in slot `(n - 1) % capacity`. Ids oldestId..lastId
 * are retained (none when oldestId > lastId).
 */
interface ChannelLog {
  lastId: number;
  oldestId: number;
  capacity: number;
  ring: Array<StoredMessage | undefined>;
}

/** Messages per channel, each channel a ring of its newest `retain` messages. */
export class MemoryMessageStore implements MessageStore {
  private readonly logs = new Map<string, ChannelLog>();

  /**
   * The id is taken and the message stored in one synchronous step, with no `await` in
   * between: in one Node process no other append can interleave, so ids are 1, 2, 3, …
   * with no gap and no duplicate however many posters call at once.
   */
  async append(channel: string, username: string, message: string, retain: number): Promise<number> {
    if (!Number.isSafeInteger(retain) || retain < 1) throw new RangeError(`retain must be a positive integer, got ${retain}`);
    const log = this.logOf(channel, retain);
    const messageid = ++log.lastId;
    log.ring[(messageid - 1) % log.capacity] = { messageid, username, message };
    log.oldestId = Math.max(log.oldestId, messageid - log.capacity + 1);
    return messageid;
  }

  async last(channel: string): Promise<number> {
    return this.logs.get(channel)?.lastId ?? 0;
  }

  async range(channel: string, first: number, last: number): Promise<StoredMessage[]> {
    const log = this.logs.get(channel);
    if (log === undefined) return [];
    const lo = Math.max(first, log.oldestId);
    const hi = Math.min(last, log.lastId);
    const out: StoredMessage[] = [];
    for (let id = lo; id <= hi; id++) {
      const m = log.ring[(id - 1) % log.capacity]!;
      out.push({ messageid: m.messageid, username: m.username, message: m.message });
    }
    return out;
  }

  /** The channel's log, made on first use, its ring resized if `retain` changed. */
  private logOf(channel: string, retain: number): ChannelLog {
    let log = this.logs.get(channel);
    if (log === undefined) {
      log = { lastId: 0, oldestId: 1, capacity: retain, ring: new Array(retain) };
      this.logs.set(channel, log);
    } else if (log.capacity !== retain) {
      // Growing cannot bring back what already fell out; shrinking drops the oldest.
      const ring = new Array<StoredMessage | undefined>(retain);
      log.oldestId = Math.max(log.oldestId, log.lastId - retain + 1);
      for (let id = log.oldestId; id <= log.lastId; id++) ring[(id - 1) % retain] = log.ring[(id - 1) % log.capacity];
      log.capacity = retain;
      log.ring = ring;
    }
    return log;
  }
}
