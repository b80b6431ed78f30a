/**
 * The bus client: one DEALER socket per broker speaking MDPC01 (RFC 7) with msgpack-RPC bodies.
 * Thousands of calls share the sockets, correlated by msgid. Every call has a deadline. With
 * several brokers (`tcp://a:5555,tcp://b:5555`) calls go round the brokers that are up; losing
 * one fails the calls it held (AGORA_ERR_BUS_DISCONNECTED), except idempotent ones, which are sent
 * again through another broker; its socket reconnects by itself and takes calls again once up
 * (docs/PROTOCOL.md §9, "Several brokers").
 */
import { deadlineIn, remaining } from '../deadline';
import { AgoraError, fromWire } from '../errors';
import type { Logger } from '../log';
import { decodeMessage, encodeCallMeta, encodeRequest, MAX_MSGID, peekId, RESPONSE_TYPE, unpack } from './codec';
import { EMPTY, isMmi, MDPC01, MMI_SERVICE, MMI_SERVICES, same } from './mdp';
import type { ServiceStats } from './broker';
import { MMI_STATUS, type BrokerStatus } from './broker-stats';

import type { MechanismFactory } from './zmtp-mechanism';
import { busEndpoints, DealerSocket } from './zmtp';
import { numberBytes } from './msgpack-read';
import { keepFrame } from './zmtp-connection';

export interface ClientOptions {
  /** Broker endpoint, e.g. `tcp://127.0.0.1:5555`, or several, comma-separated. */
  endpoint: string;
  /**
   * With several brokers, a broker silent for `heartbeatLiveness` intervals of this (while asked
   * something: each idle interval it is sent an `mmi.service` probe) takes no new calls until it
   * answers again (AGORA_HEARTBEAT_MS).
   */
  heartbeatMs?: number;
  heartbeatLiveness?: number;
  /** Default time a call may take when it names no deadline. */
  timeoutMs?: number;
  /** Calls in flight beyond which new calls fail with AGORA_ERR_BUS_TOO_MANY_PENDING. */
  maxPending?: number;
  /** Name sent in the metadata frame as `caller` (under CURVE the broker puts its key's name there instead). */
  caller?: string;
  /**
   * Keep each call's stack so a timeout error shows where the call was made (like nats.js
   * `asyncTraces`). Off by default: capturing a stack costs more than the rest of a call.
   */
  traces?: boolean;
  /** Time the broker has to finish the ZMTP handshake (AGORA_ZMTP_HANDSHAKE_MS). */
  handshakeMs?: number;
  /** The connection's security mechanism (CURVE: lib/bus/security.ts); default NULL. */
  mechanism?: MechanismFactory;
  log?: Logger;
}

export interface CallOptions {
  /** Absolute deadline (ms since the epoch); wins over `timeoutMs`. */
  deadline?: number;
  timeoutMs?: number;
  /** Request id to carry to the worker's logs. */
  reqId?: string;
  /**
   * The call may run twice: the broker may retry it on another worker if its worker dies, and
   * with several brokers the client sends it again through another one if its broker is lost.
   */
  idempotent?: boolean;
  /**
   * The user the call is made for (metadata `user`, docs/PROTOCOL.md §14); under CURVE it counts
   * only from a key granted act_for_users (§15).
   */
  user?: string;
  /**
   * Read the result from its msgpack bytes instead of having it decoded: called at once with a view of them
   * inside the reply frame, valid only during the call (copy what is kept), once the reply's msgid and error
   * have been read as for any call (`readRaw`); what it answers settles the call, as does what it throws. A
   * reply with an error, or not of that form, is decoded as usual.
   */
  readResult?: (result: Uint8Array) => unknown;
}

