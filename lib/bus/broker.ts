/**
 * The Majordomo broker: ZeroMQ RFC 7/MDP 0.2 with RFC 8/MMI, over one ROUTER socket.
 * Clients speak MDPC01, workers MDPW01; the broker balances each service's requests over
 * its idle workers, queues them (bounded) while all are busy or none is registered yet,
 * sends a draining worker no more (Agora's extension, docs/PROTOCOL.md §3), drops workers
 * whose heartbeats stop, and answers every request it cannot route with a msgpack-RPC error,
 * so no caller waits for nothing. Malformed traffic is dropped and logged, never fatal. Under
 * CURVE (docs/PROTOCOL.md §15) it admits only the keys of its allow-list (lib/bus/allow-list.ts),
 * lets each register and call only what its certificate grants, and vouches for the caller.
 */
import { AgoraError, type ErrorCode } from '../errors';
import type { Logger } from '../log';
import { mayCall, mayServe, type AllowList, type Grant } from './allow-list';
import {
  finite,
  MAX_TAILERS,
  MMI_STATUS,
  MMI_TAIL,
  responseFailed,
  ServiceMetrics,
  TAIL_LEASE_MS,
  tailEvent,
  type BrokerStatus,
  type Tailer,
} from './broker-stats';
import {
  decodeHeartbeatOptions,
  decodeReadyOptions,
  pack,
  peekId,
  peekMethod,
  peekMsgid,
  REQUEST_TYPE,
  RESPONSE_TYPE,
  vouchMeta,
} from './codec';
import {
  Command,
  DISCONNECT,
  EMPTY,
  HEARTBEAT,
  isMmi,
  MDPC01,
  MDPW01,
  MMI_PREFIX,
  MMI_SERVICE,
  MMI_SERVICES,
  READY,
  REPLY,
  REQUEST,
  same,
} from './mdp';
import { HeartbeatClock } from './heartbeat';
import { HeldRequests, type HeldRequest } from './held';
import { peekRouteMeta } from './meta-peek';
import { sodiumReady } from './sodium';
import { z85Encode } from './z85';
import { RouterSocket, routingKey, type RoutingKey } from './zmtp';
import { keepFrame, RECEIVE_COPY_BELOW } from './zmtp-connection';
import { curveServer, type CurveKeys } from './zmtp-curve';

export interface BrokerOptions {
  /** Endpoint to bind, e.g. `tcp://127.0.0.1:5555` or `tcp://127.0.0.1:*`. */
  endpoint: string;
  heartbeatMs: number;
  heartbeatLiveness: number;
  /** Largest body (sum of the frames after the service name / client address). */
  maxBodyBytes: number;
  /** Requests waiting per service while all its workers are busy. */
  queueMax: number;
  /** Time a peer has to finish the ZMTP handshake before it is cut (AGORA_ZMTP_HANDSHAKE_MS). */
  handshakeMs?: number;
  /**
   * Time a request that names no deadline waits for a worker of a service that has none
   * (AGORA_BUS_WAIT_FOR_WORKER_MS, default 5000); a request with a deadline waits until then.
   */
  waitForWorkerMs?: number;
  /** CURVE (docs/PROTOCOL.md §15): the broker's key pair and the keys it admits; absent: NULL. */
  curve?: { keys: CurveKeys; allow: AllowList };
  log: Logger;
}

/** What `mmi.services` reports for one service. */
export interface ServiceStats {
  name: string;
  /** Registered worker sockets. */
  workers: number;
  /**
   * Requests the workers can hold at once: one per plain MDP worker, `slots` for one that said
   * so in READY, 0 for one draining.
   */
  slots: number;
  /** Free slots. */
  idle: number;
  queued: number;
}

/** A request; its msgid is null for a notification or a body that is not msgpack-RPC. */
interface Job extends HeldRequest {
  /** Body frames: the msgpack-RPC message and, optionally, the metadata frame. */
  body: Buffer[];
  deadline: number | undefined;
  idempotent: boolean;
  /** While its service has no worker: when it is answered AGORA_ERR_BUS_NO_SERVICE (see `waitEnd`). */
  waitUntil: number;
  /** When the broker read it (performance.now()), for the service's latency. */
  at: number;
}

