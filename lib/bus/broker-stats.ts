/**
 * The broker's cheap counters and its call tail (docs/PROTOCOL.md §16): per service the calls
 * answered, the errors among them, a small latency histogram and a recent rate; and the events
 * `mmi.tail` streams, built only while someone tails.
 */
import { decodeMeta, peekMethod } from './codec';

/** Upper bounds (ms) of the latency histogram's buckets; a last bucket takes the rest. */
export const LATENCY_BOUNDS_MS = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** The shortest window a rate is measured over (ms). */
const RATE_WINDOW_MS = 5000;

/** Counters of one service, kept for as long as the broker knows the service. */
export class ServiceMetrics {
  calls = 0;
  errors = 0;
  readonly histogram = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
  private windowAt: number;
  private windowCalls = 0;
  private prevAt: number;
  private prevCalls = 0;

  constructor(now: number) {
    this.windowAt = now;
    this.prevAt = now;
  }

  /** One call answered after `ms`; `failed` when its answer carries an error. */
  record(ms: number, failed: boolean): void {
    this.calls++;
    if (failed) this.errors++;
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]) i++;
    this.histogram[i]++;
  }

  /** Start a new rate window when the current one is old enough (the broker's heartbeat tick). */
  roll(now: number): void {
    if (now - this.windowAt < RATE_WINDOW_MS) return;
    this.prevAt = this.windowAt;
    this.prevCalls = this.windowCalls;
    this.windowAt = now;
    this.windowCalls = this.calls;
  }

  /** Calls per second over the last one or two windows. */
  rate(now: number): number {
    const ms = now - this.prevAt;
    return ms <= 0 ? 0 : Math.round(((this.calls - this.prevCalls) * 1000 * 10) / ms) / 10;
  }

  /** The `q` quantile (0..1) of the latencies, as its bucket's upper bound in ms; null with no call yet. */
  quantile(q: number): number | null {
    return quantileOf(this.histogram, q);
  }
}

/** The upper bound (ms) of the bucket holding quantile `q` of `histogram`; null when it is empty. */
export function quantileOf(histogram: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i];
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i] : Infinity;
  }
  return null;
}

/**
 * Whether a msgpack-RPC response frame carries an error: after `[1, msgid` comes the error,
 * nil (0xc0) when there is none. A frame this cannot read counts as no error.
 */
export function responseFailed(frame: Uint8Array | undefined): boolean {
  if (frame === undefined || frame.length < 4 || frame[0] !== 0x94 || frame[1] !== 1) return false;
  const tag = frame[2];
  let at = 3;
  if (tag >= 0xcc && tag <= 0xcf) at += 1 << (tag - 0xcc);
  else if (tag >= 0xd0 && tag <= 0xd3) at += 1 << (tag - 0xd0);
  else if (tag >= 0x80) return false;
  return at < frame.length && frame[at] !== 0xc0;
}

/** One line of `agora tail`: a call the broker answered or failed. */
export interface TailEvent {
  /** When it was answered, ms since the epoch. */
  t: number;
  service: string;
  method: string | null;
  caller: string | null;
  reqId: string | null;
  /** Time from the broker's receiving it to its answer; null for one the broker failed at once. */
  ms: number | null;
  /** `ok`, `error`, or the code of the broker's own error (AGORA_ERR_BUS_…). */
  outcome: string;
}

/** The event for a call whose request body is `body` (its msgpack-RPC frame, then the metadata frame). */
export function tailEvent(service: string, body: Buffer[], ms: number | null, outcome: string): TailEvent {
  const meta = body.length > 1 ? decodeMeta(body[1]) : {};
  return {
    t: Date.now(),
    service,
    method: peekMethod(body[0]) ?? null,
    caller: meta.caller ?? null,
    reqId: meta.reqId ?? null,
    ms: ms === null ? null : Math.round(ms * 1000) / 1000,
    outcome,
  };
}

/** A client tailing the calls, for `service` or for every service (undefined). */
export interface Tailer {
  id: Buffer;
  service: string | undefined;
  /** When it ends unless the client asks again. */
  until: number;
}

/** How long one `mmi.tail` request keeps its client tailing; clients ask again well before. */
export const TAIL_LEASE_MS = 30_000;
/** Clients tailing at once, at most. */
export const MAX_TAILERS = 16;

/** Agora's MMI requests of docs/PROTOCOL.md §16. */
export const MMI_STATUS = 'mmi.status';
export const MMI_TAIL = 'mmi.tail';

/** One service in the `mmi.status` answer. */
export interface ServiceStatus {
  name: string;
  workers: number;
  /** Requests the workers can hold at once (as `mmi.services`), and how many they hold now. */
  slots: number;
  busy: number;
  queued: number;
  calls: number;
  errors: number;
  /** Calls answered per second, recently. */
  rate: number;
  /** Latency quantiles (ms, a histogram bucket's upper bound); null with no call yet or beyond the last bucket. */
  p50: number | null;
  p99: number | null;
}

/** The `mmi.status` answer. */
export interface BrokerStatus {
  /** Time since the broker started, ms. */
  uptimeMs: number;
  tailers: number;
  services: ServiceStatus[];
}

/** A quantile for the wire: a finite number or null. */
export function finite(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : value;
}
