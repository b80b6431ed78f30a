/**
 * Runs the processes of a Procfile the way foreman does: one `/bin/sh -c` each, every
 * output line prefixed with its `name.N |` label, one signal forwarded to all, SIGKILL
 * after a grace period, and everything stopped when one process dies on its own.
 * Unlike foreman it starts `broker` first and the others only after the broker's ready line,
 * may show the JSON log lines in a readable form, and with `restart` starts a process that
 * exited on its own again, after a capped exponential backoff, while the others keep serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isReadyLine, labelWidth, prefix, shellScript, SYSTEM_LABEL, type PlannedProcess } from '../lib/procfile';

/** The entry every other process needs first. */
export const BROKER = 'broker';

export interface LauncherOptions {
  processes: readonly PlannedProcess[];
  /** Directory the commands run in (the Procfile's, as foreman does). */
  cwd: string;
  /** Where the prefixed lines go. */
  out: { write(text: string): unknown };
  /** Colour the labels (only for a terminal). */
  color: boolean;
  /** How long stopping processes get before SIGKILL. */
  graceMs: number;
  /** How long the broker gets to print its ready line. */
  readyMs: number;
  /** Start a process that exits on its own again (the others keep running) instead of stopping all. */
  restart?: boolean;
  /** How each output line of a process is shown (e.g. lib/pretty-log.ts); undefined: not at all. Default: as it is. */
  format?: (line: string) => string | undefined;
}

/** The first restart's delay; it doubles up to RESTART_MAX_MS. */
export const RESTART_MIN_MS = 500;
export const RESTART_MAX_MS = 30_000;
/** A process that stayed up this long starts its next restart at RESTART_MIN_MS again. */
export const RESTART_RESET_MS = 10_000;

/** The delay before restart number `failures` (1, 2, …) in a row: 0.5 s doubling, at most 30 s. */
export function restartDelay(failures: number): number {
  return Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, failures - 1));
}

interface Running {
  proc: PlannedProcess;
  child: ChildProcess;
  slot: number;
  ready: Promise<void>;
  startedAt: number;
}

/** Process group of a child: each runs in its own (`detached`), so a signal reaches its whole tree. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid ?? 0), signal);
  } catch {
    // Already gone: nothing to stop.
  }
}

/** Exit status as a shell reports it: the code, or 128 + the signal number. */
function status(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
}

export class Launcher {
  private readonly running = new Map<string, Running>();
  private readonly width: number;
  private spawned = 0;
  private stopSignal: NodeJS.Signals | undefined;
  private exitCode = 0;
  private killTimer: NodeJS.Timeout | undefined;
  private finish: (code: number) => void = () => undefined;
  private stopped: () => void = () => undefined;
  private readonly stopRequested = new Promise<void>((resolve) => (this.stopped = resolve));
  /** With `restart`: restarts so far and failures in a row per label, and the restarts waiting for their delay. */
  private readonly restarts = new Map<string, { total: number; inRow: number }>();
  private readonly pendingRestarts = new Map<string, NodeJS.Timeout>();
  /** The labels that printed their ready line, and the HTTP endpoints they named, for the line saying all are. */
  private readonly readyLabels = new Set<string>();
  private readonly httpEndpoints: string[] = [];
  private readonly startedAt = Date.now();

  constructor(private readonly options: LauncherOptions) {
    this.width = labelWidth(options.processes.map((p) => p.label));
  }

  /** Start everything; resolves with the exit code once every process has exited. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finish = resolve));
    void this.startAll();
    return done;
  }

  /**
   * Stop every process with `signal` (the first call only; later signals, e.g. the
   * terminal's SIGINT doubled by npm's forwarding, are noted and ignored). `failure`,
   * when set, becomes the exit code.
   */
  stop(signal: NodeJS.Signals, failure?: number): void {
    if (failure !== undefined && this.exitCode === 0) this.exitCode = failure;
    if (this.stopSignal !== undefined) return this.system(`${signal} received while stopping, still waiting`);
    this.stopSignal = signal;
    this.stopped();
    for (const timer of this.pendingRestarts.values()) clearTimeout(timer);
    this.pendingRestarts.clear();
    this.system(`sending ${signal} to all processes`);
    for (const r of this.running.values()) signalGroup(r.child, signal);
    this.killTimer = setTimeout(() => this.killAll(), this.options.graceMs);
    this.settleIfDone();
  }

  private async startAll(): Promise<void> {
    const first = this.options.processes.filter((p) => p.name === BROKER);
    const rest = this.options.processes.filter((p) => p.name !== BROKER);
    if (first.length > 0 && !(await this.awaitReady(first.map((p) => this.spawn(p))))) return;
    if (this.stopSignal === undefined) rest.forEach((p) => this.spawn(p));
    this.settleIfDone();
  }

