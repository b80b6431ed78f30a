/**
 * A raw ZeroMQ DEALER that plays an MDP client or worker by hand, frame by frame
 * (RFC 7/MDP 0.2), for the broker's tests. One background receive loop feeds an inbox;
 * broker HEARTBEATs are counted apart (and optionally answered) so that a test waiting for
 * a REQUEST or a reply is not confused by them. Every wait has a deadline.
 */
import { Dealer } from 'zeromq';
import { decodeMessage, encodeRequest, type Response } from '../../lib/bus/codec';
import { Command, EMPTY, HEARTBEAT, MDPC01, MDPW01, MMI_SERVICE, READY, REPLY, same } from '../../lib/bus/mdp';

export type Frames = Buffer[];

/** Default wait for a message that must come. */
export const WAIT_MS = 3000;

let counter = 0;

/** A unique DEALER routing id, so that the broker's view of who is who is known to the test. */
export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A promise that rejects after `ms` with `what` in the message; cleared once `p` settles. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a message is a broker HEARTBEAT to a worker: [""][MDPW01][0x04]. */
export function isHeartbeat(frames: Frames): boolean {
  return frames.length === 3 && frames[0].length === 0 && same(frames[1], MDPW01) && same(frames[2], HEARTBEAT);
}

/** Whether a message is a broker DISCONNECT: [""][MDPW01][0x05]. */
export function isDisconnect(frames: Frames): boolean {
  return (
    frames.length === 3 &&
    frames[0].length === 0 &&
    same(frames[1], MDPW01) &&
    frames[2].length === 1 &&
    frames[2][0] === Command.DISCONNECT
  );
}

export class Peer {
  readonly socket: Dealer;
  readonly id: string;
  /** Answer every broker HEARTBEAT with a HEARTBEAT (a live worker). */
  answerHeartbeats = false;
  /** Broker HEARTBEATs received so far. */
  heartbeats = 0;
  private readonly inbox: Frames[] = [];
  private waiters: Array<() => void> = [];
  private sending: Promise<unknown> = Promise.resolve();

  constructor(endpoint: string, id = uniqueId('peer')) {
    this.id = id;
    this.socket = new Dealer({ routingId: id, linger: 0 });
    this.socket.connect(endpoint);
    void this.receiveLoop();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        if (isHeartbeat(frames)) {
          this.heartbeats++;
          if (this.answerHeartbeats) void this.send([EMPTY, MDPW01, HEARTBEAT]);
        } else {
          this.inbox.push(frames);
        }
        this.wake();
      }
    } catch {
      // closed under the loop: nothing more will come
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
    });
  }

  /** Send one message; sends of this socket are serialized (zeromq.js allows one at a time). */
  send(frames: Array<Buffer | string>): Promise<void> {
    const next = this.sending.then(() => this.socket.send(frames));
    this.sending = next.catch(() => undefined);
    return next;
  }

  /** The next message that is not a HEARTBEAT, within `ms`. */
  async next(ms = WAIT_MS): Promise<Frames> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0) {
      await within(this.changed(), Math.max(1, deadline - Date.now()), `a message on ${this.id}`);
    }
    return this.inbox.shift() as Frames;
  }

  /** Resolve once `n` broker HEARTBEATs in all have been received, within `ms`. */
  async waitHeartbeats(n: number, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.heartbeats < n) {
      await within(
        this.changed(),
        Math.max(1, deadline - Date.now()),
        `${n} heartbeats on ${this.id} (got ${this.heartbeats})`,
      );
    }
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.inbox.length;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  // ---- as a worker ----

  ready(service: string): Promise<void> {
    return this.send([EMPTY, MDPW01, READY, service]);
  }

  /** The next message must be a REQUEST: returns the client address and the body frames. */
  async request(ms = WAIT_MS): Promise<{ client: Buffer; body: Frames }> {
    const m = await this.next(ms);
    if (m.length < 6 || m[0].length !== 0 || !same(m[1], MDPW01) || m[2][0] !== Command.REQUEST || m[4].length !== 0) {
      throw new Error(`expected a REQUEST on ${this.id}, got ${describe(m)}`);
    }
    return { client: m[3], body: m.slice(5) };
  }

  reply(client: Buffer, body: Buffer | string): Promise<void> {
    return this.send([EMPTY, MDPW01, REPLY, client, EMPTY, body]);
  }

  // ---- as a client ----

  /** Send [""][MDPC01][service][body][meta?]. */
  ask(service: string, body: Buffer | string, meta?: Buffer): Promise<void> {
    return this.send(meta === undefined ? [EMPTY, MDPC01, service, body] : [EMPTY, MDPC01, service, body, meta]);
  }

  /** The next message must be a client reply [""][MDPC01][service][body…]: returns it. */
  async answer(service: string, ms = WAIT_MS): Promise<Frames> {
    const m = await this.next(ms);
    if (m.length < 4 || m[0].length !== 0 || !same(m[1], MDPC01) || m[2].toString() !== service) {
      throw new Error(`expected a reply from ${service} on ${this.id}, got ${describe(m)}`);
    }
    return m.slice(3);
  }

  /** A msgpack-RPC call by hand: returns the decoded response. */
  async call(service: string, msgid: number, method = 'm', params: unknown[] = [], meta?: Buffer): Promise<Response> {
    await this.ask(service, encodeRequest(msgid, method, params), meta);
    return this.response(service);
  }

  /** The next message must be a msgpack-RPC response from `service`. */
  async response(service: string, ms = WAIT_MS): Promise<Response> {
    const body = await this.answer(service, ms);
    const m = decodeMessage(body[0]);
    if (m.type !== 1) throw new Error(`expected a response, got ${JSON.stringify(m)}`);
    return m;
  }

  /** RFC 8 `mmi.service`: "200", "404" (or "501"). */
  async mmi(service: string, name = MMI_SERVICE): Promise<string> {
    await this.ask(name, service);
    const body = await this.answer(name);
    return body[0].toString();
  }
}

/** Poll `mmi.service` from `client` until it answers `want` for `service`, within `ms`. */
export async function waitMmi(client: Peer, service: string, want: '200' | '404', ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    last = await client.mmi(service);
    if (last === want) return;
    if (Date.now() > deadline) throw new Error(`mmi.service ${service} still ${last} after ${ms} ms (wanted ${want})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Short printable form of a message for failure text. */
export function describe(frames: Frames): string {
  return `[${frames.map((f) => (/^[\x20-\x7e]*$/.test(f.toString('latin1')) ? JSON.stringify(f.toString('latin1')) : `0x${f.subarray(0, 24).toString('hex')}`)).join(', ')}]`;
}
