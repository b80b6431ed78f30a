/**
 * HTTP loads measured side by side (bench/http.ts): the contenders a ratio compares take turns, a short
 * slice each, round after round, and each one's figures are the sums over its slices. On a shared
 * machine whose speed drifts over tens of seconds, two rows measured one after the other can differ by a
 * fifth with nothing changed; taking turns puts both sides of a ratio under the same drift.
 *
 * While one contender is loaded, the processes of the others are stopped (SIGSTOP, then SIGCONT at their
 * turn): their idle work (timers, heartbeats, a database's background writers) would otherwise take CPU
 * from the contender measured, as it does not when each runs alone.
 *
 * Each contender first gets `WARMUP_S` of its load, not measured (code compiled, a database's plans and
 * pages cached: a process's first seconds are slower), and each turn starts with `SETTLE_S` of it, not
 * measured either: a process that was stopped wakes to timers that are all late at once (heartbeats, the
 * fence of the caches, lib/fanout.ts). A slice is one autocannon run at `connections` keep-alive
 * connections, every answer checked. A contender whose warm-up gets no expected answer at all stops the
 * run, saying what one of its requests gets: its figures would be those of its failures.
 */
import autocannon from 'autocannon';
import { median } from './load';

/** Seconds of unmeasured load at the start of each turn. */
export const SETTLE_S = 1;
/** Seconds of unmeasured load for each contender before the first round (a process's first seconds are slower). */
export const WARMUP_S = 3;

/** One body, or a different body for each request in turn (e.g. one per channel). */
export type Bodies = string | readonly string[];

/** A CPU clock: µs of CPU (user + system) used so far by a process or a server; undefined where unknown. */
export interface Meter {
  name: string;
  read: () => number | undefined;
}

/** What one contender loads, whose CPU time it counts, and which processes are its own. */
export interface Contender {
  url: string;
  bodies: Bodies;
  expectBody: string;
  meters: readonly Meter[];
  /** The processes stopped while another contender is loaded (read at each turn). */
  pids: () => readonly number[];
}

/** The CPU time one process (or server) spent per request answered over a contender's slices. */
export interface CpuRow {
  name: string;
  /** µs per request answered; undefined where /proc cannot say. */
  usPerRequest: number | undefined;
}

/** A contender's slices, summed. */
export interface Measured {
  /** Requests answered over all its slices / their seconds. */
  rps: number;
  /** Requests answered. */
  total: number;
  /**
   * Requests counted over every run, settling included, less the bad answers, and how many runs: a
   * request still in flight when a run ends is served but not counted (at most one per connection and run).
   */
  served: number;
  runs: number;
  /** Requests/s of each measured turn, in order. */
  turnRps: number[];
  /** The median (nearest rank) of its slices' p50 and p99 latencies, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Answers that were not the expected body, errors, timeouts and non-2xx statuses. */
  bad: number;
  cpu: CpuRow[];
}

export interface SideBySideOptions {
  /** Measured seconds per contender, cut into `slices` turns. */
  durationS: number;
  slices: number;
  connections: number;
  /** requests/s over all connections instead of as many as they can (BENCH_HTTP_RATE). */
  overallRate?: number;
}

/** One autocannon run of `seconds`, every answer compared with `expectBody`. */
async function load(c: Contender, seconds: number, opts: SideBySideOptions): Promise<autocannon.Result> {
  const common = {
    url: c.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: opts.connections,
    duration: seconds,
    ...(opts.overallRate !== undefined && opts.overallRate > 0 ? { overallRate: opts.overallRate } : {}),
  };
  const { bodies } = c;
  if (typeof bodies === 'string') return autocannon({ ...common, body: bodies, expectBody: c.expectBody });
  // autocannon refuses expectBody beside requests: each answer is compared here instead.
  let next = 0;
  let mismatches = 0;
  const result = await autocannon({
    ...common,
    requests: [
      {
        setupRequest: (req: object) => ({ ...req, body: bodies[next++ % bodies.length] }),
        onResponse: (_status: number, body: string) => {
          if (body !== c.expectBody) mismatches++;
        },
      },
    ],
  });
  return { ...result, mismatches: result.mismatches + mismatches };
}

/** Send `signal` to each process; one that has gone is skipped. */
function signal(pids: readonly number[], sig: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone: nothing to stop or resume.
    }
  }
}

/** Answers that were not the expected body, errors and timeouts. */
export function badOf(r: autocannon.Result): number {
  return r.mismatches + r.errors + r.timeouts + r.non2xx;
}