interface WorkerEntry {
  id: Buffer;
  key: RoutingKey;
  service: ServiceEntry;
  expiry: number;
  /** Requests it may hold at once (READY's `slots`, 1 for plain MDP). */
  slots: number;
  /** Requests it holds, by client and msgid, so a REPLY finds its own in O(1) whatever the slots. */
  held: HeldRequests<Job>;
  /** Slots free (slots − requests held, once READY has been handled). */
  free: number;
  /** It said it drains (docs/PROTOCOL.md §3): out of rotation, it answers what it holds, then says DISCONNECT. */
  draining: boolean;
}

interface ServiceEntry {
  name: string;
  nameFrame: Buffer;
  workers: Set<WorkerEntry>;
  /**
   * The workers with a free slot, each once, in turn: the next request goes to the head, which
   * then moves to the back while it has slots left.
   */
  idle: WorkerEntry[];
  queue: Job[];
  metrics: ServiceMetrics;
}

/** Longest service name accepted (bytes). */
const MAX_SERVICE_NAME = 255;
/** Refusals remembered so that each (key, what) is logged once; beyond, the memory starts again. */
const REFUSALS_REMEMBERED = 10_000;

export class Broker {
  private readonly router: RouterSocket;
  private readonly services = new Map<string, ServiceEntry>();
  private readonly workers = new Map<RoutingKey, WorkerEntry>();
  private timer: NodeJS.Timeout | undefined;
  private clock = new HeartbeatClock(0);
  private endpoint = '';
  private readonly log: Logger;
  private dropped = 0;
  private droppedLogged = 0;
  /** The services with no worker and requests waiting for one. */
  private readonly waiting = new Set<ServiceEntry>();
  private waitTimer: NodeJS.Timeout | undefined;
  /** When waitTimer fires (Infinity: not set). */
  private waitAt = Infinity;
  /** Under CURVE: the keys admitted, and the grant of each connected peer by routing id. */
  private allow: AllowList | undefined;
  private readonly grants = new Map<RoutingKey, Grant>();
  private readonly refusals = new Set<string>();
  /** Clients tailing the calls (`mmi.tail`, docs/PROTOCOL.md §16); empty, the tail costs one size check per call. */
  private readonly tailers = new Map<RoutingKey, Tailer>();
  private readonly startedAt = Date.now();
  /** The service the last request routed to a worker named (most requests name the one before's). */
  private lastService: ServiceEntry | undefined;

  constructor(private readonly options: BrokerOptions) {
    this.log = options.log.child({ mod: 'broker' });
    this.allow = options.curve?.allow;
    // A frame over this closes its sender's connection (as libzmq's ZMQ_MAXMSGSIZE would);
    // bodies between maxBodyBytes and this get a clear error reply (AGORA_ERR_BUS_TOO_LARGE).
    this.router = new RouterSocket({
      maxFrameBytes: options.maxBodyBytes * 2 + 65536,
      handshakeMs: options.handshakeMs,
      mechanism: options.curve === undefined ? undefined : curveServer(options.curve.keys, (key) => this.admit(key)),
      // Frames are views of the read buffer: what the broker keeps beyond the message it handles
      // (a request's body, a service's name, a tailer's id) it copies (`ownCopy`, `service`, `tail`).
      receiveViews: true,
      // Every message's header and every worker command arrive as these, not as a view each.
      knownFrames: [MDPC01, MDPW01, READY, REPLY, HEARTBEAT, DISCONNECT],
    });
    this.router.onMessage = (frames) => {
      try {
        this.onMessage(frames);
      } catch (err) {
        this.log.error({ err }, 'message handling failed');
      }
    };
    // A worker whose connection closed is gone (killed, crashed, or restarted with a new
    // connection): forget it now rather than after heartbeat expiry, so nothing more is sent
    // to it and what it held is served elsewhere or failed at once (docs/PROTOCOL.md §9).
    this.router.onPeerGone = (id) => {
      const key = routingKey(id);
      this.grants.delete(key);
      this.tailers.delete(key);
      const worker = this.workers.get(key);
      if (worker !== undefined) this.removeWorker(worker, 'connection closed');
    };
  }

  /** Bind, start the loops, and resolve with the bound endpoint (the real port if `*`). */
  async start(): Promise<string> {
    if (this.options.curve !== undefined) await sodiumReady();
    await this.router.bind(this.options.endpoint);
    this.endpoint = this.router.lastEndpoint;
    this.clock = new HeartbeatClock(this.options.heartbeatMs);
    this.timer = setInterval(() => this.tick(), this.options.heartbeatMs);
    this.timer.unref();
    return this.endpoint;
  }

