/**
 * The requests one worker holds, found by (client, msgid) in O(1): the broker matches each
 * REPLY of a worker with slots to the request it answers this way (docs/PROTOCOL.md §3), and
 * a worker may hold up to 1,024 of them. Clients are keyed by `routingKey`, which costs no
 * allocation for the routing ids a ROUTER generates.
 */
import { routingKey, type RoutingKey } from './zmtp';

/** What is held: a request of `client`, with the msgid the broker read from it (null: none). */
export interface HeldRequest {
  client: Buffer;
  msgid: number | null;
  /** Another request held under the same key (a client's notifications share one): set here only. */
  next: this | undefined;
}

/** The inner key of a request without a msgid (msgids are 0 to 2^32−1). */
const NO_MSGID = -1;

export class HeldRequests<T extends HeldRequest> {
  private readonly byClient = new Map<RoutingKey, Map<number, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(request: T): void {
    const client = routingKey(request.client);
    let mine = this.byClient.get(client);
    if (mine === undefined) {
      mine = new Map();
      this.byClient.set(client, mine);
    }
    const key = request.msgid ?? NO_MSGID;
    request.next = mine.get(key);
    mine.set(key, request);
    this.count++;
  }

  /** Take the request of `client` with `msgid` (the newest, when several share it); undefined when none. */
  take(client: Buffer, msgid: number | null): T | undefined {
    const key = routingKey(client);
    const mine = this.byClient.get(key);
    const request = mine?.get(msgid ?? NO_MSGID);
    if (mine === undefined || request === undefined) return undefined;
    if (request.next !== undefined) mine.set(msgid ?? NO_MSGID, request.next);
    else if (mine.size > 1) mine.delete(msgid ?? NO_MSGID);
    else this.byClient.delete(key);
    request.next = undefined;
    this.count--;
    return request;
  }

  /** The one request held, when exactly one is (a plain MDP worker's). */
  only(): T | undefined {
    if (this.count !== 1) return undefined;
    for (const mine of this.byClient.values()) for (const request of mine.values()) return request;
    return undefined;
  }

  /** Take every request held. */
  takeAll(): T[] {
    const all: T[] = [];
    for (const mine of this.byClient.values()) {
      for (const head of mine.values()) {
        for (let request: T | undefined = head; request !== undefined; request = request.next) all.push(request);
      }
    }
    for (const request of all) request.next = undefined;
    this.byClient.clear();
    this.count = 0;
    return all;
  }
}
