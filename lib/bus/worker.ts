/**
 * Workers: `serve(service, handlers, { concurrency })` opens one MDP worker socket (RFC 7
 * MDPW01) whose READY offers `concurrency` slots (Agora's extension, docs/PROTOCOL.md §3),
 * so the broker hands it that many requests at once over one connection. The socket
 * heartbeats the broker, notices its silence, and reconnects with a fresh socket and READY
 * (which is also how it re-registers after the broker restarts: the new broker answers the
 * first HEARTBEAT with DISCONNECT). Closing drains: with slots, it first asks the broker for no
 * more requests (HEARTBEAT options `{"slots": 0}`, docs/PROTOCOL.md §3), then answers what it holds.
 * With several brokers (`endpoint` a comma-separated list) it registers with each, one socket per
 * broker, and serves whatever any of them hands it; the brokers share nothing.
 */
import { expired } from '../deadline';
import { AgoraError, isAgoraError, toWire, type WireError } from '../errors';
import type { Logger } from '../log';
import {
  decodeMessage,
  DRAIN_OPTIONS,
  encodeReadyOptions,
  encodeResponse,
  MAX_SLOTS,
  peekId,
  REQUEST_TYPE,
  type Meta,
} from './codec';
import { HeartbeatClock } from './heartbeat';
import { peekMeta } from './meta-peek';
import { Command, DISCONNECT, EMPTY, HEARTBEAT, MDPW01, READY, REPLY, REQUEST, same } from './mdp';
import { busEndpoints, DealerSocket } from './zmtp';
import { keepFrame } from './zmtp-connection';
import type { MechanismFactory } from './zmtp-mechanism';

/**
 * What a handler knows of the call besides its params, whichever transport brought it: the bus
 * here (from the request's metadata frame) or gRPC (lib/rpc/grpc.ts). Services import it from
 * lib/rpc/service.ts, which re-exports it.
 */
export interface RpcContext {
  service: string;
  method: string;
  /** Request id born at the edge. */
  reqId?: string;
  /** Absolute deadline (ms since the epoch), when the caller set one. */
  deadline?: number;
  /** Who calls: under CURVE the name of the caller's key, vouched for by the broker; else what the caller said. */
  caller?: string;
  /**
   * The user the call is made for, when the caller said (docs/PROTOCOL.md §14); under CURVE only a
   * key granted act_for_users can say (§15).
   */
  user?: string;
  /** Logger carrying the call's `reqId`. */
  log: Logger;
}

/** A bus method: params in (the msgpack-RPC params array), result out; throw AgoraError to fail. */
export type Handler = (params: unknown[], ctx: RpcContext) => unknown;

export type Handlers = Readonly<Record<string, Handler>>;

export interface ServeOptions {
  /** The broker, or several comma-separated: the worker registers with each. */
  endpoint: string;
  /** Requests served at once by this process for this service, per broker (1..1024, default 32). */
  concurrency?: number;
  heartbeatMs?: number;
  heartbeatLiveness?: number;
  /** Time the broker has to finish the ZMTP handshake (AGORA_ZMTP_HANDSHAKE_MS). */
  handshakeMs?: number;
  /** The connection's security mechanism (CURVE: lib/bus/security.ts); default NULL. */
  mechanism?: MechanismFactory;
  log: Logger;
}

/** Serve `handlers` as `service` on the bus: on each broker the endpoint lists. */
export function serve(service: string, handlers: Handlers, options: ServeOptions): BusWorker {
  return new BusWorker(service, handlers, options);
}

/** The worker of one service in this process, registered with every broker of its endpoint list. */
export class BusWorker {
  private readonly links: BrokerWorker[];

  constructor(
    readonly service: string,
    handlers: Handlers,
    options: ServeOptions,
  ) {
    const endpoints = busEndpoints(options.endpoint);
    this.links = endpoints.map(
      (endpoint) =>
        new BrokerWorker(service, handlers, {
          ...options,
          endpoint,
          log: endpoints.length > 1 ? options.log.child({ broker: endpoint }) : options.log,
        }),
    );
  }

  /** Resolves once connected to one broker (its READY is then on the wire); the others follow by themselves. */
  ready(): Promise<void> {
    return Promise.race(this.links.map((l) => l.ready()));
  }

  /** Resolves once connected to every broker. */
  readyAll(): Promise<void> {
    return Promise.all(this.links.map((l) => l.ready())).then(() => undefined);
  }

  /** Requests being served right now, all brokers together. */
  get inFlight(): number {
    return this.links.reduce((n, l) => n + l.inFlight, 0);
  }

  /** Drain on every broker at once (BrokerWorker.close), then close. */
  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()));
  }
}

/**
 * The worker of one service on one broker: one DEALER socket serving `concurrency` requests at
 * once, replaced by a fresh one at each reconnect.
 */
