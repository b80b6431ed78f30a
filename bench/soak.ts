/**
 * `npm run soak -- --minutes N` (default 10): the mesh of bench/fault-mesh.ts under the mixed load of
 * bench/fault-load.ts for N minutes, no fault, every process sampled each 10 s: resident memory and
 * open file descriptors from /proc (every process), and from the gateways' `/metrics` (prom-client's
 * process metrics) the heap in use, the active handles and the event-loop delay. The services
 * export no metrics: of them only /proc's figures are known. Writes the "soak" section of
 * docs/RELIABILITY.md when N is at least 10, and exits 1 when a process's resident memory grew by
 * more than 10 % from minute 2 to the end, or an acknowledged post was lost, or a request hung.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { MixedLoad, type Figures } from './fault-load';
import { meshProblem, startFaultMesh, type FaultMesh } from './fault-mesh';
import { healthy, openFds, rssOf } from './fault-scenarios';
import { runHeader, writeSection } from './reliability-doc';
import { growth, slopePerMinute, type Sample } from './soak-stats';

const EVERY_MS = 10_000;
const n = (x: number): string => x.toLocaleString('en-US');
/** The bar: growth of resident memory from minute 2 to the end. */
const MAX_GROWTH = 0.1;

/** The gateway metrics read, by prom-client's name (after the `agora_gateway_` prefix). */
const GATEWAY_METRICS = {
  heapMb: 'nodejs_heap_size_used_bytes',
  handles: 'nodejs_active_handles_total',
  loopP99Ms: 'nodejs_eventloop_lag_p99_seconds',
} as const;

/** `pid` and its descendants (from /proc/<pid>/task/<tid>/children). */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children !== '') out.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** One value of a Prometheus text exposition (unlabelled). */
function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^agora_gateway_${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** Every series of one sample round, keyed `process · measure`. */
async function sampleRound(mesh: FaultMesh, t: number, series: Map<string, Sample[]>): Promise<void> {
  const add = (key: string, value: number | undefined): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push({ t, value });
  };
  for (const [name, pid] of mesh.pids()) {
    const pids = name.startsWith('postgresql') ? tree(pid) : [pid];
    add(`${name} · rss`, pids.map((p) => rssOf(p) ?? 0).reduce((a, b) => a + b, 0) / 2 ** 20);
    add(
      `${name} · fds`,
      pids.map((p) => openFds(p) ?? 0).reduce((a, b) => a + b, 0),
    );
  }
  for (const [i, base] of mesh.gateways.entries()) {
    const text = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.text())
      .catch(() => '');
    add(`gateway.${i + 1} · heap`, (metric(text, GATEWAY_METRICS.heapMb) ?? NaN) / 2 ** 20);
    add(`gateway.${i + 1} · handles`, metric(text, GATEWAY_METRICS.handles));
    add(`gateway.${i + 1} · loop p99`, (metric(text, GATEWAY_METRICS.loopP99Ms) ?? NaN) * 1000);
  }
}

function minutesArg(argv: string[]): number {
  const i = argv.indexOf('--minutes');
  const value = i < 0 ? 10 : Number(argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0 || value > 24 * 60)
    throw new Error(`--minutes takes a number of minutes above 0, got ${String(argv[i + 1])}`);
  return value;
}

const MEASURES: ReadonlyArray<[string, string, number]> = [
  ['rss', 'Resident memory, MB', 1],
  ['fds', 'Open file descriptors (/proc/<pid>/fd)', 0],
  ['heap', 'Gateway heap in use, MB (/metrics)', 1],
  ['handles', 'Gateway active handles (/metrics)', 0],
  ['loop p99', 'Gateway event-loop delay p99, ms (/metrics)', 1],
];

