/**
 * pino's JSON lines in a form a person reads (`agora start` on a terminal, README.md "The agora
 * command"): `time level message key=value…`, with the few fields that matter and no stack trace.
 * A line that is not a pino object is returned as it is.
 */

/** pino's numeric levels. */
const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO ', color: 32 },
  40: { name: 'WARN ', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 },
};

/** Fields every line carries or that the prefix already says. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'svc', 'v', 'mod', 'err', 'ready']);

/** Fields shown first, in this order, when present. */
const FIRST = ['reqId', 'method', 'url', 'status', 'statusCode', 'ms', 'responseTime', 'service'];

/** Longest value shown for one field. */
const MAX_VALUE = 120;

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const quoted = typeof value === 'string' && /\s/.test(text) ? JSON.stringify(text) : text;
  return quoted.length > MAX_VALUE ? `${quoted.slice(0, MAX_VALUE - 1)}…` : quoted;
}

/**
 * The readable form of one output line; `color` adds ANSI colours (a terminal only). Undefined:
 * a line for programs only, not shown.
 */
export function prettyLine(line: string, color: boolean): string | undefined {
  if (!line.startsWith('{')) return line;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  // The bare readiness line of the Python and Ruby SDKs is for the launcher; their logger says it too.
  if (o.ready === true && o.level === undefined && o.msg === undefined) return undefined;
  if (typeof o.level !== 'number' || typeof o.msg !== 'string') return line;
  const c = (code: number, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[o.level] ?? { name: String(o.level).padEnd(5), color: 0 };
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const fields: string[] = [];
  const keys = [...FIRST.filter((k) => k in o), ...Object.keys(o).filter((k) => !FIRST.includes(k) && !HIDDEN.has(k))];
  for (const key of keys) {
    const value = o[key];
    if (value === undefined) continue;
    // The ready line's endpoints read better as their own fields: bus=… grpc=… http=…
    if (key === 'endpoints' && value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) fields.push(`${c(2, `${k}=`)}${shown(v)}`);
    } else fields.push(`${c(2, `${key}=`)}${shown(value)}`);
  }
  const err = o.err as { message?: unknown; code?: unknown } | undefined;
  if (err !== null && typeof err === 'object') {
    const code = typeof err.code === 'string' || typeof err.code === 'number' ? ` (${err.code})` : '';
    fields.push(c(31, `err=${shown(`${typeof err.message === 'string' ? err.message : ''}${code}`)}`));
  }
  const msg = o.ready === true ? c(1, o.msg) : o.msg;
  return [c(2, time), c(level.color, level.name), msg, ...fields].filter((p) => p !== '').join(' ');
}

/** The log formats of AGORA_LOG_FORMAT: `auto` is pretty on a terminal and JSON otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether `format` asks for pretty lines, given whether the output is a terminal. */
export function wantsPretty(format: LogFormat, tty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && tty);
}
