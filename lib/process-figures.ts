/**
 * A process's own memory and garbage-collection figures, logged as one `process figures` line every
 * `AGORA_PROCESS_FIGURES_MS` (0, the default: never). Every process that announces readiness through
 * lib/lifecycle.ts starts them, so the brokers and services, which serve no HTTP, report them too; the
 * soak (`npm run soak`, docs/RELIABILITY.md "Soak") reads them from each process's output. A line tells
 * a JavaScript leak (heap in use climbing) from memory V8 or the allocator keep (resident memory
 * climbing, heap in use flat), and Buffers held (external, arrayBuffers) from both.
 *
 * Cost while on: one PerformanceObserver callback per batch of garbage collections, an event-loop delay
 * histogram sampled every 20 ms, and a line per interval; off, nothing.
 */
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { Logger } from './log';

/** One line's figures: bytes, counts since the process began, and ms. */
export interface ProcessFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Garbage collections since the process began, and their total and longest pause (ms). */
  gcCount: number;
  gcPauseMs: number;
  gcMaxPauseMs: number;
  /**
   * Minor (scavenge) and full (mark-compact) collections among gcCount; the rest are incremental marking
   * steps and weak-callback passes.
   */
  gcMinor: number;
  gcMajor: number;
  /** Handles and requests keeping the event loop alive (`process.getActiveResourcesInfo()`). */
  handles: number;
  /** Event-loop delay over the last interval: 99th percentile and maximum, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
}

/** The message of the line; the figures are under its `figures` key. */
export const FIGURES_MESSAGE = 'process figures';

/** `NODE_PERFORMANCE_GC_MINOR` and `_MAJOR` of perf_hooks' constants (an entry's `detail.kind`). */
const GC_MINOR = 1;
const GC_MAJOR = 4;

/** Garbage-collection totals, kept by one observer. */
export class GcTotals {
  count = 0;
  minor = 0;
  major = 0;
  pauseMs = 0;
  maxPauseMs = 0;
  private readonly observer = new PerformanceObserver((list) => this.add(list.getEntries()));

  start(): this {
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    this.observer.disconnect();
  }

  add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      this.count++;
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === GC_MINOR) this.minor++;
      else if (kind === GC_MAJOR) this.major++;
      this.pauseMs += e.duration;
      if (e.duration > this.maxPauseMs) this.maxPauseMs = e.duration;
    }
  }
}

/** The figures now; `loop` is reset once read. */
export function readFigures(
  gc: GcTotals,
  loop: { percentile(p: number): number; max: number; reset(): void },
): ProcessFigures {
  const m = process.memoryUsage();
  const figures: ProcessFigures = {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    gcCount: gc.count,
    gcPauseMs: Math.round(gc.pauseMs * 10) / 10,
    gcMaxPauseMs: Math.round(gc.maxPauseMs * 10) / 10,
    gcMinor: gc.minor,
    gcMajor: gc.major,
    handles: process.getActiveResourcesInfo().length,
    loopP99Ms: Math.round(loop.percentile(99) / 1e4) / 100,
    loopMaxMs: Math.round(loop.max / 1e4) / 100,
  };
  loop.reset();
  return figures;
}

/**
 * Log `{figures: ProcessFigures}` with FIGURES_MESSAGE every `everyMs` (info level), until the returned
 * function is called; `everyMs` 0 starts nothing. The timer does not keep the process alive.
 */
export function startProcessFigures(log: Logger, everyMs: number): () => void {
  if (everyMs <= 0) return () => undefined;
  const gc = new GcTotals().start();
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const timer = setInterval(() => log.info({ figures: readFigures(gc, loop) }, FIGURES_MESSAGE), everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    loop.disable();
    gc.stop();
  };
}

/** The figures of one output line of a process, or undefined when it is not a `process figures` line. */
export function parseFigures(line: string): ProcessFigures | undefined {
  if (!line.includes(`"msg":"${FIGURES_MESSAGE}"`)) return undefined;
  try {
    const figures = (JSON.parse(line) as { figures?: unknown }).figures;
    if (typeof figures !== 'object' || figures === null) return undefined;
    const f = figures as Record<string, unknown>;
    return typeof f.rss === 'number' && typeof f.heapUsed === 'number' ? (figures as ProcessFigures) : undefined;
  } catch {
    return undefined;
  }
}
