/**
 * Start real processes for integration tests, the way the Procfile starts them, and wait
 * for their `{"ready":true,"endpoints":…}` log line while racing their exit, with a deadline.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { processStart } from '../../services/driver/state-dir';
import { createInterface } from 'node:readline';

/** The repository root (this file runs from dist/test/helpers). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** `dist/…` entry point of a component, as the Procfile names it. */
export function entry(relative: string): string {
  return path.join(ROOT, 'dist', relative);
}

export interface Started {
  child: ChildProcess;
  /** The `endpoints` of the ready line. */
  endpoints: Record<string, string | number>;
  /**
   * Every stdout line (and stderr line, with `stderrLines`) parsed as JSON so far (non-JSON lines are kept as
   * `{ raw }`).
   */
  lines: Array<Record<string, unknown>>;
  /** Resolve with the first line (already seen or coming) that matches, or reject after `ms`. */
  waitFor(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Send a signal and wait for the exit; returns the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Milliseconds to wait for the ready line. */
  readyMs?: number;
  cwd?: string;
  /** How a stdout line becomes a record (default: `jsonLine`). */
  parse?: (text: string) => Record<string, unknown>;
  /** The ready line (default: `ready === true`). */
  isReady?: (line: Record<string, unknown>) => boolean;
  /** Also parse stderr lines into `lines` (for processes that log there, as the Python and Ruby SDKs do). */
  stderrLines?: boolean;
}

/** A stdout line parsed as a JSON object, or `{ raw }` when it is not one. */
export function jsonLine(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { raw: text };
  } catch {
    return { raw: text };
  }
}

/**
 * A line of foreman or `agora start` output, `[HH:MM:SS ]name.N | text`: `jsonLine(text)`
 * plus its `label` (`{ raw }` alone when the line has no label).
 */
export function labelledLine(text: string): Record<string, unknown> {
  const m = /^(?:\d\d:\d\d:\d\d )?(\S+)\s*\| ?(.*)$/.exec(text);
  return m === null ? { raw: text } : { ...jsonLine(m[2]), label: m[1] };
}

/** Spawn `command args…` and wait for its ready line. */
export async function start(command: string, args: string[], options: StartOptions = {}): Promise<Started> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const watchers = new Set<(line: Record<string, unknown>) => void>();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const parse = options.parse ?? jsonLine;
  const onLine = (text: string): void => {
    const line = parse(text);
    lines.push(line);
    for (const w of watchers) w(line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  if (options.stderrLines === true) createInterface({ input: child.stderr }).on('line', onLine);
  const exited = once(child, 'exit');
  /**
   * What the process said before it failed, for the error: its errors (a log line of level 50 or more, an
   * instance that exited with another code than 0: under foreman, the first is what stopped the others),
   * then its last 30 lines.
   */
  const tail = (): string => {
    const last = lines.slice(-30);
    const failed = (l: Record<string, unknown>): boolean =>
      (typeof l.level === 'number' && l.level >= 50) ||
      (typeof l.raw === 'string' && /exited with code [1-9]/.test(l.raw));
    const errors = lines.filter((l) => failed(l) && !last.includes(l)).slice(0, 10);
    return [...errors, ...last].map((l) => `${JSON.stringify(l)}\n`).join('');
  };

  const waitFor = (match: (line: Record<string, unknown>) => boolean, ms = 15_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const seen = lines.find(match);
      if (seen !== undefined) return resolve(seen);
      const done = (err: Error | null, line?: Record<string, unknown>): void => {
        clearTimeout(timer);
        watchers.delete(watcher);
        child.off('exit', onExit);
        if (err !== null) reject(err);
        else resolve(line!);
      };
      const watcher = (line: Record<string, unknown>): void => {
        if (match(line)) done(null, line);
      };
      const onExit = (code: number | null, signal: string | null): void =>
        done(
          new Error(
            `${command} ${args.join(' ')} exited (${code ?? signal}) before the awaited line\n${tail()}${stderr}`,
          ),
        );
      const timer = setTimeout(
        () => done(new Error(`timed out after ${ms} ms waiting for a line of ${args.join(' ')}\n${tail()}${stderr}`)),
        ms,
      );
      watchers.add(watcher);
      child.once('exit', onExit);
      return undefined;
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
    child.kill(signal);
    const [code, sig] = (await exited) as [number | null, string | null];
    return code ?? sig;
  };

  let ready: Record<string, unknown>;
  try {
    ready = await waitFor(options.isReady ?? ((l) => l.ready === true), options.readyMs ?? 15_000);
  } catch (e) {
    child.kill('SIGTERM'); // nobody else holds the child to stop it
    throw e;
  }
  return { child, endpoints: ready.endpoints as Record<string, string | number>, lines, waitFor, stop };
}

/** Start a compiled Node entry point (e.g. `services/broker/main.js`). */
export function startNode(relative: string, options: StartOptions = {}): Promise<Started> {
  return start(process.execPath, [entry(relative)], options);
}

/** What a process that ran to its end said: its exit code (null if killed) and its output. */
export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a compiled Node entry point to its exit, killed after `timeoutMs`. */
export function runToExit(relative: string, env: Record<string, string>, timeoutMs = 15_000): Promise<Exited> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [entry(relative)],
      { env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

/** Start the broker on a free port; `endpoints.bus` is where to connect. */
export function startBroker(env: Record<string, string> = {}): Promise<Started> {
  return startNode('services/broker/main.js', { env: { AGORA_BUS_URL: 'tcp://127.0.0.1:0', ...env } });
}

/**
 * A TCP port free on 127.0.0.1 for a process to bind next. It is drawn below the kernel's ephemeral
 * range, which the OS hands out for `listen(0)` and for the local end of every outgoing connection:
 * a port taken from that range and released could be reused by any connection in between.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow() - 1;
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    server.close();
    await once(server, 'close');
    return port;
  }
}

/** The first port of the kernel's ephemeral range (32768 where it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A test that lacks something the machine should have: skipped with the reason, but failed
 * under CI=true, where .ci/run must have installed it (CONTRIBUTING.md "Test").
 * Answers false, for `if (!ok) return skipOrFail(...)`.
 */
export function skipOrFail(t: { skip(message?: string): void }, why: string, packages: string): false {
  if (process.env.CI === 'true') throw new Error(`skipped: ${why}; CI must install ${packages}`);
  t.skip(`skipped: ${why}`);
  return false;
}

/** Whether process `pid` exists (its zombie included). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether process `pid` has ended: gone, or a zombie not reaped yet (a node whose driver was
 * killed is re-parented, and its new parent reaps it when it will).
 */
export function ended(pid: number): boolean {
  return processStart(pid) === null;
}