/** How long the one request `answeringNothing` sends may take. */
const ASK_MS = 5000;

/**
 * Why a contender that gave no expected answer in its warm-up is not measured (its figures would be those of
 * its failures), with what one of its requests gets now: a process of it gone, a store failing, a session
 * refused.
 */
async function answeringNothing(c: Contender, r: autocannon.Result): Promise<string> {
  const body = typeof c.bodies === 'string' ? c.bodies : c.bodies[0];
  let answer: string;
  try {
    const res = await fetch(c.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(ASK_MS),
    });
    answer = `${res.status} ${(await res.text()).slice(0, 300)}`;
  } catch (err) {
    answer = err instanceof Error ? err.message : String(err);
  }
  return (
    `${c.url} gave no expected answer in ${WARMUP_S} s of warm-up (${r.requests.total} answers, ${r.errors} ` +
    `errors, ${r.timeouts} timeouts), so it is not measured; one request now gets: ${answer}`
  );
}

/**
 * Load every contender in turn, after WARMUP_S each, `opts.slices` rounds of `durationS / slices` measured
 * seconds each (after SETTLE_S unmeasured); `progress` hears each round's requests/s. The processes of
 * `bystanders` (started, but not part of this comparison) stay stopped throughout.
 */
export async function sideBySide(
  contenders: readonly Contender[],
  opts: SideBySideOptions,
  progress: (line: string) => void = () => undefined,
  bystanders: ReadonlyArray<() => readonly number[]> = [],
): Promise<Measured[]> {
  const slices = Math.max(1, Math.round(opts.slices));
  const sliceS = Math.max(1, opts.durationS / slices);
  const sums = contenders.map((c) => ({
    total: 0, // answered in the measured turns
    served: 0, // answered well in every run, warm-up and settling included
    bad: 0,
    p50: [] as number[],
    p99: [] as number[],
    rates: [] as number[],
    cpu: c.meters.map((): number | undefined => 0),
  }));
  // Only the contender whose turn it is runs; every process is running again when this returns.
  const turn = (i: number): void => {
    contenders.forEach((c, j) => j !== i && signal(c.pids(), 'SIGSTOP'));
    signal(contenders[i].pids(), 'SIGCONT');
  };
  const run = async (i: number, seconds: number): Promise<autocannon.Result> => {
    const r = await load(contenders[i], seconds, opts);
    sums[i].served += r.requests.total - badOf(r);
    return r;
  };
  try {
    for (const pids of bystanders) signal(pids(), 'SIGSTOP');
    for (const i of contenders.keys()) {
      turn(i);
      const r = await run(i, WARMUP_S);
      if (r.requests.total - badOf(r) <= 0) throw new Error(await answeringNothing(contenders[i], r));
    }
    for (let round = 1; round <= slices; round++) {
      for (const [i, c] of contenders.entries()) {
        turn(i);
        await run(i, SETTLE_S);
        const before = c.meters.map((m) => m.read());
        const r = await run(i, sliceS);
        const after = c.meters.map((m) => m.read());
        const sum = sums[i];
        sum.total += r.requests.total;
        sum.bad += badOf(r);
        sum.p50.push(r.latency.p50);
        sum.p99.push(r.latency.p99);
        sum.rates.push(Math.round(r.requests.total / sliceS));
        sum.cpu = sum.cpu.map((used, m) => {
          const then = before[m];
          const now = after[m];
          return used === undefined || then === undefined || now === undefined ? undefined : used + now - then;
        });
      }
      const rates = sums.map((sum) => sum.rates[round - 1]).join(' | ');
      progress(`  round ${round}/${slices} (${SETTLE_S} s settling + ${sliceS} s each), requests/s: ${rates}`);
    }
  } finally {
    for (const pids of [...contenders.map((c) => c.pids), ...bystanders]) signal(pids(), 'SIGCONT');
  }
  return contenders.map((c, i) => {
    const sum = sums[i];
    const answered = Math.max(1, sum.total);
    return {
      rps: sum.total / (slices * sliceS),
      total: sum.total,
      served: sum.served,
      turnRps: sum.rates,
      runs: 2 * slices + 1,
      p50Ms: median(sum.p50),
      p99Ms: median(sum.p99),
      bad: sum.bad,
      cpu: c.meters.map((m, j) => {
        const used = sum.cpu[j];
        return { name: m.name, usPerRequest: used === undefined ? undefined : used / answered };
      }),
    };
  });
}