  /** Stop: close the socket; queued requests are dropped (their callers' deadlines answer them). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    clearTimeout(this.waitTimer);
    this.router.close();
  }

  /**
   * Under CURVE, admit the keys of `allow` from now on (SIGHUP): a connected peer whose key it
   * no longer holds is cut, a worker whose key may no longer serve its service is removed (and
   * told DISCONNECT); the others' new grants apply from their next message.
   */
  reload(allow: AllowList): void {
    if (this.allow === undefined) return;
    this.allow = allow;
    this.grants.clear();
    this.refusals.clear();
    this.router.disconnectWhere((key) => allow.get(key) === undefined);
    for (const worker of [...this.workers.values()]) {
      const grant = this.grantOf(worker.id);
      if (grant !== undefined && !mayServe(grant, worker.service.name))
        this.removeWorker(worker, 'may no longer serve', true);
    }
    this.log.info({ keys: allow.size }, 'allow-list reloaded');
  }

  /** Every service with its worker counts and queue depth (the `mmi.services` answer). */
  stats(): ServiceStats[] {
    return [...this.services.values()].map((s) => {
      let slots = 0;
      let idle = 0;
      for (const w of s.workers) {
        if (!w.draining) slots += w.slots;
        idle += w.free;
      }
      return { name: s.name, workers: s.workers.size, slots, idle, queued: s.queue.length };
    });
  }

  /** Every service with its counters (the `mmi.status` answer, docs/PROTOCOL.md §16). */
  status(): BrokerStatus {
    const now = Date.now();
    const services = this.stats().map((s) => {
      const m = (this.services.get(s.name) as ServiceEntry).metrics;
      return {
        name: s.name,
        workers: s.workers,
        slots: s.slots,
        busy: s.slots - s.idle,
        queued: s.queued,
        calls: m.calls,
        errors: m.errors,
        rate: m.rate(now),
        p50: finite(m.quantile(0.5)),
        p99: finite(m.quantile(0.99)),
      };
    });
    return { uptimeMs: now - this.startedAt, tailers: this.tailers.size, services };
  }

  /**
   * `mmi.tail`: `client` receives an event per call (of the service its body names, or of all for
   * an empty body) for TAIL_LEASE_MS, or until it asks `mmi.tail` with body `stop`.
   */
  private tail(client: Buffer, body: Buffer): Buffer {
    const key = routingKey(client);
    const asked = body.toString('utf8');
    if (asked === 'stop') {
      this.tailers.delete(key);
      return pack({ tailing: false });
    }
    if (!this.tailers.has(key) && this.tailers.size >= MAX_TAILERS) return Buffer.from('503');
    const service = asked === '' ? undefined : asked;
    this.tailers.set(key, { id: Buffer.from(client), service, until: Date.now() + TAIL_LEASE_MS });
    return pack({ tailing: true, service: service ?? null, leaseMs: TAIL_LEASE_MS });
  }

  /** Send the tail event of one call to every client tailing its service. */
  private publish(service: string, body: Buffer[], ms: number | null, outcome: string): void {
    let frame: Buffer | undefined;
    for (const tailer of this.tailers.values()) {
      if (tailer.service !== undefined && tailer.service !== service) continue;
      frame ??= pack(tailEvent(service, body, ms, outcome));
      this.router.send([tailer.id, EMPTY, MDPC01, TAIL_FRAME, frame]);
    }
  }

  private onMessage(frames: Buffer[]): void {
    // Every message starts [sender][empty][header] (RFC 7: REQ-compatible envelope).
    if (frames.length < 3 || frames[1].length !== 0) return this.drop('no empty delimiter frame', frames);
    const header = frames[2];
    if (same(header, MDPC01)) return this.onClient(frames);
    if (same(header, MDPW01)) return this.onWorker(frames);
    return this.drop('unknown protocol header', frames);
  }

  // ---- clients: [client][""][MDPC01][service][body…] ----