/** What a caller needs of the bus (BusClient satisfies it; unit tests pass a hand-made fake). */
export interface BusCaller {
  call(service: string, method: string, params: unknown[], options: CallOptions): Promise<unknown>;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** When it times out (ms since the epoch): the client's one deadline timer checks it (`expire`). */
  deadline: number;
  service: string;
  method: string;
  /** The caller's stack, for a timeout (with `traces`). */
  trace: Error | undefined;
  /** The broker holding it. */
  link: Link;
  /** Its frames, kept for an idempotent call: sent again through another broker if `link` is lost. */
  frames: Buffer[] | undefined;
  /** Reads a successful result from its bytes (CallOptions.readResult). */
  readResult?: (result: Uint8Array) => unknown;
}

interface PendingMmi {
  /** Timed out: its answer, when it comes, is dropped. */
  settled: boolean;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One broker of the list: its socket and what the client knows of it. */
interface Link {
  endpoint: string;
  socket: DealerSocket;
  /** false from a lost connection until it is back (undefined before the first). */
  connected: boolean | undefined;
  /** Heard from within liveness x heartbeat (always true with one broker: nothing probes it). */
  alive: boolean;
  /** When it last sent us anything. */
  heardAt: number;
  /** MMI answers carry no msgid: they are matched per service name, first in first out. */
  mmiPending: Map<string, PendingMmi[]>;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** msgpack nil: a reply's error when it has none. */
const NIL = 0xc0;
/** The longest delay Node's setTimeout takes as it is (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export class BusClient {
  private readonly links: Link[];
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 0;
  /** Round robin over the brokers. */
  private turn = 0;
  private closed = false;
  private readonly probe: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly log: Logger | undefined;
  /** Service name frames, encoded once. */
  private readonly names = new Map<string, Buffer>();
  /**
   * One timer for every call's deadline, set for the earliest deadline among the calls in flight
   * (`timerAt`), instead of a timer per call: a call that starts makes no timer unless its deadline is
   * the earliest, one that ends clears none unless it was the last.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly options: ClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? 100_000;
    this.log = options.log?.child({ mod: 'bus-client' });
    this.links = busEndpoints(options.endpoint).map((endpoint) => this.openLink(endpoint));
    if (this.links.length > 1) {
      const interval = options.heartbeatMs ?? 2500;
      this.probe = setInterval(() => this.heartbeat(interval, options.heartbeatLiveness ?? 3), interval);
      this.probe.unref();
    }
  }

  /** Calls waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The brokers taking new calls now. */
  get brokersUp(): string[] {
    return this.links.filter((l) => l.connected === true && l.alive).map((l) => l.endpoint);
  }

  /**
   * Call `service.method(...params)`. Resolves with the result; rejects with the remote
   * AgoraError, or AGORA_ERR_BUS_TIMEOUT once the deadline passes.
   */
  call<T = unknown>(service: string, method: string, params: unknown[] = [], options: CallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new AgoraError('AGORA_ERR_BUS_CLOSED'));
    const link = this.pick();
    // While every broker is known to be gone, fail at once instead of waiting out the deadline.
    if (link === undefined) return Promise.reject(new AgoraError('AGORA_ERR_BUS_DISCONNECTED'));
    if (this.pending.size >= this.maxPending) return Promise.reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
    const deadline = options.deadline ?? deadlineIn(options.timeoutMs ?? this.timeoutMs);
    const msgid = this.allocateId();
    const meta = encodeCallMeta(
      deadline,
      options.reqId,
      this.options.caller,
      options.idempotent === true,
      options.user,
    );
    const frames = [EMPTY, MDPC01, this.nameFrame(service), encodeRequest(msgid, method, params), meta];
    return new Promise<T>((resolve, reject) => {
      const trace = this.options.traces === true ? new Error() : undefined;
      const keep = options.idempotent === true && this.links.length > 1 ? frames : undefined;
      const call = {
        resolve: resolve as (v: unknown) => void,
        reject,
        deadline,
        service,
        method,
        trace,
        link,
        frames: keep,
        readResult: options.readResult,
      };
      this.pending.set(msgid, call);
      if (!(deadline >= this.timerAt)) this.armTimer(deadline);
      if (!link.socket.send(frames)) this.settleUnsent(msgid);
    });
  }

