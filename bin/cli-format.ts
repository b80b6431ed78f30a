/**
 * What the `agora` command prints and how it exits (README.md "The agora command"): pure
 * functions, so that the unit tests read them without a process.
 */
import { STATUS_CODES } from 'node:http';
import type { BrokerStatus, TailEvent } from '../lib/bus/broker-stats';
import { AgoraError, isAgoraError } from '../lib/errors';

/** Exit codes (sysexits.h where one fits); `agora --help` and the README list them. */
export const EXIT = {
  OK: 0,
  /** Anything else that failed. */
  FAILURE: 1,
  /** Bad arguments: EX_USAGE. */
  USAGE: 64,
  /** The remote refused the call's data (a 4xx other than auth): EX_DATAERR. */
  DATA: 65,
  /** The broker or the service is unreachable: EX_UNAVAILABLE. */
  UNAVAILABLE: 69,
  /** The remote failed (a 5xx other than unavailable): EX_SOFTWARE. */
  SOFTWARE: 70,
  /** Timed out or over capacity; try again: EX_TEMPFAIL. */
  TEMPFAIL: 75,
  /** Not authenticated or not allowed: EX_NOPERM. */
  NOPERM: 77,
  /** Bad configuration: EX_CONFIG. */
  CONFIG: 78,
} as const;

/** The exit-code table of `agora --help`. */
export const EXIT_HELP = `Exit codes:
  0   ok
  1   any other failure
  64  usage: bad command, option or argument
  65  the remote refused the request's data (HTTP 4xx class)
  69  unavailable: the broker cannot be reached, or no worker serves the service
  70  the remote failed (HTTP 5xx class)
  75  timed out or over capacity: try again later
  77  not authenticated or not allowed
  78  bad configuration (an AGORA_* variable)`;

/** The exit code of a failed call, by its error's class (its HTTP status in lib/errors.ts). */
export function exitCodeFor(err: unknown): number {
  if (!isAgoraError(err)) return EXIT.FAILURE;
  const s = err.status;
  if (s === 401 || s === 403) return EXIT.NOPERM;
  if (s === 408 || s === 429 || s === 504) return EXIT.TEMPFAIL;
  if (s === 503) return EXIT.UNAVAILABLE;
  if (s >= 400 && s < 500) return EXIT.DATA;
  return EXIT.SOFTWARE;
}

/** Write `err` on `stderr` in its documented shape (errorJson); its exit code. */
export function reportError(err: unknown, stderr: { write(text: string): unknown }): number {
  stderr.write(`${JSON.stringify(errorJson(err), null, 2)}\n`);
  return exitCodeFor(err);
}

/**
 * An error in its documented shape (docs/ERRORS.md): `{code, errno, error, message}` as the gateway
 * would answer it, plus `agoraCode`, its name in lib/errors.ts, and its `data` if any.
 */
export function errorJson(err: unknown): Record<string, unknown> {
  const e = isAgoraError(err) ? err : new AgoraError('AGORA_ERR_INTERNAL', [], { message: String(err) });
  const out: Record<string, unknown> = {
    code: e.status,
    errno: e.errno,
    error: STATUS_CODES[e.status] ?? 'Error',
    message: e.message,
    agoraCode: e.code,
  };
  if (e.data !== undefined) out.data = e.data;
  return out;
}

/**
 * The parameters of `agora call`: each argument is one JSON value (`'"hi"'`, `42`, `'{"a":1}'`);
 * a bare word that is not JSON is taken as a string, so `agora call echo echo hi` works too.
 */
export function parseParams(args: readonly string[]): unknown[] {
  return args.map((arg) => {
    try {
      return JSON.parse(arg) as unknown;
    } catch {
      if (/^[A-Za-z_][\w.@:/-]*$/.test(arg)) return arg;
      throw new Error(`parameter ${JSON.stringify(arg)} is not a JSON value (quote strings: '"text"')`);
    }
  });
}

/** A positive number of milliseconds or seconds from an option such as `--timeout 5s`, `500ms`, `2`. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw.trim());
  if (m === null || Number(m[1]) <= 0) throw new Error(`expected a duration such as 5s or 500ms, got ${raw}`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Whether to colour output to `stream`: a terminal, and NO_COLOR unset or empty (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** ANSI styling, or none. */
export function paint(color: boolean): (code: number, text: string) => string {
  return color ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
}

function ms(value: number | null): string {
  return value === null ? '-' : `≤${value}`;
}

/** `agora status` as a table: one row per service. */
export function statusTable(status: BrokerStatus, color: boolean): string {
  const c = paint(color);
  const head = ['SERVICE', 'WORKERS', 'BUSY/SLOTS', 'QUEUED', 'CALLS', 'ERRORS', 'CALLS/S', 'P50 MS', 'P99 MS'];
  const rows = status.services
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => [
      s.name,
      String(s.workers),
      `${s.busy}/${s.slots}`,
      String(s.queued),
      String(s.calls),
      String(s.errors),
      String(s.rate),
      ms(s.p50),
      ms(s.p99),
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const upS = Math.round(status.uptimeMs / 1000);
  const title = `broker up ${upS} s, ${status.services.length} service(s), latency since start`;
  const body = rows.map((r, i) => {
    const text = line(r);
    const s = status.services.slice().sort((a, b) => a.name.localeCompare(b.name))[i];
    return s.workers === 0 ? c(31, text) : s.errors > 0 ? c(33, text) : text;
  });
  return [c(2, title), c(1, line(head)), ...body].join('\n') + '\n';
}

/** One `agora tail` line: time, service.method, caller, ms, outcome, request id. */
export function tailLine(e: TailEvent, color: boolean): string {
  const c = paint(color);
  const time = new Date(e.t).toISOString().slice(11, 23);
  const outcome = e.outcome === 'ok' ? c(32, 'ok') : c(31, e.outcome);
  const took = e.ms === null ? '-' : `${e.ms.toFixed(2)}ms`;
  const parts = [
    c(2, time),
    `${e.service}.${e.method ?? '?'}`,
    `from ${e.caller ?? '?'}`,
    took,
    outcome,
    e.reqId === null ? '' : c(2, `req=${e.reqId}`),
  ];
  return parts.filter((p) => p !== '').join('  ');
}

/** An error for a command's own failure (not a remote one): message and exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The AgoraError a failed connection to the broker is reported as. */
export function unavailable(endpoint: string): AgoraError {
  return new AgoraError('AGORA_ERR_BUS_DISCONNECTED', [], {
    message: `Cannot reach the broker at ${endpoint}`,
  });
}