/** One table per measure: a row per process, its value at each whole minute, slope and growth. */
export function soakTables(series: Map<string, Sample[]>, minutes: number, from: number): string {
  const marks = Array.from({ length: Math.floor(minutes) + 1 }, (_, m) => m);
  return MEASURES.map(([measure, title, digits]) => {
    const rows = [...series].filter(([key]) => key.endsWith(` · ${measure}`));
    if (rows.length === 0) return '';
    const head = `| ${title} | ${marks.map((m) => `${m} min`).join(' | ')} | slope /min | growth from min ${from} |`;
    const rule = `|---|${marks.map(() => '---:').join('|')}|---:|---:|`;
    const lines = rows.map(([key, samples]) => {
      const at = marks.map((m) => {
        const s = samples.find((x) => x.t >= m * 60_000 - EVERY_MS / 2);
        return s === undefined ? '–' : s.value.toFixed(digits);
      });
      const g = growth(samples, from * 60_000);
      const slope = slopePerMinute(samples, from * 60_000);
      const pct = g === undefined ? '–' : `${(g * 100).toFixed(1)} %`;
      return `| ${key.split(' · ')[0]} | ${at.join(' | ')} | ${slope?.toFixed(digits + 1) ?? '–'} | ${pct} |`;
    });
    return [head, rule, ...lines].join('\n');
  })
    .filter((t) => t !== '')
    .join('\n\n');
}

function section(header: string, minutes: number, from: number, tables: string, f: Figures, over: string[]): string {
  const failures = Object.entries(f.codes)
    .map(([code, n]) => `${n} × ${code}`)
    .join('; ');
  return `## Soak

${header}

The mixed load of the fault suite, with no fault, for ${minutes} minutes; every process sampled each
${EVERY_MS / 1000} s. Resident memory and open file descriptors come from /proc for every process
(PostgreSQL: the sum over its processes, where its shared buffers count in each process that has touched them).
Heap in use, active handles and event-loop delay come from the gateways' \`/metrics\`; the services, the
brokers and echo export no metrics, so of them only /proc's figures are known. "growth" compares the mean of
the last three samples with the mean of the three from minute ${from} on; "slope" is the least-squares slope
from minute ${from} to the end. Bar: no process's resident memory grows by more than ${MAX_GROWTH * 100} %.

The load: ${n(f.sent)} requests, ${n(f.failed)} failed${failures === '' ? '' : ` (${failures})`}, ${n(f.hung)} hung,
${n(f.acknowledgedPosts)} posts acknowledged, ${n(f.lost)} of them lost, ${n(f.duplicated)} duplicated.
${over.length === 0 ? 'Every process stayed within the bar.' : `Over the bar: ${over.join(', ')}.`}

${tables}
`;
}

async function main(): Promise<void> {
  const minutes = minutesArg(process.argv.slice(2));
  const problem = meshProblem();
  if (problem !== undefined) throw new Error(`the soak needs PostgreSQL and Redis: ${problem}`);
  const header = runHeader(os.loadavg()[0]);
  const mesh = await startFaultMesh();
  const series = new Map<string, Sample[]>();
  let figures: Figures;
  try {
    await healthy(mesh);
    const load = await MixedLoad.open({
      gateways: mesh.gateways,
      busUrl: mesh.busUrl,
      prefix: `soak-${Date.now().toString(36)}`,
      lanes: 8,
      channels: 8,
      paceMs: 20,
      hangMs: 15_000,
    });
    load.start();
    const t0 = Date.now();
    for (let round = 0; round * EVERY_MS <= minutes * 60_000; round++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + round * EVERY_MS - Date.now())));
      await sampleRound(mesh, Date.now() - t0, series);
      process.stderr.write(`soak: ${((Date.now() - t0) / 60_000).toFixed(1)} min, ${load.outcomes.length} requests\n`);
    }
    await load.stop();
    figures = load.figures(t0, await load.readBack());
    load.close();
  } finally {
    await mesh.stop();
  }
  const from = Math.min(2, minutes / 3);
  const over = [...series]
    .filter(([key]) => key.endsWith(' · rss'))
    .filter(([, samples]) => (growth(samples, from * 60_000) ?? 0) > MAX_GROWTH)
    .map(([key]) => key.split(' · ')[0]);
  const tables = soakTables(series, minutes, from);
  process.stdout.write(`\n${tables}\n\n${JSON.stringify(figures)}\n`);
  if (minutes >= 10) {
    writeSection('soak', section(header, minutes, from, tables, figures, over));
    process.stderr.write('soak: wrote docs/RELIABILITY.md\n');
  }
  if (over.length > 0 || figures.lost > 0 || figures.hung > 0) {
    process.stderr.write(`soak: over the bar: ${over.join(', ')}; lost ${figures.lost}, hung ${figures.hung}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
