/**
 * Brings the changes of the route store, made by any Routes instance, to this instance's Watch
 * streams. The store announces each change on its topic in the same atomic step as the write
 * (lib/store/contracts.ts `RouteStore`: Redis PUBLISH, PostgreSQL NOTIFY, in-process in memory),
 * so every instance hears every change, in one order. A subscription can break and lose
 * messages; then the followers must load the table again, once the subscription hears again:
 * - this instance publishes a probe `p <id> <n>` on the topic every PROBE_MS; hearing its own
 *   probe back proves the subscription delivers up to it;
 * - the subscription is down from a gap the topic reports (`onGap`), or from SILENCE_MS without
 *   hearing a probe back; the first probe heard after that sends `reload` to every stream (a
 *   change made meanwhile is in the table the followers load then).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { within } from '../../lib/deadline';
import { AgoraError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { decodeRouteChange, type Broadcast, type RouteChange } from '../../lib/store/contracts';

export const PROBE_MS = 500;
export const SILENCE_MS = 2000;

/** Where the changes go (./watch.ts `RouteWatchHub`, through the wire form). */
export interface ChangeSink {
  change(change: RouteChange): void;
  reload(): void;
}

export interface RelayOptions {
  topic: Broadcast;
  sink: ChangeSink;
  log: Logger;
  probeMs?: number;
  silenceMs?: number;
  /** Monotonic ms (tests inject one). */
  clock?: () => number;
}

export class ChangeRelay {
  readonly id = randomBytes(6).toString('hex');
  private readonly clock: () => number;
  private readonly silenceMs: number;
  /** Whether the subscription is known to deliver (a probe heard since the last gap). */
  private live = false;
  private lastEcho = -Infinity;
  private n = 0;
  private timer: NodeJS.Timeout | undefined;
  private firstEcho: (() => void) | undefined;

  constructor(private readonly options: RelayOptions) {
    this.clock = options.clock ?? (() => performance.now());
    this.silenceMs = options.silenceMs ?? SILENCE_MS;
  }

  /** Whether the subscription is known to deliver now. */
  get hearing(): boolean {
    return this.live;
  }

  /** Subscribe, and resolve once this instance hears its own probe (within `timeoutMs`). */
  async start(timeoutMs: number): Promise<void> {
    const heard = new Promise<void>((resolve) => (this.firstEcho = resolve));
    await this.options.topic.subscribe({
      onMessage: (m) => this.onMessage(m),
      onGap: (reason) => this.down(reason),
    });
    this.timer = setInterval(() => this.tick(), this.options.probeMs ?? PROBE_MS);
    this.timer.unref();
    this.probe();
    await within(
      heard,
      timeoutMs,
      () =>
        new AgoraError('AGORA_ERR_STORE_UNAVAILABLE', ['route topic', `own probe not heard back in ${timeoutMs} ms`]),
    );
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.live && this.clock() - this.lastEcho > this.silenceMs)
      this.down(`no probe heard back in ${this.silenceMs} ms`);
    this.probe();
  }

  private probe(): void {
    this.options.topic
      .publish(`p ${this.id} ${++this.n}`)
      .catch((err: unknown) =>
        this.options.log.debug({ detail: errorMessage(err) }, 'route topic probe not published'),
      );
  }

  private down(reason: string): void {
    if (this.live) this.options.log.warn({ reason }, 'route changes not heard; followers reload once they are');
    this.live = false;
  }

  private onMessage(message: string): void {
    const change = decodeRouteChange(message);
    if (change !== undefined) {
      this.options.sink.change(change);
      return;
    }
    const probe = /^p (\S+) \d+$/.exec(message);
    if (probe === null || probe[1] !== this.id) return;
    this.lastEcho = this.clock();
    if (this.live) return;
    this.live = true;
    if (this.firstEcho !== undefined) {
      this.firstEcho();
      this.firstEcho = undefined;
      return;
    }
    this.options.log.info('route changes heard again; followers reload');
    this.options.sink.reload();
  }
}