  private onClient(frames: Buffer[]): void {
    if (frames.length < 5) return this.drop('client message without body', frames);
    const client = frames[0];
    const serviceFrame = frames[3];
    if (serviceFrame.length === 0 || serviceFrame.length > MAX_SERVICE_NAME) {
      return this.fail(client, serviceFrame, frames.slice(4), 'AGORA_ERR_BUS_BAD_MESSAGE', [
        'service name must be 1 to 255 bytes',
      ]);
    }
    const size = bodySize(frames, 4);
    if (size > this.options.maxBodyBytes) {
      return this.fail(client, serviceFrame, frames.slice(4), 'AGORA_ERR_BUS_TOO_LARGE', [
        size,
        this.options.maxBodyBytes,
      ]);
    }
    // The service of the previous request, when this one names it too: no name decoded, no lookup.
    const last = this.lastService;
    const known = last !== undefined && same(serviceFrame, last.nameFrame) ? last : undefined;
    const name = known?.name ?? serviceFrame.toString('utf8');
    if (known === undefined && isMmi(serviceFrame)) return this.onMmi(client, name, serviceFrame, frames.slice(4));
    let body: Buffer[];
    if (this.allow !== undefined) {
      body = frames.slice(4);
      if (!this.authorizeCall(client, name, serviceFrame, body)) return undefined;
      body = ownCopy(body);
    } else body = ownCopy(frames, 4);
    // Only `deadline` and `idempotent` matter here: read from the frame's bytes (lib/bus/meta-peek.ts).
    const meta = peekRouteMeta(body[1]);
    const job: Job = {
      client,
      msgid: peekId(body[0], REQUEST_TYPE),
      next: undefined,
      body,
      deadline: meta.deadline,
      idempotent: meta.idempotent,
      waitUntil: 0,
      at: performance.now(),
    };
    const service = known ?? this.services.get(name);
    if (service === undefined || service.workers.size === 0) return this.awaitWorker(name, serviceFrame, job);
    this.lastService = service;
    const worker = this.takeIdle(service);
    if (worker !== undefined) return this.assign(worker, job);
    if (service.queue.length >= this.options.queueMax) {
      return this.fail(client, serviceFrame, body, 'AGORA_ERR_BUS_QUEUE_FULL', [name]);
    }
    service.queue.push(job);
  }

  /**
   * No worker serves `name` (yet): the request waits for one in the service's queue, within the
   * same bound as behind busy workers, until `waitEnd`; then AGORA_ERR_BUS_NO_SERVICE
   * (docs/PROTOCOL.md §9).
   */
  private awaitWorker(name: string, serviceFrame: Buffer, job: Job): void {
    const now = Date.now();
    job.waitUntil = waitEnd(job.deadline, now, this.options.waitForWorkerMs ?? DEFAULT_WAIT_FOR_WORKER_MS);
    if (job.waitUntil <= now) return this.fail(job.client, serviceFrame, job.body, 'AGORA_ERR_BUS_NO_SERVICE', [name]);
    const service = this.service(name, serviceFrame);
    if (service.queue.length >= this.options.queueMax) {
      return this.fail(job.client, serviceFrame, job.body, 'AGORA_ERR_BUS_QUEUE_FULL', [name]);
    }
    service.queue.push(job);
    this.waiting.add(service);
    this.wakeAt(job.waitUntil);
  }

  /** RFC 8/MMI, and Agora's `mmi.services`. */
  private onMmi(client: Buffer, name: string, serviceFrame: Buffer, body: Buffer[]): void {
    let answer: Buffer;
    if (name === MMI_SERVICE) {
      const asked = this.services.get(body[0].toString('utf8'));
      answer = Buffer.from(asked !== undefined && asked.workers.size > 0 ? '200' : '404');
    } else if (name === MMI_SERVICES) {
      answer = pack(this.stats());
    } else if (name === MMI_STATUS) {
      answer = pack(this.status());
    } else if (name === MMI_TAIL) {
      answer = this.tail(client, body[0]);
    } else {
      answer = Buffer.from('501');
    }
    this.router.send([client, EMPTY, MDPC01, serviceFrame, answer]);
  }

  // ---- workers: [worker][""][MDPW01][command][…] ----

  private onWorker(frames: Buffer[]): void {
    if (frames.length < 4 || frames[3].length !== 1) return this.drop('worker message without command', frames);
    const id = frames[0];
    const key = routingKey(id);
    const worker = this.workers.get(key);
    const command = frames[3][0];
    if (worker !== undefined) worker.expiry = this.expiry();
    switch (command) {
      case Command.READY:
        return this.onReady(id, key, worker, frames);
      case Command.REPLY:
        return this.onReply(id, worker, frames);
      case Command.HEARTBEAT:
        if (worker === undefined) this.disconnect(id);
        else if (frames.length > 4) this.onHeartbeatOptions(worker, frames);
        return undefined;
      case Command.DISCONNECT:
        // A worker says DISCONNECT only when it holds no request (docs/PROTOCOL.md §3); one the broker
        // still counts as its own crossed the DISCONNECT on the wire and never ran: serve it elsewhere.
        if (worker !== undefined) this.removeWorker(worker, 'worker said DISCONNECT', false, true);
        return undefined;
      default:
        this.drop('unknown worker command', frames);
        if (worker !== undefined) this.removeWorker(worker, 'protocol error', true);
        return undefined;
    }
  }

