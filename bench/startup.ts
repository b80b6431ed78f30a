/**
 * What the bench reads of processes (docs/ARCHITECTURE.md "Tests and measurement"): CPU time from
 * /proc/<pid>/stat, resident memory from /proc/<pid>/status, and how long `npm start` takes on a built
 * tree (`node dist/bin/agora.js start`, the Procfile, one of each entry, on free loopback ports) until
 * every process has printed its ready line, with each process's RSS once all are ready, split by
 * /proc/<pid>/smaps_rollup into the process's own memory and what it shares with the others.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../test/helpers/proc';
import { ROOT } from './procs';

let ticksPerSecond: number | undefined;

/** CPU time (user + system) a process has used so far, in µs; undefined where /proc cannot say. */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) in parentheses: state is the first.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return (ticks * 1e6) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MB; undefined where /proc cannot say. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** A process's resident memory in MB, by /proc/<pid>/smaps_rollup. */
export interface ResidentParts {
  /** Its own pages (V8's heap, Buffers, the allocator's arenas, stacks): `Anonymous`. */
  anonMb: number;
  /** Pages mapped from files (node's binary, shared libraries), the same pages in every process. */
  fileMb: number;
  /** Proportional set size: each shared page divided among the processes that map it. */
  pssMb: number;
}

/** What smaps_rollup says of a process; undefined where /proc cannot say. */
export function residentParts(pid: number | undefined): ResidentParts | undefined {
  if (pid === undefined) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
    const [rss, anon, pss] = [kb('Rss'), kb('Anonymous'), kb('Pss')];
    if (![rss, anon, pss].every(Number.isFinite)) return undefined;
    return { anonMb: anon / 1024, fileMb: (rss - anon) / 1024, pssMb: pss / 1024 };
  } catch {
    return undefined;
  }
}

export interface Startup {
  /** From spawning the launcher until the last process's ready line. */
  readyMs: number;
  /** The machine's load average (1 minute) when the launcher was spawned, and its cores. */
  load: { average: number; cores: number };
  /** Each process's RSS once every process is ready, by launcher label, with its parts. */
  rss: Array<{ label: string; mb: number | undefined; parts?: ResidentParts }>;
}

const LABELS = procfileLabels();

function procfileLabels(): string[] {
  const text = readFileSync(path.join(ROOT, 'Procfile'), 'utf8');
  return text
    .split('\n')
    .map((line) => /^([A-Za-z0-9_-]+):/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => `${name}.1`);
}

/** `agora start` with the repository's Procfile until every process is ready; then SIGTERM. */
export async function measureStartup(settleMs = 1000): Promise<Startup> {
  const env: Record<string, string> = { AGORA_BUS_URL: `tcp://127.0.0.1:${await freePort()}`, AGORA_HTTP_PORT: '0' };
  for (const name of ['AUTH', 'CHANNELS', 'MESSAGES', 'DRIVER', 'COMPUTE', 'ROUTES']) {
    env[`AGORA_${name}_GRPC_URL`] = `127.0.0.1:${await freePort()}`;
  }
  const load = { average: os.loadavg()[0], cores: os.cpus().length };
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bin', 'agora.js'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pids = new Map<string, number>();
  const waiting = new Set(LABELS);
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 30 s: ${[...waiting].join(', ')}`)), 30_000);
      child.once('exit', (code) => reject(new Error(`the launcher exited (${code}) before the mesh was ready`)));
      createInterface({ input: child.stdout }).on('line', (text) => {
        const m = /^(\S+)\s*\| (\{.*\})$/.exec(text);
        if (m === null) return;
        const line = JSON.parse(m[2]) as { pid?: number; ready?: boolean };
        if (typeof line.pid === 'number') pids.set(m[1], line.pid);
        if (line.ready !== true || !waiting.delete(m[1]) || waiting.size > 0) return;
        clearTimeout(timer);
        resolve(performance.now() - started);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, settleMs)); // at rest: what starting allocated settles
    const rss = LABELS.map((label) => ({
      label,
      mb: rssMb(pids.get(label)),
      parts: residentParts(pids.get(label)),
    }));
    return { readyMs, load, rss };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

/** The startup section of docs/PERFORMANCE.md. */
export function formatStartup(s: Startup): string {
  const fmt = (mb: number | undefined): string => (mb === undefined ? '–' : mb.toFixed(1));
  return [
    `\`npm start\` on a built tree (\`node dist/bin/agora.js start\`, the Procfile, one of each entry): every`,
    `process printed its ready line ${Math.round(s.readyMs)} ms after the launcher was spawned (bar: under 3 s). The load`,
    `average was ${s.load.average.toFixed(1)} on ${s.load.cores} cores then: the processes start together, so that time moves`,
    "with the machine's other work.",
    'Resident memory of each process at rest, 1 s after the last ready line (bar: under 80 MB), and its parts',
    "(/proc/<pid>/smaps_rollup): the process's own pages (V8's heap, Buffers, the allocator's arenas), and those",
    "mapped from files (node's binary and libraries, the same pages in every process, which the proportional",
    'set size, PSS, divides among the processes sharing them):',
    '',
    '| process | RSS MB | own (anonymous) MB | from files MB | PSS MB |',
    '|---|---:|---:|---:|---:|',
    ...s.rss.map(
      (r) =>
        `| ${r.label} | ${fmt(r.mb)} | ${fmt(r.parts?.anonMb)} | ${fmt(r.parts?.fileMb)} | ${fmt(r.parts?.pssMb)} |`,
    ),
  ].join('\n');
}
