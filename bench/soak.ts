/**
 * `npm run soak -- --minutes N` (default 10): the mesh of bench/fault-mesh.ts under the mixed load of
 * bench/fault-load.ts for N minutes, no fault, every process sampled each 10 s: resident memory and
 * open file descriptors from /proc (every process), and from each Agora process's own `process figures`
 * line (lib/process-figures.ts, every 5 s) its heap in use and reserved, its external (Buffer) memory,
 * what its resident memory holds outside both, its garbage collections, active handles and event-loop
 * delay. Writes the "soak" section of docs/RELIABILITY.md when N is at least 10, and exits 1 when a
 * process's resident memory grew by more than 10 % from minute 2 to the end by its peaks (the highest
 * sample of every 2 minutes), or an acknowledged post was lost, or a request hung.
 *
 * `--snapshots broker.1,messages.1` also starts every Agora process with `--heapsnapshot-signal=SIGUSR2`
 * and has the named ones write a heap snapshot at minute 2 and just before the end, into a new
 * folder it names (compare them with bench/soak-snapshots.ts). `--series FILE` writes every sample, by
 * process and measure, to FILE as JSON.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MixedLoad, type Figures } from './fault-load';
import { meshProblem, startFaultMesh, type FaultMesh } from './fault-mesh';
import { healthy, openFds, rssOf } from './fault-scenarios';
import { runHeader, writeSection } from './reliability-doc';
import { growth, PEAK_WINDOW_MS, peakGrowth, slopePerMinute, trendGrowth, type Sample } from './soak-stats';

const EVERY_MS = 10_000;
/** AGORA_PROCESS_FIGURES_MS of the mesh's processes: twice per sample, so each sample reads a fresh line. */
const FIGURES_MS = 5_000;
const n = (x: number): string => x.toLocaleString('en-US');
/** The bar: growth of resident memory from minute 2 to the end, of every Agora process, by its peaks. */
const MAX_GROWTH = 0.1;
/**
 * Messages kept per channel: AGORA_MESSAGES_RETAINED's default, so that after the first seconds a read
 * of a channel costs the same all along (a /v1 list asks Messages for every message retained).
 */
const RETAINED = 100;
/** The processes that are not Agora's: reported, not held to the bar. */
const NOT_AGORA = /^(redis|postgresql)/;
const MB = 2 ** 20;

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

/** Every series of one sample round, keyed `process · measure`. */
function sampleRound(mesh: FaultMesh, t: number, series: Map<string, Sample[]>): void {
  const add = (key: string, value: number | undefined): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push({ t, value });
  };
  for (const [name, pid] of mesh.pids()) {
    const pids = name.startsWith('postgresql') ? tree(pid) : [pid];
    const rss = pids.map((p) => rssOf(p) ?? 0).reduce((a, b) => a + b, 0);
    add(`${name} · rss`, rss / MB);
    add(
      `${name} · fds`,
      pids.map((p) => openFds(p) ?? 0).reduce((a, b) => a + b, 0),
    );
    const f = mesh.procs.get(name)?.figures;
    if (f === undefined) continue;
    add(`${name} · heap`, f.heapUsed / MB);
    add(`${name} · heap total`, f.heapTotal / MB);
    add(`${name} · external`, f.external / MB);
    // What V8's heap and the Buffers leave of the resident memory: code, stacks, malloc's arenas.
    add(`${name} · outside`, (f.rss - f.heapTotal - f.external) / MB);
    add(`${name} · gc`, f.gcPauseMs);
    add(`${name} · gc major`, f.gcMajor);
    add(`${name} · handles`, f.handles);
    add(`${name} · loop p99`, f.loopP99Ms);
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
  ['rss', 'Resident memory, MB (/proc)', 1],
  ['heap', 'Heap in use, MB', 1],
  ['heap total', 'Heap reserved by V8, MB', 1],
  ['external', 'External memory (Buffers), MB', 1],
  ['outside', 'Resident outside heap and Buffers, MB', 1],
  ['gc', 'Garbage-collection pauses since start, ms', 0],
  ['gc major', 'Full (mark-compact) collections since start', 0],
  ['fds', 'Open file descriptors (/proc/<pid>/fd)', 0],
  ['handles', 'Active handles', 0],
  ['loop p99', 'Event-loop delay p99 over 5 s, ms', 1],
];