  private onReady(id: Buffer, key: RoutingKey, known: WorkerEntry | undefined, frames: Buffer[]): void {
    // RFC 7: a READY from a worker that is already registered is a protocol error.
    if (known !== undefined) return this.removeWorker(known, 'second READY', true);
    const nameFrame = frames[4];
    if (frames.length < 5 || frames.length > 6 || nameFrame.length === 0 || nameFrame.length > MAX_SERVICE_NAME) {
      this.drop('READY without a valid service name', frames);
      return this.disconnect(id);
    }
    // Agora's extension (docs/PROTOCOL.md §3): an options frame after the name offers several slots.
    const options = frames.length === 6 ? decodeReadyOptions(frames[5]) : { slots: 1 };
    if (options === undefined) {
      this.drop('READY with an unreadable options frame', frames);
      return this.disconnect(id);
    }
    const name = nameFrame.toString('utf8');
    if (name.startsWith(MMI_PREFIX)) {
      this.drop('READY for a reserved mmi. service', frames);
      return this.disconnect(id);
    }
    if (this.allow !== undefined) {
      const grant = this.grantOf(id);
      // Not registered, and not told at once: its next HEARTBEAT, from a worker the broker does
      // not know, is answered DISCONNECT. A worker reconnects at DISCONNECT, so answering now
      // would have it redo its handshake in a loop; this way it retries once per heartbeat.
      if (grant === undefined || !mayServe(grant, name)) return this.refuse(grant, id, `serve ${name}`);
    }
    const service = this.service(name, nameFrame);
    const worker: WorkerEntry = {
      id,
      key,
      service,
      expiry: this.expiry(),
      slots: options.slots,
      held: new HeldRequests(),
      free: 0,
      draining: false,
    };
    this.workers.set(key, worker);
    service.workers.add(worker);
    this.waiting.delete(service);
    this.log.info({ service: name, workers: service.workers.size, slots: options.slots }, 'worker ready');
    for (let i = 0; i < options.slots; i++) this.idle(worker);
  }

  /**
   * Agora's extension (docs/PROTOCOL.md §3): a HEARTBEAT may carry one options frame; `{"slots": 0}`
   * takes the worker out of rotation for good. It has counted as a heartbeat already; an options
   * frame this broker cannot read is dropped, never held against the worker (RFC 7 brokers
   * ignore what follows a HEARTBEAT's command).
   */
  private onHeartbeatOptions(worker: WorkerEntry, frames: Buffer[]): void {
    const asks = frames.length === 5 ? decodeHeartbeatOptions(frames[4]) : undefined;
    if (asks === undefined) return this.drop('HEARTBEAT options frame unreadable', frames);
    if (asks === 'drain' && !worker.draining) this.drain(worker);
  }

  /** No new request for `worker`: its free slots leave the rotation; what it holds is still answered and routed. */
  private drain(worker: WorkerEntry): void {
    worker.draining = true;
    this.withdrawSlots(worker);
    this.log.info({ service: worker.service.name, held: worker.held.size }, 'worker draining');
  }

  private onReply(id: Buffer, worker: WorkerEntry | undefined, frames: Buffer[]): void {
    if (worker === undefined) return this.disconnect(id);
    // [worker][""][MDPW01][REPLY][client][""][body…]
    if (frames.length < 7 || frames[5].length !== 0) {
      this.drop('REPLY without client envelope or body', frames);
      return this.removeWorker(worker, 'protocol error', true);
    }
    // RFC 7: a worker replies to a request it holds, to the client that sent it. A REPLY that
    // answers none is dropped: handling it would free a slot twice (two requests on one slot,
    // and a stale entry left behind once the worker is removed).
    const client = frames[4];
    const job = this.answered(worker, client, frames[6]);
    if (job === undefined) return this.drop('REPLY answering no request the worker holds', frames);
    const size = bodySize(frames, 6);
    if (size > this.options.maxBodyBytes) {
      this.fail(client, worker.service.nameFrame, job.body, 'AGORA_ERR_BUS_TOO_LARGE', [
        size,
        this.options.maxBodyBytes,
      ]);
    } else {
      const out = [client, EMPTY, MDPC01, worker.service.nameFrame, frames[6]];
      for (let i = 7; i < frames.length; i++) out.push(frames[i]);
      this.router.send(out);
    }
    const failed = responseFailed(frames[6]);
    const ms = performance.now() - job.at;
    worker.service.metrics.record(ms, failed);
    if (this.tailers.size > 0) this.publish(worker.service.name, job.body, ms, failed ? 'error' : 'ok');
    this.idle(worker);
  }