  /** Whether every one of `started` printed its ready line before a stop or the deadline. */
  private async awaitReady(started: Running[]): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(false), this.options.readyMs)),
    );
    const ready = Promise.all(started.map((r) => r.ready)).then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([ready, deadline, this.stopRequested.then(() => false)]);
    clearTimeout(timer);
    if (!ok && this.stopSignal === undefined) {
      this.system(`${BROKER} not ready within ${this.options.readyMs} ms`);
      this.stop('SIGTERM', 1);
    }
    return ok;
  }

  private spawn(proc: PlannedProcess, reuseSlot?: number): Running {
    const child = spawn('/bin/sh', ['-c', shellScript(proc.command)], {
      cwd: this.options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const slot = reuseSlot ?? this.spawned++;
    let onReady: () => void = () => undefined;
    let onGone: (e: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => ((onReady = resolve), (onGone = reject)));
    ready.catch(() => undefined);
    const r: Running = { proc, child, slot, ready, startedAt: Date.now() };
    this.running.set(proc.label, r);
    this.pipe(r, child.stdout, (line) => {
      if (!isReadyLine(line)) return;
      onReady();
      this.noteReady(proc.label, line);
    });
    this.pipe(r, child.stderr);
    const gone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (!this.running.has(proc.label)) return;
      onGone(new Error(`${proc.label} exited`));
      this.exited(r, code, signal);
    };
    child.on('error', (err) => {
      this.line(r, `failed: ${err.message}`);
      if (child.pid === undefined) gone(127, null);
    });
    child.on('close', gone);
    this.line(r, `started with pid ${child.pid}`);
    return r;
  }

  /** Copy each line of `stream` to the output under the process's label. */
  private pipe(r: Running, stream: Readable, onLine?: (line: string) => unknown): void {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      const shown = this.options.format === undefined ? line : this.options.format(line);
      if (shown !== undefined) this.line(r, shown);
      onLine?.(line);
    });
  }

  private exited(r: Running, code: number | null, signal: NodeJS.Signals | null): void {
    this.running.delete(r.proc.label);
    this.line(r, signal === null ? `exited with code ${code}` : `terminated by ${signal}`);
    if (this.stopSignal === undefined && this.options.restart === true) {
      this.scheduleRestart(r);
    } else if (this.stopSignal === undefined) {
      // A process ending on its own is a failure of the whole mesh (foreman stops all, too).
      this.stop('SIGTERM', status(code, signal) || 1);
    } else if (code !== 0 && signal !== this.stopSignal && this.exitCode === 0) {
      this.exitCode = status(code, signal);
    }
    this.settleIfDone();
  }

  /** One more process is ready: once all are, say so (once), with where HTTP is served. */
  private noteReady(label: string, line: string): void {
    if (this.readyLabels.has(label) || this.stopSignal !== undefined) return;
    this.readyLabels.add(label);
    const endpoints = (JSON.parse(line) as { endpoints?: Record<string, unknown> }).endpoints;
    if (typeof endpoints?.http === 'string') this.httpEndpoints.push(endpoints.http);
    if (this.readyLabels.size !== this.options.processes.length) return;
    const s = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    const http = this.httpEndpoints.length === 0 ? '' : `; HTTP at ${this.httpEndpoints.join(', ')}`;
    this.system(`all ${this.readyLabels.size} processes ready in ${s} s${http}`);
  }

  /** `r` exited on its own under `restart`: start it again after its backoff. */
  private scheduleRestart(r: Running): void {
    const label = r.proc.label;
    const count = this.restarts.get(label) ?? { total: 0, inRow: 0 };
    count.inRow = Date.now() - r.startedAt >= RESTART_RESET_MS ? 1 : count.inRow + 1;
    count.total++;
    this.restarts.set(label, count);
    const delay = restartDelay(count.inRow);
    this.system(`${label} exited unexpectedly: restart #${count.total} in ${delay} ms`);
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(label);
      if (this.stopSignal === undefined) this.spawn(r.proc, r.slot);
    }, delay);
    this.pendingRestarts.set(label, timer);
  }

  private killAll(): void {
    this.system(`still running after ${this.options.graceMs} ms, sending SIGKILL`);
    for (const r of this.running.values()) signalGroup(r.child, 'SIGKILL');
  }

  private settleIfDone(): void {
    if (this.running.size > 0 || this.stopSignal === undefined) return;
    clearTimeout(this.killTimer);
    this.finish(this.exitCode);
  }

  private line(r: Running, text: string): void {
    this.options.out.write(`${prefix(r.proc.label, this.width, this.options.color, r.slot)}${text}\n`);
  }

  private system(text: string): void {
    this.options.out.write(`${prefix(SYSTEM_LABEL, this.width, false)}${text}\n`);
  }
}
