/**
 * The bus client: one DEALER socket speaking MDPC01 (RFC 7) with msgpack-RPC bodies.
 * Thousands of calls share the socket, correlated by msgid. Every call has a deadline;
 * losing the broker rejects every pending call at once; the socket reconnects by itself.
 */
import { deadlineIn, remaining } from '../deadline';
import { AgoraError, fromWire } from '../errors';
import type { Logger } from '../log';
import { decodeMessage, encodeMeta, encodeRequest, MAX_MSGID, type Meta, unpack } from './codec';
import { EMPTY, isMmi, MDPC01, MMI_SERVICE, MMI_SERVICES, same } from './mdp';
import type { ServiceStats } from './broker';
import { DealerSocket } from './zmtp';
import type { MechanismFactory } from './zmtp-mechanism';

export interface ClientOptions {
  /** Broker endpoint, e.g. `tcp://127.0.0.1:5555`. */
  endpoint: string;
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
  /** The broker may retry the call on another worker if its worker dies. */
  idempotent?: boolean;
  /**
   * The user the call is made for (metadata `user`, docs/PROTOCOL.md §14); under CURVE it counts
   * only from a key granted act_for_users (§15).
   */
  user?: string;
}

/** What a caller needs of the bus (BusClient satisfies it; unit tests pass a hand-made fake). */
export interface BusCaller {
  call(service: string, method: string, params: unknown[], options: CallOptions): Promise<unknown>;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  service: string;
  method: string;
  /** The caller's stack, for a timeout (with `traces`). */
  trace: Error | undefined;
}

interface PendingMmi {
  /** Timed out: its answer, when it comes, is dropped. */
  settled: boolean;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class BusClient {
  private readonly socket: DealerSocket;
  private readonly pending = new Map<number, PendingCall>();
  /** MMI answers carry no msgid: they are matched per service name, first in first out. */
  private readonly mmiPending = new Map<string, PendingMmi[]>();
  private nextId = 0;
  private closed = false;
  /** false from a lost connection until ZeroMQ has reconnected (undefined before the first). */
  private connected: boolean | undefined;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly log: Logger | undefined;
  /** Service name frames, encoded once. */
  private readonly names = new Map<string, Buffer>();

  constructor(private readonly options: ClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? 100_000;
    this.log = options.log?.child({ mod: 'bus-client' });
    this.socket = new DealerSocket({
      queueMax: this.maxPending * 2,
      handshakeMs: options.handshakeMs,
      mechanism: options.mechanism,
    });
    this.socket.onDisconnect = () => this.onDisconnect();
    this.socket.onConnect = () => {
      this.connected = true;
    };
    this.socket.onMessage = (frames) => this.onMessage(frames);
    this.socket.connect(options.endpoint);
  }

  /** Calls waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Call `service.method(...params)`. Resolves with the result; rejects with the remote
   * AgoraError, or AGORA_ERR_BUS_TIMEOUT once the deadline passes.
   */
  call<T = unknown>(service: string, method: string, params: unknown[] = [], options: CallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new AgoraError('AGORA_ERR_BUS_CLOSED'));
    // While the broker is known to be gone, fail at once instead of waiting out the deadline.
    if (this.connected === false) return Promise.reject(new AgoraError('AGORA_ERR_BUS_DISCONNECTED'));
    if (this.pending.size >= this.maxPending) return Promise.reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
    const deadline = options.deadline ?? deadlineIn(options.timeoutMs ?? this.timeoutMs);
    const msgid = this.allocateId();
    const meta: Meta = { deadline };
    if (options.reqId !== undefined) meta.reqId = options.reqId;
    if (this.options.caller !== undefined) meta.caller = this.options.caller;
    if (options.idempotent === true) meta.idempotent = true;
    if (options.user !== undefined) meta.user = options.user;
    const frames = [EMPTY, MDPC01, this.nameFrame(service), encodeRequest(msgid, method, params), encodeMeta(meta)];
    return new Promise<T>((resolve, reject) => {
      const trace = this.options.traces === true ? new Error() : undefined;
      const timer = setTimeout(() => this.timeout(msgid), remaining(deadline));
      this.pending.set(msgid, { resolve: resolve as (v: unknown) => void, reject, timer, service, method, trace });
      if (!this.socket.send(frames)) this.settleUnsent(msgid);
    });
  }

