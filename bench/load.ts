/**
 * The load side of the bus bench, shared by the three client processes (raw ZeroMQ,
 * Moleculer, Agora): a closed loop keeping N calls in flight for a warm-up and then a
 * fixed measured window, with every call's latency taken from the monotonic clock
 * (`process.hrtime.bigint()`). A client process connects, prints `{"connected":true}`, then
 * measures one cell for each line bench/run.ts writes to its stdin (a `Turn`), printing one JSON
 * line `{"cell":…}` for each, until its stdin ends: the systems compared take turns this way, each
 * loaded while the others wait, so that a change in the host's load falls on all of them.
 */

import { createInterface } from 'node:readline';

/** The one payload every system echoes: a map with 100 characters of text and a number. */
export const PAYLOAD = Object.freeze({ text: 'agora-bench-'.padEnd(100, 'x'), n: 42 });

/** Whether an answer is the payload echoed back. */
export function isEcho(value: unknown): boolean {
  const v = value as { text?: unknown; n?: unknown } | null;
  return v !== null && typeof v === 'object' && v.text === PAYLOAD.text && v.n === PAYLOAD.n;
}

/** What bench/run.ts passes to a client process as JSON in argv[2]. */
export interface LoadPlan {
  /** Where the server listens (its ready line's endpoint). */
  endpoint: string;
}

/** One cell a client process measures, asked for by a line of its stdin. */
export interface Turn {
  inFlight: number;
  warmupMs: number;
  durationMs: number;
}

export interface CellResult {
  inFlight: number;
  /** Calls completed inside the measured window. */
  calls: number;
  /** calls / window. */
  perSecond: number;
  p50Us: number;
  p99Us: number;
  /** Calls that failed or answered something other than the payload. */
  bad: number;
}

/** One call of the system under test; resolves with its answer. */
export type Call = () => Promise<unknown>;

/** Latency samples kept per cell; a bound on memory whatever the speed. */
const MAX_SAMPLES = 2_000_000;

/** Keep `inFlight` calls going for `warmupMs`, then measure for `durationMs`. */
export async function runCell(
  call: Call,
  check: (answer: unknown) => boolean,
  inFlight: number,
  warmupMs: number,
  durationMs: number,
): Promise<CellResult> {
  const ms = 1_000_000n;
  const start = process.hrtime.bigint();
  const measureFrom = start + BigInt(warmupMs) * ms;
  const end = measureFrom + BigInt(durationMs) * ms;
  const samples = new Float64Array(MAX_SAMPLES);
  let kept = 0;
  let calls = 0;
  let bad = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const t0 = process.hrtime.bigint();
      if (t0 >= end) return;
      let ok: boolean;
      try {
        ok = check(await call());
      } catch {
        ok = false;
      }
      const t1 = process.hrtime.bigint();
      if (t1 < measureFrom || t1 > end) continue;
      calls++;
      if (!ok) bad++;
      if (t0 >= measureFrom && kept < MAX_SAMPLES) samples[kept++] = Number(t1 - t0) / 1000;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const sorted = samples.subarray(0, kept).sort();
  return {
    inFlight,
    calls,
    perSecond: Math.round(calls / (durationMs / 1000)),
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    bad,
  };
}

/**
 * The turns of one cell taken as one: the calls of every turn over their measured time, p50 and p99 the
 * median of the turns' own (a turn the host slowed moves them less than pooling every latency would).
 */
export function combineTurns(turns: readonly CellResult[], durationMs: number): CellResult {
  if (turns.length === 0) throw new Error('no turn to combine');
  const calls = turns.reduce((sum, t) => sum + t.calls, 0);
  return {
    inFlight: turns[0].inFlight,
    calls,
    perSecond: Math.round(calls / (durationMs / 1000)),
    p50Us: median(turns.map((t) => t.p50Us)),
    p99Us: median(turns.map((t) => t.p99Us)),
    bad: turns.reduce((sum, t) => sum + t.bad, 0),
  };
}

/** The nearest-rank median of `values` (the turns' p50s or p99s, here and in bench/side-by-side.ts). */
export function median(values: readonly number[]): number {
  return percentile(Float64Array.from(values).sort(), 0.5);
}

/** Nearest-rank percentile of ascending samples, rounded to 0.1 µs. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return Math.round(sorted[rank] * 10) / 10;
}

/** A client process's connection to the system under test. */
export interface Connected {
  call: Call;
  /** Whether an answer is right (default: `isEcho`). */
  check?: (answer: unknown) => boolean;
  close: () => Promise<void> | void;
}

/**
 * The body of a client process: read the plan from argv, `connect` (which resolves once the server is known
 * to answer), say so, then measure a cell for each `Turn` line of stdin and print it; when stdin ends, `close`
 * and exit.
 */
export function clientMain(name: string, connect: (plan: LoadPlan) => Promise<Connected>): void {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  const run = async (): Promise<void> => {
    const { call, check = isEcho, close } = await connect(plan);
    process.stdout.write('{"connected":true}\n');
    for await (const line of createInterface({ input: process.stdin })) {
      const turn = JSON.parse(line) as Turn;
      const cell = await runCell(call, check, turn.inFlight, turn.warmupMs, turn.durationMs);
      process.stdout.write(`${JSON.stringify({ cell })}\n`);
    }
    await close();
  };
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