/** Measures counted since the process began. */
const CUMULATIVE = new Set(['gc', 'gc major']);

/** One table per measure: a row per process, its value at each whole minute, slope and growth. */
export function soakTables(series: Map<string, Sample[]>, minutes: number, from: number): string {
  const marks = Array.from({ length: Math.floor(minutes) + 1 }, (_, m) => m);
  return MEASURES.map(([measure, title, digits]) => {
    const rows = [...series].filter(([key]) => key.endsWith(` · ${measure}`));
    if (rows.length === 0) return '';
    const head =
      `| ${title} | ${marks.map((m) => `${m} min`).join(' | ')} | slope /min | growth from min ${from}, ends | ` +
      `growth from min ${from}, trend | growth from min ${from}, peaks |`;
    const rule = `|---|${marks.map(() => '---:').join('|')}|---:|---:|---:|---:|`;
    const lines = rows.map(([key, samples]) => {
      const at = marks.map((m) => {
        const s = samples.find((x) => x.t >= m * 60_000 - EVERY_MS / 2);
        return s === undefined ? '–' : s.value.toFixed(digits);
      });
      // A count since the start has no growth to speak of: its slope is its rate.
      const g = CUMULATIVE.has(measure) ? undefined : growth(samples, from * 60_000);
      const trend = CUMULATIVE.has(measure) ? undefined : trendGrowth(samples, from * 60_000);
      const peaks = CUMULATIVE.has(measure) ? undefined : peakGrowth(samples, from * 60_000);
      const slope = slopePerMinute(samples, from * 60_000);
      const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
      const name = key.split(' · ')[0];
      const growths = `${pct(g)} | ${pct(trend)} | ${pct(peaks)}`;
      return `| ${name} | ${at.join(' | ')} | ${slope?.toFixed(digits + 1) ?? '–'} | ${growths} |`;
    });
    return [head, rule, ...lines].join('\n');
  })
    .filter((t) => t !== '')
    .join('\n\n');
}

interface Run {
  header: string;
  /** Each kind of Agora process the mesh ran, with the node flags it ran with (flagsByKind). */
  kinds: Array<[kind: string, args: string[]]>;
  minutes: number;
  from: number;
  series: Map<string, Sample[]>;
  figures: Figures;
  over: string[];
}

/** Each kind of Agora process the mesh ran (`broker` for broker.1 and broker.2), with the node flags it ran with. */
function flagsByKind(mesh: FaultMesh): Array<[kind: string, args: string[]]> {
  const kinds = new Map<string, string[]>();
  // spawnargs: node, its flags, the entry point.
  for (const [name, p] of mesh.procs) kinds.set(name.split('.')[0], p.child.spawnargs.slice(1, -1));
  return [...kinds];
}

/** How the Agora processes were run: the flags most kinds ran with, and the kinds that ran with others. */
export function flagsSentence(kinds: ReadonlyArray<[kind: string, args: readonly string[]]>): string {
  const as = (args: readonly string[]): string => (args.length === 0 ? '`node …`' : `\`node ${args.join(' ')} …\``);
  // The kinds by their flags, the flags most kinds ran with first.
  const groups = new Map<string, { args: readonly string[]; kinds: string[] }>();
  for (const [kind, args] of kinds) {
    const group = groups.get(args.join(' ')) ?? { args, kinds: [] };
    group.kinds.push(kind);
    groups.set(args.join(' '), group);
  }
  const [common, ...others] = [...groups.values()].sort((a, b) => b.kinds.length - a.kinds.length);
  if (common === undefined) return '';
  const where = ' (the Procfile\'s flags, README.md "The parts").';
  if (others.length === 0)
    return common.args.length === 0 ? '' : ` Every Agora process ran as ${as(common.args)}${where}`;
  const differ = others.flatMap((g) => g.kinds.map((kind) => ({ kind, args: g.args })));
  const but = differ.map(({ kind }) => `the ${kind}s`).join(' and ');
  const theirs = differ.map(({ kind, args }) => `the ${kind}s as ${as(args)}`).join(', ');
  return ` Every Agora process but ${but} ran as ${as(common.args)}, ${theirs}${where}`;
}