  /** The request a REPLY answers, taken from those `worker` holds; undefined when none. */
  private answered(worker: WorkerEntry, client: Buffer, body: Buffer): Job | undefined {
    // A plain MDP worker holds one request, whatever its body's format.
    if (worker.slots === 1) {
      const only = worker.held.only();
      return only !== undefined && only.client.equals(client) ? worker.held.take(client, only.msgid) : undefined;
    }
    // A worker with slots speaks msgpack-RPC: the response's msgid names the request; an
    // empty body answers a notification. A request without a msgid the broker could read
    // (a notification, or a body that is not msgpack-RPC) is answered by a REPLY to its
    // client naming no request held (docs/PROTOCOL.md §3).
    const msgid = body.length === 0 ? null : peekId(body, RESPONSE_TYPE);
    const job = worker.held.take(client, msgid);
    return job !== undefined || msgid === null ? job : worker.held.take(client, null);
  }

  // ---- dispatch ----

  private assign(worker: WorkerEntry, job: Job): void {
    worker.held.add(job);
    const body = job.body;
    const frames = [worker.id, EMPTY, MDPW01, REQUEST, job.client, EMPTY, body[0]];
    for (let i = 1; i < body.length; i++) frames.push(body[i]);
    this.router.send(frames);
  }

  /** A slot of `worker` became free: give it the oldest live request, or park it. */
  private idle(worker: WorkerEntry): void {
    if (worker.draining) return;
    const queue = worker.service.queue;
    const now = queue.length > 0 ? Date.now() : 0;
    while (queue.length > 0) {
      const job = queue.shift() as Job;
      if (job.deadline !== undefined && job.deadline <= now) continue; // its caller has given up
      return this.assign(worker, job);
    }
    worker.free++;
    if (worker.free === 1) worker.service.idle.push(worker);
  }

  /** A free slot, from the workers in turn (so that consecutive requests spread over them), or undefined. */
  private takeIdle(service: ServiceEntry): WorkerEntry | undefined {
    const worker = service.idle.shift();
    if (worker === undefined) return undefined;
    worker.free--;
    if (worker.free > 0) service.idle.push(worker);
    return worker;
  }

  private removeWorker(worker: WorkerEntry, reason: string, sendDisconnect = false, neverRan = false): void {
    if (sendDisconnect) this.disconnect(worker.id);
    this.workers.delete(worker.key);
    const service = worker.service;
    service.workers.delete(worker);
    this.withdrawSlots(worker);
    this.log.info({ service: service.name, workers: service.workers.size, reason }, 'worker removed');
    for (const job of worker.held.takeAll()) this.rescue(service, job, neverRan);
    if (service.workers.size === 0) this.waitForNextWorker(service);
  }

  /** Take the free slots of `worker` out of its service's turn. */
  private withdrawSlots(worker: WorkerEntry): void {
    if (worker.free > 0) worker.service.idle = worker.service.idle.filter((w) => w !== worker);
    worker.free = 0;
  }

  /** The worker of `job` is gone: retry an idempotent (or never run) call elsewhere, fail the others. */
  private rescue(service: ServiceEntry, job: Job, neverRan: boolean): void {
    if (
      (job.idempotent || neverRan) &&
      service.workers.size > 0 &&
      !(job.deadline !== undefined && job.deadline <= Date.now())
    ) {
      const worker = this.takeIdle(service);
      if (worker !== undefined) return this.assign(worker, job);
      service.queue.unshift(job);
      return undefined;
    }
    return this.fail(job.client, service.nameFrame, job.body, 'AGORA_ERR_BUS_WORKER_LOST', [service.name]);
  }