  /** Whether the broker knows a worker for `service` (RFC 8 `mmi.service`); with several, any of them. */
  async hasService(service: string, options: CallOptions = {}): Promise<boolean> {
    const answer = await this.mmi(MMI_SERVICE, Buffer.from(service), options);
    return answer.toString() === '200';
  }

  /** Every service the broker knows, with worker counts and queue depth (`mmi.services`); with several, one of them. */
  async services(options: CallOptions = {}): Promise<ServiceStats[]> {
    const answer = await this.mmi(MMI_SERVICES, EMPTY, options);
    return unpack(answer) as ServiceStats[];
  }

  /**
   * The broker's counters per service (`mmi.status`, docs/PROTOCOL.md §16); with several, one of
   * them. A broker that does not know the request answers 501: AGORA_ERR_BUS_BAD_REPLY.
   */
  async status(options: CallOptions = {}): Promise<BrokerStatus> {
    const answer = await this.mmi(MMI_STATUS, EMPTY, options);
    if (answer.toString() === '501') throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [MMI_STATUS]);
    return unpack(answer) as BrokerStatus;
  }

  /** A raw MMI request: one body frame in, the broker's one body frame out (the next broker in turn). */
  mmi(service: string, body: Buffer, options: CallOptions = {}): Promise<Buffer> {
    if (this.closed) return Promise.reject(new AgoraError('AGORA_ERR_BUS_CLOSED'));
    const link = this.pick() ?? this.links[0];
    return this.mmiOn(link, service, body, options.deadline ?? deadlineIn(options.timeoutMs ?? this.timeoutMs));
  }

  /** Close the sockets; pending calls fail with AGORA_ERR_BUS_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probe);
    this.disarmTimer();
    this.rejectAll(undefined, () => new AgoraError('AGORA_ERR_BUS_CLOSED'));
    for (const link of this.links) void link.socket.close();
  }

  private openLink(endpoint: string): Link {
    const socket = new DealerSocket({
      queueMax: this.maxPending * 2,
      handshakeMs: this.options.handshakeMs,
      mechanism: this.options.mechanism,
      // Frames are views of the read buffer: the body, whose bytes the caller may keep, is copied (onMessage).
      receiveViews: true,
    });
    const link: Link = {
      endpoint,
      socket,
      connected: undefined,
      alive: true,
      heardAt: Date.now(),
      mmiPending: new Map(),
    };
    socket.onDisconnect = () => this.onDisconnect(link);
    socket.onConnect = () => {
      link.connected = true;
      link.alive = true;
      link.heardAt = Date.now();
    };
    socket.onMessage = (frames) => this.onMessage(link, frames);
    socket.connect(endpoint);
    return link;
  }

  /**
   * The broker for the next call: in turn among those up; before any has connected, in turn among
   * those not known to be down (the socket keeps the call until connected); none: undefined.
   */
  private pick(): Link | undefined {
    const n = this.links.length;
    if (n === 1) return this.links[0].connected === false ? undefined : this.links[0];
    let fallback: Link | undefined;
    for (let i = 0; i < n; i++) {
      const link = this.links[(this.turn + i) % n];
      if (link.connected === true && link.alive) {
        this.turn = (this.turn + i + 1) % n;
        return link;
      }
      if (link.connected === undefined) fallback ??= link;
    }
    return fallback;
  }

  /**
   * Client heartbeat over MMI (several brokers only): a broker not heard from for an interval is
   * sent an `mmi.service` probe; one silent for `liveness` intervals takes no new calls until it
   * answers. Its connection may still be up (a stalled process): its calls keep their deadlines.
   */
  private heartbeat(interval: number, liveness: number): void {
    const now = Date.now();
    for (const link of this.links) {
      if (link.connected !== true) continue;
      const silent = now - link.heardAt;
      if (silent >= interval * liveness && link.alive) {
        link.alive = false;
        this.log?.warn({ broker: link.endpoint, silentMs: silent }, 'broker silent: no new calls to it');
      }
      if (silent >= interval) this.mmiOn(link, MMI_SERVICE, Buffer.from(MMI_SERVICE), now + interval).catch(() => 0);
    }
  }

  private mmiOn(link: Link, service: string, body: Buffer, deadline: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const queue = link.mmiPending.get(service) ?? [];
      link.mmiPending.set(service, queue);
      const entry: PendingMmi = {
        resolve,
        reject,
        settled: false,
        // The entry stays queued: the broker answers a client's MMI requests in order, so
        // the late answer to this one must be taken by it, not by the next request's entry.
        timer: setTimeout(() => {
          entry.settled = true;
          reject(new AgoraError('AGORA_ERR_BUS_TIMEOUT', [service, 'mmi']));
        }, remaining(deadline)),
      };
      queue.push(entry);
      if (!link.socket.send([EMPTY, MDPC01, Buffer.from(service), body])) {
        queue.splice(queue.indexOf(entry), 1);
        clearTimeout(entry.timer);
        reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
      }
    });
  }

  private nameFrame(service: string): Buffer {
    let frame = this.names.get(service);
    if (frame === undefined) {
      frame = Buffer.from(service);
      if (this.names.size < 10_000) this.names.set(service, frame);
    }
    return frame;
  }

  private allocateId(): number {
    do {
      this.nextId = this.nextId >= MAX_MSGID ? 1 : this.nextId + 1;
    } while (this.pending.has(this.nextId));
    return this.nextId;
  }

  /** The socket refused the message (its queue or the connection's backlog is full): fail the call now. */
  private settleUnsent(msgid: number): void {
    const call = this.pending.get(msgid);
    if (call === undefined) return;
    this.ended(msgid);
    call.reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
  }

  /** [""][MDPC01][service][body] (RFC 7 §Client protocol). */
  private onMessage(link: Link, frames: Buffer[]): void {
    link.heardAt = Date.now();
    if (!link.alive) {
      link.alive = true;
      this.log?.info({ broker: link.endpoint }, 'broker answers again');
    }
    if (frames.length < 4 || frames[0].length !== 0 || !same(frames[1], MDPC01)) {
      this.log?.warn({ frames: frames.length }, 'dropped malformed reply');
      return;
    }
    if (frames[3].length === 0) return; // a worker's REPLY to a notification carries an empty body
    // A copy of an MMI answer, which its caller keeps.
    if (isMmi(frames[2])) return this.onMmiReply(link, frames[2].toString(), keepFrame(frames[3]));
    if (this.readRaw(link, frames[3])) return;
    let reply;
    try {
      // Decoded where it lies in the read buffer, which the next read reuses: what the caller keeps is copied.
      reply = decodeMessage(frames[3], true);
    } catch (err) {
      this.log?.warn({ err, service: frames[2].toString() }, 'dropped undecodable reply');
      return;
    }
    if (reply.type !== 1) return;
    const call = this.pending.get(reply.msgid);
    // A late answer to a call that timed out, or one held by a broker it was taken from.
    if (call === undefined || call.link !== link) return;
    this.ended(reply.msgid);
    if (reply.error !== null && reply.error !== undefined) call.reject(fromWire(reply.error));
    else call.resolve(reply.result);
  }

  /**
   * A successful reply to a call made with `readResult`: settled with what it reads from the result's bytes,
   * a view of `body` after `[1, msgid, nil,` (read as peekId and the broker read them), and true. Anything
   * else (another call, an error, a body not of that form) is left to the decoding path: false.
   */
  private readRaw(link: Link, body: Buffer): boolean {
    const msgid = peekId(body, RESPONSE_TYPE);
    const call = msgid === null ? undefined : this.pending.get(msgid);
    if (call?.readResult === undefined || call.link !== link) return false;
    // The msgid's width, of a form peekId took: positive fixint, uint 8..64 or int 8..64.
    const tag = body[2];
    const at = 3 + (tag < 0x80 ? 0 : numberBytes(tag));
    if (at >= body.length - 1 || body[at] !== NIL) return false;
    this.ended(msgid as number);
    try {
      call.resolve(call.readResult(body.subarray(at + 1)));
    } catch (err) {
      call.reject(err as Error);
    }
    return true;
  }

  private onMmiReply(link: Link, service: string, body: Buffer): void {
    const entry = link.mmiPending.get(service)?.shift();
    if (entry === undefined || entry.settled) return; // a late answer to a request that timed out
    clearTimeout(entry.timer);
    entry.resolve(body);
  }

  /** A call is answered or failed: forget it, and the deadline timer with the last call in flight. */
  private ended(msgid: number): void {
    this.pending.delete(msgid);
    if (this.pending.size === 0) this.disarmTimer();
  }

  /** Set the deadline timer for `deadline` (earlier than the one it was set for, if any). */
  private armTimer(deadline: number): void {
    clearTimeout(this.timer);
    this.timerAt = deadline;
    // Node runs a timer of more than MAX_TIMER_MS after 1 ms: a farther deadline is looked at again then.
    this.timer = setTimeout(() => this.expire(), Math.min(remaining(deadline), MAX_TIMER_MS));
  }

  private disarmTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /**
   * The deadline timer: every call whose deadline has passed times out, and the timer is set again for
   * the earliest deadline left. It runs at the earliest deadline of the calls in flight (the one it was
   * set for, or a later one once that call ended), so no call times out later than with its own timer.
   */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [msgid, call] of this.pending) {
      // Negated, so that a deadline that is not a number has passed, as with a timer of its own.
      if (!(call.deadline > now)) this.timeout(msgid, call);
      else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Infinity && !this.closed) this.armTimer(next);
  }

  private timeout(msgid: number, call: PendingCall): void {
    this.pending.delete(msgid);
    const err = new AgoraError('AGORA_ERR_BUS_TIMEOUT', [call.service, call.method]);
    if (call.trace !== undefined)
      err.stack = `${err.name}: ${err.message}\n${(call.trace.stack ?? '').split('\n').slice(1).join('\n')}`;
    call.reject(err);
  }

  /**
   * A broker went away: nothing it held will be answered (RFC 7 has no resume). Its idempotent
   * calls go again through another broker that is up; the others fail.
   */
  private onDisconnect(link: Link): void {
    if (this.closed) return;
    link.connected = false;
    let retried = 0;
    for (const [msgid, call] of this.pending) {
      if (call.link !== link || call.frames === undefined) continue;
      const other = this.pick();
      if (other === undefined || other === link) continue;
      call.link = other;
      if (other.socket.send(call.frames)) retried++;
      else this.settleUnsent(msgid);
    }
    const n = this.rejectAll(link, () => new AgoraError('AGORA_ERR_BUS_DISCONNECTED'));
    this.log?.warn({ broker: link.endpoint, rejected: n, retried }, 'broker connection lost; reconnecting');
  }

  /** Fail the calls held by `link` (every call when undefined); the number failed. */
  private rejectAll(link: Link | undefined, make: () => AgoraError): number {
    let n = 0;
    for (const [msgid, call] of this.pending) {
      if (link !== undefined && call.link !== link) continue;
      this.ended(msgid);
      call.reject(make());
      n++;
    }
    for (const l of this.links) {
      if (link !== undefined && l !== link) continue;
      for (const queue of l.mmiPending.values()) {
        for (const entry of queue.splice(0)) {
          clearTimeout(entry.timer);
          entry.reject(make());
        }
      }
    }
    return n;
  }
}

/** Connect a bus client (the socket connects in the background; calls wait in its queue). */
export function createClient(options: ClientOptions): BusClient {
  return new BusClient(options);
}