function section({ header, kinds, minutes, from, series, figures: f, over }: Run): string {
  const tables = soakTables(series, minutes, from);
  const failures = Object.entries(f.codes)
    .map(([code, n]) => `${n} × ${code}`)
    .join('; ');
  const pg = peakGrowth(series.get('postgresql (all its processes) · rss') ?? [], from * 60_000);
  return `## Soak

${header}

The mixed load of the fault suite, with no fault, for ${minutes} minutes; every process sampled each
${EVERY_MS / 1000} s.${flagsSentence(kinds)} Each channel keeps its newest ${RETAINED} messages (\`AGORA_MESSAGES_RETAINED\`'s default), so
after the first seconds every read costs the same: the load is steady from the start, and minute ${from} is past its
warm-up. The read-back at the end looks for every acknowledged post a channel still keeps. Resident memory and open
file descriptors come from /proc for every process (PostgreSQL: the sum over its processes, where its shared buffers
count in each process that has touched them). The other figures are each Agora process's own
(\`AGORA_PROCESS_FIGURES_MS\`, lib/process-figures.ts): heap in use (live objects and garbage not yet collected), the
heap V8 has reserved, external memory (Buffers and other memory outside the heap that V8 is told of), what resident
memory holds beside those two (code, stacks, the allocator's arenas), garbage-collection pauses and full collections
since the start, active handles and event-loop delay. A JavaScript leak shows as heap in use climbing; memory V8 or
the allocator keep as "reserved" or "outside" climbing with heap in use flat. "slope" is the least-squares slope
from minute ${from} to the end; "growth, trend" is that line's rise from minute ${from} to the end over its value at
minute ${from}; "growth, ends" compares the mean of the last three samples with the mean of the three from minute
${from} on, and so moves with the phase a sawtooth (a young generation filled, then emptied by a collection every
minute or two) ends in; the trend moves with it too, by some per cent either way over a few periods. "growth,
peaks" is the rise of the line through the highest sample of each ${PEAK_WINDOW_MS / 60_000} minutes from minute ${from}: a sawtooth
shorter than that peaks as high in every window, whatever its phase, and memory that leaks lifts every peak.
Bar: no Agora process's resident memory grows by more than ${MAX_GROWTH * 100} % by its peaks. PostgreSQL and
Redis are measured and shown but not held to it: PostgreSQL's resident memory grows as its backends touch more of its
shared buffers, which it keeps by design (here ${pg === undefined ? '–' : `${(pg * 100).toFixed(1)} %`} from minute ${from}).

The load: ${n(f.sent)} requests, ${n(f.failed)} failed${failures === '' ? '' : ` (${failures})`}, ${n(f.hung)} hung,
${n(f.acknowledgedPosts)} posts acknowledged, ${n(f.lost)} of those kept lost, ${n(f.duplicated)} duplicated.
${over.length === 0 ? 'Every Agora process stayed within the bar.' : `Over the bar: ${over.join(', ')}.`}

${tables}
`;
}

/** `--snapshots a,b`: the processes to snapshot, and the folder the snapshots go to; undefined without. */
function snapshotsArg(argv: string[]): { names: string[]; dir: string } | undefined {
  const i = argv.indexOf('--snapshots');
  if (i < 0) return undefined;
  const names = (argv[i + 1] ?? '').split(',').filter((x) => x !== '');
  if (names.length === 0) throw new Error('--snapshots takes process names, such as broker.1,messages.1');
  return { names, dir: mkdtempSync(path.join(os.tmpdir(), 'agora-soak-snapshots-')) };
}

