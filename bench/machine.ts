/**
 * The machine a bench ran on, as its documents name it: its CPU, system and Node, and how fast one of its
 * cores was while the run went on. On a shared VM the host can slow every core without any load showing
 * inside the machine (the load average stays low, `/proc/stat` shows no steal), and every throughput with
 * it, the mesh's five processes more than one plain process: the speed probe, a fixed loop timed when a run
 * begins and when it ends, lets two runs' figures be weighed against each other.
 */
import os from 'node:os';

/** The machine, as docs/PERFORMANCE.md and docs/RELIABILITY.md name it. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The speed probe's loop: this many steps of an addition and a remainder. */
export const PROBE_STEPS = 3e8;

/** How long one core takes over the speed probe's loop, ms (longer: a slower or busier host). */
export function speedProbeMs(): number {
  const start = process.hrtime.bigint();
  let x = 0;
  for (let i = 0; i < PROBE_STEPS; i++) x += i % 7;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // The sum is used, so that the loop cannot be left out.
  return x < 0 ? NaN : ms;
}

/** The speed probe's two timings as a run's header gives them. */
export function speedNote(startMs: number, endMs: number): string {
  return (
    `one core ran a fixed loop (${PROBE_STEPS / 1e8}·10⁸ steps) in ` +
    `${Math.round(startMs)} ms when the run began and ${Math.round(endMs)} ms when it ended (the longer, the slower or busier the host)`
  );
}
