/**
 * `npm run faults`: every scenario of bench/fault-scenarios.ts, one after the other on one mesh
 * (bench/fault-mesh.ts), each under the steady mixed load of bench/fault-load.ts at its full size,
 * and the figures written to docs/RELIABILITY.md (its "faults" section). Prints the table too.
 *
 * Knobs: FAULTS_ONLY ("worker-of-two,broker-of-two": those scenarios only; the doc is then not
 * written). Exits 1 when a scenario misses the bar (an acknowledged post lost, a request hung).
 */
import os from 'node:os';
import { AT_DEADLINE_MS, type Figures } from './fault-load';
import { meshProblem, startFaultMesh } from './fault-mesh';
import { FULL, runScenario, SCENARIOS, type ScenarioResult, type Sizes } from './fault-scenarios';
import { runHeader, writeSection } from './reliability-doc';

function codes(f: Figures): string {
  const entries = Object.entries(f.codes).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '–' : entries.map(([code, n]) => `${n} × ${code.replace(/\|/g, '\\|')}`).join('; ');
}

export function faultsTable(results: readonly ScenarioResult[]): string {
  return [
    '| # | scenario | requests | failed | of which at the deadline | hung | duplicated | posts acknowledged | ' +
      'acknowledged, then lost | failed, yet written | back to no failures after |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r, i) => {
      const f = r.figures;
      return (
        `| ${i + 1} | ${r.title} | ${f.sent} | ${f.failed} | ${f.atDeadline} | ${f.hung} | ${f.duplicated} | ${f.acknowledgedPosts} | ` +
        `${f.lost} | ${f.writtenAfterFailure} | ${f.failed + f.hung === 0 ? '–' : `${f.recoveryS.toFixed(1)} s`} |`
      );
    }),
  ].join('\n');
}

function details(results: readonly ScenarioResult[]): string {
  return results
    .map((r, i) => {
      const lost = r.lostExamples.length === 0 ? '' : ` Lost, for example: ${r.lostExamples.join(', ')}.`;
      const rerouted = r.figures.rerouted === 0 ? '' : ` ${r.figures.rerouted} requests went to the other gateway.`;
      return `${i + 1}. ${r.note}. Failures: ${codes(r.figures)}.${rerouted}${lost}`;
    })
    .join('\n');
}

export function faultsSection(results: readonly ScenarioResult[], sizes: Sizes, header: string): string {
  return `## Faults under load

${header}

The load: ${sizes.lanes} loops, each making its next request ${sizes.paceMs} ms after its last one
answered, over ${sizes.channels} channels; a request is hung when it has no answer after ${sizes.hangMs / 1000} s.
Each scenario has ${sizes.warmupMs / 1000} s of load before its fault, and the load goes on until no request has failed for
${sizes.settleMs / 1000} s after the restart. "at the deadline": failures answered ${AT_DEADLINE_MS / 1000} s or more after
the request began, at about the bus deadline (5 s by default) rather than at once. "back to no failures after" runs from
the fault to the end of the last failed request.

${faultsTable(results)}

What each scenario did, and its failures by code (the legacy reason, the \`/v1\` status and errno, the bus
error's code, or the socket error's):

${details(results)}
`;
}

async function main(): Promise<void> {
  const problem = meshProblem();
  if (problem !== undefined) throw new Error(`the fault suite needs PostgreSQL and Redis: ${problem}`);
  const only = process.env.FAULTS_ONLY?.split(',').filter((k) => k !== '');
  const scenarios = SCENARIOS.filter((s) => only === undefined || only.includes(s.key));
  const header = runHeader(os.loadavg()[0]);
  const mesh = await startFaultMesh();
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      process.stderr.write(`faults: ${scenario.title}\n`);
      const result = await runScenario(mesh, scenario, FULL);
      process.stderr.write(`faults: ${JSON.stringify(result.figures)}\n`);
      results.push(result);
    }
  } finally {
    await mesh.stop();
  }
  process.stdout.write(`\n${faultsTable(results)}\n\n${details(results)}\n`);
  if (only === undefined) {
    writeSection('faults', faultsSection(results, FULL, header));
    process.stderr.write('faults: wrote docs/RELIABILITY.md\n');
  }
  const missed = results.filter((r) => r.figures.lost > 0 || r.figures.hung > 0 || !r.settled);
  if (missed.length > 0) {
    process.stderr.write(`faults: the bar is missed by ${missed.map((r) => r.key).join(', ')}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`faults: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