/** Have each of `names` write a heap snapshot (SIGUSR2, with --heapsnapshot-signal). */
function snapshot(mesh: FaultMesh, names: readonly string[], at: string): void {
  for (const name of names) {
    const child = mesh.procs.get(name)?.child;
    if (child === undefined) throw new Error(`--snapshots: no process named ${name}`);
    child.kill('SIGUSR2');
    process.stderr.write(`soak: ${name} (pid ${child.pid}) writes a heap snapshot at ${at}\n`);
  }
}

/** The load runs `minutes`; a sample each EVERY_MS; snapshots asked at minute `from` and 20 s before the end. */
async function run(mesh: FaultMesh, minutes: number, from: number, snaps: string[]): Promise<RunResult> {
  const series = new Map<string, Sample[]>();
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
  const marks = [from * 60_000, minutes * 60_000 - 20_000];
  for (let round = 0; round * EVERY_MS <= minutes * 60_000; round++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + round * EVERY_MS - Date.now())));
    const t = Date.now() - t0;
    sampleRound(mesh, t, series);
    while (snaps.length > 0 && marks.length > 0 && t >= marks[0]) {
      marks.shift();
      snapshot(mesh, snaps, `${(t / 60_000).toFixed(1)} min`);
    }
    process.stderr.write(`soak: ${(t / 60_000).toFixed(1)} min, ${load.outcomes.length} requests\n`);
  }
  await load.stop();
  const figures = load.figures(t0, await load.readBack(RETAINED));
  load.close();
  return { series, figures };
}

interface RunResult {
  series: Map<string, Sample[]>;
  figures: Figures;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const minutes = minutesArg(argv);
  const snaps = snapshotsArg(argv);
  const problem = meshProblem();
  if (problem !== undefined) throw new Error(`the soak needs PostgreSQL and Redis: ${problem}`);
  const header = runHeader(os.loadavg()[0]);
  const env: Record<string, string> = {
    AGORA_PROCESS_FIGURES_MS: String(FIGURES_MS),
    AGORA_MESSAGES_RETAINED: String(RETAINED),
  };
  if (snaps !== undefined) {
    const options = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snaps.dir}`;
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${options}`.trim();
    process.stderr.write(`soak: heap snapshots of ${snaps.names.join(', ')} go to ${snaps.dir}\n`);
  }
  const nodeArgs = argv.indexOf('--node-args') < 0 ? [] : argv[argv.indexOf('--node-args') + 1].split(/\s+/);
  if (nodeArgs.length > 0) process.stderr.write(`soak: every Agora process runs node ${nodeArgs.join(' ')}\n`);
  const mesh = await startFaultMesh(env, nodeArgs);
  const from = Math.min(2, minutes / 3);
  let result: RunResult;
  try {
    result = await run(mesh, minutes, from, snaps?.names ?? []);
  } finally {
    await mesh.stop();
  }
  const { series, figures } = result;
  const over = [...series]
    .filter(([key]) => key.endsWith(' · rss') && !NOT_AGORA.test(key))
    .filter(([, samples]) => (peakGrowth(samples, from * 60_000) ?? 0) > MAX_GROWTH)
    .map(([key]) => key.split(' · ')[0]);
  const tables = soakTables(series, minutes, from);
  const seriesFile = argv.indexOf('--series') < 0 ? undefined : argv[argv.indexOf('--series') + 1];
  if (seriesFile !== undefined) writeFileSync(seriesFile, JSON.stringify(Object.fromEntries(series)));
  process.stdout.write(`\n${tables}\n\n${JSON.stringify(figures)}\n`);
  if (minutes >= 10) {
    writeSection('soak', section({ header, kinds: flagsByKind(mesh), minutes, from, series, figures, over }));
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