  /** The last worker of a service is gone: what waits, waits for the next one as a new request would. */
  private waitForNextWorker(service: ServiceEntry): void {
    if (service.queue.length === 0) return;
    const now = Date.now();
    const waitMs = this.options.waitForWorkerMs ?? DEFAULT_WAIT_FOR_WORKER_MS;
    for (const job of service.queue) job.waitUntil = waitEnd(job.deadline, now, waitMs);
    this.waiting.add(service);
    this.answerWaiting(now);
  }

  /** Answer AGORA_ERR_BUS_NO_SERVICE to every request whose wait for a worker is over; set the timer for the next. */
  private answerWaiting(now: number): void {
    let next = Infinity;
    for (const service of this.waiting) {
      const keep: Job[] = [];
      for (const job of service.queue) {
        if (job.waitUntil > now + WAIT_SLACK_MS) {
          keep.push(job);
          next = Math.min(next, job.waitUntil);
        } else this.fail(job.client, service.nameFrame, job.body, 'AGORA_ERR_BUS_NO_SERVICE', [service.name]);
      }
      service.queue = keep;
      if (keep.length === 0) this.waiting.delete(service);
    }
    this.wakeAt(next);
  }

  /** Have the wait timer fire at `at` at the latest. */
  private wakeAt(at: number): void {
    if (at >= this.waitAt) return;
    clearTimeout(this.waitTimer);
    this.waitAt = at;
    this.waitTimer = setTimeout(
      () => {
        this.waitTimer = undefined;
        this.waitAt = Infinity;
        this.answerWaiting(Date.now());
      },
      Math.max(0, at - Date.now()),
    );
    this.waitTimer.unref();
  }

  /** Heartbeat tick (RFC 7 §Heartbeating): expire silent workers, heartbeat the others, drop stale requests. */
  private tick(): void {
    const now = Date.now();
    // A late tick (this process stalled) comes before the messages that arrived meanwhile are read.
    const late = this.clock.late(now);
    for (const worker of this.workers.values()) {
      worker.expiry += late;
      if (worker.expiry <= now) this.removeWorker(worker, 'heartbeat expired');
      else this.router.send([worker.id, EMPTY, MDPW01, HEARTBEAT]);
    }
    // Before the stale requests are dropped below: a request waiting for a first worker gets its answer.
    if (this.waiting.size > 0) this.answerWaiting(now);
    for (const service of this.services.values()) {
      if (service.queue.length > 0)
        service.queue = service.queue.filter((job) => job.deadline === undefined || job.deadline > now);
      if (service.workers.size === 0 && service.queue.length === 0) {
        this.services.delete(service.name);
        if (this.lastService === service) this.lastService = undefined;
      } else service.metrics.roll(now);
    }
    for (const [key, tailer] of this.tailers) if (tailer.until <= now) this.tailers.delete(key);
    if (this.dropped > this.droppedLogged) {
      this.log.warn({ dropped: this.dropped - this.droppedLogged }, 'malformed messages dropped since last report');
      this.droppedLogged = this.dropped;
    }
  }

  // ---- CURVE authorization (docs/PROTOCOL.md §15) ----

  /** The handshake's question: may this key connect at all? */
  private admit(key: Buffer): boolean {
    if (this.allow?.get(key) !== undefined) return true;
    this.refuse(undefined, undefined, 'connect', key);
    return false;
  }

  /** The grant of the peer `id` names, from its authenticated key. */
  private grantOf(id: Buffer): Grant | undefined {
    const key = routingKey(id);
    let grant = this.grants.get(key);
    if (grant === undefined) {
      grant = this.allow?.get(this.router.peerKey(id));
      if (grant !== undefined) this.grants.set(key, grant);
    }
    return grant;
  }

  /**
   * May `client` call `service` with this body? If so its metadata frame is replaced by one
   * naming the key's certificate as `caller` (and keeping `user` only for a key granted
   * act_for_users); if not, it is answered AGORA_ERR_BUS_FORBIDDEN.
   */
  private authorizeCall(client: Buffer, service: string, serviceFrame: Buffer, body: Buffer[]): boolean {
    const grant = this.grantOf(client);
    const method = peekMethod(body[0]);
    if (grant === undefined || !mayCall(grant, service, method)) {
      const what = method === undefined ? service : `${service}.${method}`;
      this.refuse(grant, client, `call ${what}`);
      this.fail(client, serviceFrame, body, 'AGORA_ERR_BUS_FORBIDDEN', [grant?.name ?? '?', what]);
      return false;
    }
    body[1] = vouchMeta(body[1], grant.name, grant.actForUsers);
    return true;
  }