class BrokerWorker {
  private socket!: DealerSocket;
  /** Bumped at each reconnect so a late reply is not sent on a newer socket. */
  private generation = 0;
  private expiry = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly clock: HeartbeatClock;
  /** Requests of the current connection being served. */
  private running = new Set<Promise<void>>();
  /** The client address of the last request, copied (most requests come from the client before's). */
  private lastClient: Buffer = EMPTY;
  private closing = false;
  /** Our heartbeats ask the broker to send no more requests (docs/PROTOCOL.md §3, drain). */
  private draining = false;
  /** DISCONNECT is on its way: a REQUEST arriving now is the broker's to fail, not ours. */
  private disconnected = false;
  /** The current socket has a connection to the broker (it reconnects by itself). */
  private linked = false;
  /** Resolves at the first TCP connection to the broker. */
  private readonly connected: Promise<void>;
  private onConnected: () => void = () => undefined;
  /** Requests held at once; more than 1 is announced in READY's options frame. */
  private readonly slots: number;
  private readonly heartbeatMs: number;
  private readonly liveness: number;
  private readonly log: Logger;

  constructor(
    readonly service: string,
    private readonly handlers: Handlers,
    private readonly options: ServeOptions,
  ) {
    const slots = options.concurrency ?? 32;
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS)
      throw new RangeError(`concurrency must be an integer from 1 to ${MAX_SLOTS}`);
    this.slots = slots;
    this.heartbeatMs = options.heartbeatMs ?? 2500;
    this.liveness = options.heartbeatLiveness ?? 3;
    this.log = options.log.child({ mod: 'bus-worker', service });
    this.connected = new Promise((resolve) => (this.onConnected = resolve));
    this.open();
    this.clock = new HeartbeatClock(this.heartbeatMs);
    this.timer = setInterval(() => this.tick(), this.heartbeatMs);
  }

  /** Resolves once the socket is connected to the broker (its READY is then on the wire). */
  ready(): Promise<void> {
    return this.connected;
  }

  /** Requests being served right now. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stop taking work, finish the requests in flight, say DISCONNECT, then close. With slots,
   * the broker is first told to send no more (docs/PROTOCOL.md §3, drain), so a busy service's
   * worker gets to hold nothing and leave.
   */
  async close(): Promise<void> {
    this.closing = true;
    // A REQUEST the broker sent before it hears our DISCONNECT is ours to serve: let the
    // receive loop take what has already arrived before deciding this socket is idle.
    await new Promise((resolve) => setImmediate(resolve));
    // Under load, each REPLY frees a slot that the broker fills at once: a worker with slots
    // would never hold nothing. Ask for no more; requests it sent before reading this are still
    // ours to serve. A plain RFC 7 worker holds nothing right after each REPLY: it needs no ask.
    if (this.running.size > 0 && this.slots > 1) {
      this.draining = true;
      this.log.info({ inFlight: this.running.size }, 'draining: asked the broker for no more requests');
      this.heartbeat();
    }
    // Keep heartbeating while the calls in flight finish: a silent worker is dropped by the
    // broker (RFC 7 §Heartbeating) and its callers would get AGORA_ERR_BUS_WORKER_LOST.
    while (this.running.size > 0) await Promise.all(this.running);
    clearInterval(this.timer);
    this.disconnected = true;
    this.socket.send([EMPTY, MDPW01, DISCONNECT]);
    // Linger: the DISCONNECT (and a last REPLY) leave before the connection closes.
    await this.socket.close(1000);
  }

  private open(): void {
    const generation = ++this.generation;
    const socket = new DealerSocket({
      queueMax: 1000,
      handshakeMs: this.options.handshakeMs,
      mechanism: this.options.mechanism,
      // Frames are views of the read buffer: what outlives onMessage is copied (onRequest).
      receiveViews: true,
      knownFrames: [MDPW01, REQUEST, HEARTBEAT, DISCONNECT],
    });
    this.socket = socket;
    this.linked = false;
    socket.onConnect = () => {
      // The broker's silence counts from when it can hear us: a READY that reaches a broker
      // just (re)started must not be abandoned before that broker's first HEARTBEAT arrives.
      if (generation === this.generation) {
        this.linked = true;
        this.expiry = Date.now() + this.heartbeatMs * this.liveness;
      }
      this.onConnected();
    };
    socket.onDisconnect = () => {
      if (generation === this.generation) this.linked = false;
    };
    socket.onMessage = (frames) => {
      if (generation === this.generation) this.onMessage(frames);
    };
    socket.connect(this.options.endpoint);
    this.expiry = Date.now() + this.heartbeatMs * this.liveness;
    const ready: Buffer[] = [EMPTY, MDPW01, READY, Buffer.from(this.service)];
    if (this.slots > 1) ready.push(encodeReadyOptions({ slots: this.slots }));
    socket.send(ready);
  }

  private reconnect(reason: string): void {
    this.log.info({ reason }, 'reconnecting to broker');
    // No linger: a READY or HEARTBEAT still queued in the old socket must not reach a broker
    // that comes up later, which would register a worker that never answers again.
    void this.socket.close();
    // Calls still running belong to the old connection: their replies are dropped
    // (generation), and the new broker hands this socket requests as soon as it reads READY.
    this.running = new Set();
    this.open();
  }

  /**
   * RFC 7 §Heartbeating: send ours every interval; a silent broker means reconnect. Not while
   * the broker is unreachable: the socket's queued READY would reach it when it comes up and
   * register a worker we had already abandoned (its requests lost until heartbeat expiry).
   */
  private tick(): void {
    // A late tick (this process stalled) comes before the broker's messages that arrived meanwhile are read.
    this.expiry += this.clock.late(Date.now());
    if (Date.now() >= this.expiry && !this.closing && this.linked) return this.reconnect('broker silent');
    this.heartbeat();
  }

  /**
   * While draining, every HEARTBEAT repeats the ask: it states what the worker is, so a send
   * lost to a full queue is made good at the next beat.
   */
  private heartbeat(): void {
    this.socket.send(this.draining ? [EMPTY, MDPW01, HEARTBEAT, DRAIN_OPTIONS] : [EMPTY, MDPW01, HEARTBEAT]);
  }

  private onMessage(frames: Buffer[]): void {
    if (frames.length < 3 || frames[0].length !== 0 || !same(frames[1], MDPW01) || frames[2].length !== 1) {
      this.log.warn({ frames: frames.length }, 'dropped malformed message from broker');
      return;
    }
    this.expiry = Date.now() + this.heartbeatMs * this.liveness;
    switch (frames[2][0]) {
      case Command.REQUEST:
        return this.onRequest(frames);
      case Command.HEARTBEAT:
        return undefined;
      case Command.DISCONNECT:
        if (!this.closing) this.reconnect('broker said DISCONNECT');
        return undefined;
      default:
        this.log.warn({ command: frames[2][0] }, 'dropped unknown command from broker');
        return undefined;
    }
  }

  /** [""][MDPW01][REQUEST][client][""][body][meta?] */
  private onRequest(frames: Buffer[]): void {
    if (frames.length < 6 || frames[4].length !== 0 || this.disconnected) {
      this.log.warn({ frames: frames.length, disconnected: this.disconnected }, 'dropped request');
      return;
    }
    // The client's address is kept until the reply: a copy, the one of the request before when it is the same
    // client. The body is read now (`handle` decodes it before it awaits anything), into params that hold
    // no view of it.
    const client = same(frames[3], this.lastClient) ? this.lastClient : (this.lastClient = keepFrame(frames[3]));
    const generation = this.generation;
    const running = this.running;
    const call: Promise<void> = this.handle(frames[5], peekMeta(frames[6])).then((body) => {
      running.delete(call);
      if (generation === this.generation) this.socket.send([EMPTY, MDPW01, REPLY, client, EMPTY, body]);
    });
    running.add(call);
  }

  /**
   * Run the handler and encode its answer; never throws. `body` is read before the first `await` only: it
   * may lie in the read buffer, which the next read writes over.
   */
  private async handle(body: Buffer, meta: Meta): Promise<Buffer> {
    let message;
    try {
      message = decodeMessage(body, true);
    } catch (err) {
      // The msgid as the broker read it, so that it matches this REPLY to the request, else nil:
      // never 0, which could name another request of the same client (docs/PROTOCOL.md §6).
      return encodeResponse(
        peekId(body, REQUEST_TYPE),
        new AgoraError('AGORA_ERR_BUS_BAD_MESSAGE', [(err as Error).message]).toWire(),
        null,
      );
    }
    if (message.type === 1) return EMPTY;
    const msgid = message.type === 0 ? message.msgid : null;
    if (expired(meta.deadline))
      return respond(msgid, new AgoraError('AGORA_ERR_BUS_TIMEOUT', [this.service, message.method]).toWire(), null);
    const handler = Object.prototype.hasOwnProperty.call(this.handlers, message.method)
      ? this.handlers[message.method]
      : undefined;
    if (handler === undefined)
      return respond(msgid, new AgoraError('AGORA_ERR_RPC_NO_METHOD', [this.service, message.method]).toWire(), null);
    const ctx = new CallContext(this.service, message.method, meta, this.log);
    try {
      return respond(msgid, null, await handler(message.params, ctx));
    } catch (err) {
      if (!isAgoraError(err)) ctx.log.error({ err, method: message.method }, 'handler failed');
      return respond(msgid, toWire(err), null);
    }
  }
}

/** The response to send: none (an empty body) for a notification. */
function respond(msgid: number | null, error: WireError | null, result: unknown): Buffer {
  return msgid === null ? EMPTY : encodeResponse(msgid, error, result);
}

/**
 * A handler's context: one object of one class per call (its fields set in the constructor), whose
 * logger, a child carrying reqId, is made only if the handler logs.
 */
class CallContext implements RpcContext {
  readonly reqId: string | undefined;
  readonly deadline: number | undefined;
  readonly caller: string | undefined;
  readonly user: string | undefined;
  private logger: Logger | undefined = undefined;

  constructor(
    readonly service: string,
    readonly method: string,
    meta: Meta,
    private readonly base: Logger,
  ) {
    this.reqId = meta.reqId;
    this.deadline = meta.deadline;
    this.caller = meta.caller;
    this.user = meta.user;
  }

  get log(): Logger {
    this.logger ??= this.reqId === undefined ? this.base : this.base.child({ reqId: this.reqId });
    return this.logger;
  }
}