  /** Whether the broker knows a worker for `service` (RFC 8 `mmi.service`). */
  async hasService(service: string, options: CallOptions = {}): Promise<boolean> {
    const answer = await this.mmi(MMI_SERVICE, Buffer.from(service), options);
    return answer.toString() === '200';
  }

  /** Every service the broker knows, with worker counts and queue depth (`mmi.services`). */
  async services(options: CallOptions = {}): Promise<ServiceStats[]> {
    const answer = await this.mmi(MMI_SERVICES, EMPTY, options);
    return unpack(answer) as ServiceStats[];
  }

  /** A raw MMI request: one body frame in, the broker's one body frame out. */
  mmi(service: string, body: Buffer, options: CallOptions = {}): Promise<Buffer> {
    if (this.closed) return Promise.reject(new AgoraError('AGORA_ERR_BUS_CLOSED'));
    const deadline = options.deadline ?? deadlineIn(options.timeoutMs ?? this.timeoutMs);
    return new Promise<Buffer>((resolve, reject) => {
      const queue = this.mmiPending.get(service) ?? [];
      this.mmiPending.set(service, queue);
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
      if (!this.socket.send([EMPTY, MDPC01, Buffer.from(service), body])) {
        queue.splice(queue.indexOf(entry), 1);
        clearTimeout(entry.timer);
        reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
      }
    });
  }

  /** Close the socket; pending calls fail with AGORA_ERR_BUS_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(() => new AgoraError('AGORA_ERR_BUS_CLOSED'));
    void this.socket.close();
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
    this.pending.delete(msgid);
    clearTimeout(call.timer);
    call.reject(new AgoraError('AGORA_ERR_BUS_TOO_MANY_PENDING'));
  }

  /** [""][MDPC01][service][body] (RFC 7 §Client protocol). */
  private onMessage(frames: Buffer[]): void {
    if (frames.length < 4 || frames[0].length !== 0 || !same(frames[1], MDPC01)) {
      this.log?.warn({ frames: frames.length }, 'dropped malformed reply');
      return;
    }
    if (frames[3].length === 0) return; // a worker's REPLY to a notification carries an empty body
    if (isMmi(frames[2])) return this.onMmiReply(frames[2].toString(), frames[3]);
    let reply;
    try {
      reply = decodeMessage(frames[3]);
    } catch (err) {
      this.log?.warn({ err, service: frames[2].toString() }, 'dropped undecodable reply');
      return;
    }
    if (reply.type !== 1) return;
    const call = this.pending.get(reply.msgid);
    if (call === undefined) return; // late answer to a call that timed out
    this.pending.delete(reply.msgid);
    clearTimeout(call.timer);
    if (reply.error !== null && reply.error !== undefined) call.reject(fromWire(reply.error));
    else call.resolve(reply.result);
  }

  private onMmiReply(service: string, body: Buffer): void {
    const entry = this.mmiPending.get(service)?.shift();
    if (entry === undefined || entry.settled) return; // a late answer to a request that timed out
    clearTimeout(entry.timer);
    entry.resolve(body);
  }

  private timeout(msgid: number): void {
    const call = this.pending.get(msgid);
    if (call === undefined) return;
    this.pending.delete(msgid);
    const err = new AgoraError('AGORA_ERR_BUS_TIMEOUT', [call.service, call.method]);
    if (call.trace !== undefined)
      err.stack = `${err.name}: ${err.message}\n${(call.trace.stack ?? '').split('\n').slice(1).join('\n')}`;
    call.reject(err);
  }

  /** The broker went away: nothing pending will be answered (RFC 7 has no resume). */
  private onDisconnect(): void {
    if (this.closed) return;
    this.connected = false;
    const n = this.pending.size;
    this.rejectAll(() => new AgoraError('AGORA_ERR_BUS_DISCONNECTED'));
    this.log?.warn({ rejected: n }, 'broker connection lost; reconnecting');
  }

  private rejectAll(make: () => AgoraError): void {
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(make());
    }
    this.pending.clear();
    for (const queue of this.mmiPending.values()) {
      for (const entry of queue.splice(0)) {
        clearTimeout(entry.timer);
        entry.reject(make());
      }
    }
  }
}

/** Connect a bus client (the socket connects in the background; calls wait in its queue). */
export function createClient(options: ClientOptions): BusClient {
  return new BusClient(options);
}