  /** Log a refusal, once per key and what it was refused. */
  private refuse(grant: Grant | undefined, id: Buffer | undefined, what: string, key?: Buffer): void {
    const z85 = grant?.key ?? (key !== undefined ? z85Encode(key) : undefined);
    const peerKey = id !== undefined ? this.router.peerKey(id) : undefined;
    const shown = z85 ?? (peerKey !== undefined ? z85Encode(peerKey) : '?');
    const memo = `${shown} ${what}`;
    if (this.refusals.has(memo)) return;
    if (this.refusals.size >= REFUSALS_REMEMBERED) this.refusals.clear();
    this.refusals.add(memo);
    this.log.warn({ key: shown, name: grant?.name, refused: what }, 'bus key refused');
  }

  // ---- helpers ----

  private service(name: string, nameFrame: Buffer): ServiceEntry {
    let service = this.services.get(name);
    if (service === undefined) {
      service = {
        name,
        nameFrame: Buffer.from(nameFrame),
        workers: new Set(),
        idle: [],
        queue: [],
        metrics: new ServiceMetrics(Date.now()),
      };
      this.services.set(name, service);
    }
    return service;
  }

  private expiry(): number {
    return Date.now() + this.options.heartbeatMs * this.options.heartbeatLiveness;
  }

  private disconnect(id: Buffer): void {
    this.router.send([id, EMPTY, MDPW01, DISCONNECT]);
  }

  /** Answer a client with a msgpack-RPC error response carrying its request's msgid. */
  private fail(client: Buffer, serviceFrame: Buffer, body: Buffer[], code: ErrorCode, args: unknown[]): void {
    if (this.tailers.size > 0) this.publish(serviceFrame.toString('utf8'), body, null, code);
    const error = new AgoraError(code, args).toWire();
    const reply = pack([RESPONSE_TYPE, peekMsgid(body[0]), error, null]);
    this.router.send([client, EMPTY, MDPC01, serviceFrame, reply]);
  }

  /** Log a dropped message: the first few in detail, then a count per heartbeat tick. */
  private drop(reason: string, frames: Buffer[]): void {
    this.dropped++;
    if (this.dropped - this.droppedLogged <= 10) {
      this.droppedLogged++;
      this.log.warn(
        { reason, frames: frames.length, head: frames.slice(1, 4).map((f) => f.subarray(0, 16).toString('hex')) },
        'dropped malformed message',
      );
    }
  }
}

/** The service frame of every `mmi.tail` reply. */
const TAIL_FRAME = Buffer.from(MMI_TAIL);

/** AGORA_BUS_WAIT_FOR_WORKER_MS's default. */
export const DEFAULT_WAIT_FOR_WORKER_MS = 5000;
/** Requests whose wait ends this close together are answered by one timer. */
const WAIT_SLACK_MS = 5;

/**
 * When a request waiting for a worker is answered AGORA_ERR_BUS_NO_SERVICE: with a deadline, a
 * little before it (a tenth of the time left, 20 to 250 ms), so that the answer reaches the
 * caller before its own timer gives up; without one, `waitMs` from now.
 */
export function waitEnd(deadline: number | undefined, now: number, waitMs: number): number {
  if (deadline === undefined) return now + waitMs;
  return deadline - Math.min(250, Math.max(20, Math.floor((deadline - now) / 10)));
}

/**
 * A request's body frames copied into one buffer of their own: the broker holds a request while
 * it waits and while its worker runs it, and a view would keep the whole read buffer alive that
 * long. Frames over RECEIVE_COPY_BELOW are kept as they are (a buffer of their own already).
 */
export function ownCopy(body: Buffer[], from = 0): Buffer[] {
  // Not the size checked on arrival: under CURVE the metadata frame has been replaced since.
  const size = bodySize(body, from);
  if (size > RECEIVE_COPY_BELOW) return body.slice(from).map(keepFrame);
  const all = Buffer.allocUnsafe(size);
  const out = new Array<Buffer>(body.length - from);
  let at = 0;
  for (let i = from; i < body.length; i++) {
    const start = at;
    at += body[i].copy(all, at);
    out[i - from] = all.subarray(start, at);
  }
  return out;
}

/** The bytes of `frames` from index `from`. */
function bodySize(frames: Buffer[], from = 0): number {
  let n = 0;
  for (let i = from; i < frames.length; i++) n += frames[i].length;
  return n;
}
