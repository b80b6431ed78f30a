/** pino, the one logger of every process (CONTRIBUTING.md "Logging"). */
import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT = [
  'password',
  '*.password',
  'sesskey',
  '*.sesskey',
  'session',
  '*.session',
  'req.headers.authorization',
];

const CENSOR = '[redacted]';

/**
 * The keys of REDACT's `*.key` paths. pino would run a wildcard path's redactor on every field of every
 * line, a clone and a JSON.stringify per field even of a string or a number; `censorNested` does the
 * same redaction with one look at each field, and pino keeps the other paths (each runs only on its own
 * key), so a line costs what it costs without redaction.
 */
const NESTED: readonly string[] = REDACT.filter((p) => p.startsWith('*.')).map((p) => p.slice(2));
const PINO_PATHS = REDACT.filter((p) => !p.startsWith('*.'));

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * `fields` with every `*.key` path of REDACT censored: a field that is an object (an error included) holding
 * one of those keys as its own is replaced by a copy (same prototype, same properties) that holds
 * `[redacted]` there. Nothing is changed in place; `fields` itself comes back when nothing is censored.
 */
export function censorNested<T extends object>(fields: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (!hasOwn(fields, key)) continue;
    const value: unknown = fields[key];
    if (value === null || typeof value !== 'object' || !NESTED.some((k) => hasOwn(value, k))) continue;
    out ??= { ...fields } as Record<string, unknown>;
    out[key] = censored(value);
  }
  return (out ?? fields) as T;
}

/** A copy of `value` with its own secret keys censored (each as enumerable as it was). */
function censored(value: object): object {
  if (Array.isArray(value)) {
    const copy: unknown[] = value.slice();
    for (const k of NESTED) if (hasOwn(value, k)) (copy as unknown as Record<string, unknown>)[k] = CENSOR;
    return copy;
  }
  const descriptors = Object.getOwnPropertyDescriptors(value);
  for (const k of NESTED) {
    const d = descriptors[k];
    if (d !== undefined)
      descriptors[k] = { value: CENSOR, enumerable: d.enumerable, writable: true, configurable: true };
  }
  return Object.create(Object.getPrototypeOf(value) as object | null, descriptors) as object;
}

/** Under a steady flow of lines, stdout is written at most once per this many ms (the first line of a lull at once). */
export const LOG_BATCH_MS = 5;

/** stdout's destination (a sonic-boom) with the lines it has not yet handed to itself. */
type Batched = pino.DestinationStream & {
  handOver?: () => void;
  take?: () => Buffer | undefined;
  flushSync?: () => void;
  _writing?: unknown;
};

/** Every batched destination while its logger lives, for the last lines at exit. */
const batched = new Set<WeakRef<Batched>>();
let exitHooked = false;

/**
 * stdout as pino's default destination (sonic-boom, asynchronous), but:
 * - the lines waiting for the write in flight are kept as bytes: as text, sonic-boom measures the UTF-8
 *   length of all it holds at every new line, which copies it whole each time; each line is written into one
 *   buffer the batch fills (`LineBatch`), not made a Buffer of its own and joined to the others later;
 * - while lines keep coming, they are handed to sonic-boom at most once per LOG_BATCH_MS: each write to
 *   stdout goes through libuv's thread pool and back, which cost the gateway more per access line than
 *   writing the line itself; the first line after a lull is handed at once.
 * At exit what is left is written synchronously, after sonic-boom's own. Undefined when stdout's `write`
 * has been replaced, where pino writes to process.stdout itself.
 */
function stdoutDestination(): pino.DestinationStream | undefined {
  const stdout = process.stdout as NodeJS.WriteStream & { constructor: { prototype: { write: unknown } } };
  if (stdout.write !== stdout.constructor.prototype.write) return undefined;
  const fd = process.stdout.fd || 1;
  const boom = pino.destination({ dest: fd, contentMode: 'buffer' });
  const writeBuffer = boom.write.bind(boom) as unknown as (bytes: Buffer) => boolean;
  const pending = new LineBatch();
  let timer: NodeJS.Timeout | undefined;
  let handedAt = -Infinity;
  const handOver = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const bytes = pending.take();
    if (bytes === undefined) return;
    handedAt = performance.now();
    writeBuffer(bytes);
  };
  const out = boom as unknown as Batched;
  out.handOver = handOver;
  out.take = () => pending.take();
  boom.write = (line: string) => {
    pending.add(line);
    if (timer === undefined) {
      const wait = handedAt + LOG_BATCH_MS - performance.now();
      if (wait <= 0) handOver();
      else (timer = setTimeout(handOver, wait)).unref();
    }
    return true;
  };
  batched.add(new WeakRef(out));
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => writeLeftovers(fd));
  }
  return out;
}

const BATCH_MIN_BYTES = 4096;
const BATCH_MAX_BYTES = 1 << 20;

/**
 * Lines as UTF-8 bytes, written one after another into a buffer that the batch fills, and taken all at once. What
 * is taken is the batch's own (a destination writes it later): the next line starts a new buffer, sized for what
 * the last batch held. A line that does not fit where the buffer has room goes to a new one.
 */
export class LineBatch {
  /** The buffers filled before the current one (usually none). */
  private full: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  /** The size of the next buffer: twice what the last batch held, from 4 KB to 1 MB. */
  private nextBytes = BATCH_MIN_BYTES;

  add(line: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair, 2 units, is 4 bytes).
    const most = line.length * 3;
    if (this.current === undefined || this.used + most > this.current.length) {
      if (this.current !== undefined) this.full.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafeSlow(Math.max(this.nextBytes, most));
      this.used = 0;
    }
    this.used += this.current.write(line, this.used);
  }

  /** Every line added since the last take, as one buffer; undefined when there is none. */
  take(): Buffer | undefined {
    if (this.current === undefined) return undefined;
    const last = this.current.subarray(0, this.used);
    const bytes = this.full.length === 0 ? last : Buffer.concat([...this.full, last]);
    this.nextBytes = Math.min(BATCH_MAX_BYTES, Math.max(BATCH_MIN_BYTES, 2 * bytes.length));
    this.full = [];
    this.current = undefined;
    this.used = 0;
    return bytes;
  }
}

/** At exit: what each sonic-boom holds, then what it was not yet handed, synchronously, to `fd`. */
function writeLeftovers(fd: number): void {
  for (const ref of batched) {
    const d = ref.deref();
    const bytes = d?.take?.();
    if (bytes === undefined) continue;
    try {
      d?.flushSync?.();
      writeSync(fd, bytes);
    } catch {
      // stdout is gone: nowhere to write
    }
  }
}

/** The root logger of a process: JSON to stdout, tagged with its service name. */
export function createLogger(svc: string, level: string, destination?: pino.DestinationStream): Logger {
  const log = pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), svc },
      redact: { paths: PINO_PATHS, censor: CENSOR },
      formatters: { log: censorNested },
    },
    destination ?? stdoutDestination(),
  );
  // pino formats no child's bindings: they are censored on their way in, by this `child`, which every
  // child inherits from the root.
  const proto = Object.getPrototypeOf(log) as Pick<Logger, 'child'>;
  log.child = function (this: Logger, bindings, options) {
    return proto.child.call(this, censorNested(bindings), options);
  } as Logger['child'];
  return log;
}

/** `text` as a JSON string, as pino writes a string field. */
export function jsonText(text: string): string {
  return text.length > 100 || NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

// eslint-disable-next-line no-control-regex -- the characters a JSON string must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** A line at info, its fields given as JSON text (`,"key":value` each). */
export type InfoLine = (fields: string) => void;

/**
 * A writer of lines at info with the bytes `log.info(fields, msg)` writes, for lines written per request:
 * pino's own walk over a fields object (each string escaped by a loop over its characters) costs the
 * gateway more than the rest of the line. The fields are given as JSON text, their keys among `keys`; the
 * message is the same on every line.
 * Undefined when `log` has anything that would change such a line (a mixin, a hook, a message prefix or
 * key, a nested key, a serializer or redaction of one of `keys`, a destination that wants metadata): then
 * `log.info` it is. Fields given as text are not objects: the censoring of nested secrets has nothing to do.
 */
export function infoLineWriter(log: Logger, keys: readonly string[], msg: string): InfoLine | undefined {
  const own = log as unknown as Record<symbol, unknown>;
  const hooks = own[pino.symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const serializers = own[pino.symbols.serializersSym] as Record<string, unknown>;
  const stringifiers = own[pino.symbols.stringifiersSym] as Record<string | symbol, unknown>;
  const stream = own[pino.symbols.streamSym] as pino.DestinationStream & Record<symbol, unknown>;
  const levels = own[pino.symbols.lsCacheSym] as Record<number, string>;
  const time = own[pino.symbols.timeSym] as () => string;
  const end = own[pino.symbols.endSym];
  const formatters = own[pino.symbols.formattersSym] as { log?: unknown } | undefined;
  const info = log.levels.values.info;
  if (
    // censorNested leaves fields that are not objects as they are.
    (formatters?.log !== undefined && formatters.log !== censorNested) ||
    own[pino.symbols.mixinSym] !== undefined ||
    hooks?.logMethod !== undefined ||
    hooks?.streamWrite !== undefined ||
    log.msgPrefix !== undefined ||
    own[pino.symbols.messageKeySym] !== 'msg' ||
    own[pino.symbols.nestedKeySym] !== null ||
    stringifiers[pino.symbols.wildcardFirstSym] !== undefined ||
    keys.some((k) => serializers[k] !== undefined || stringifiers[k] !== undefined) ||
    stream[pino.symbols.needsMetadataGsym] === true ||
    typeof levels[info] !== 'string' ||
    typeof time !== 'function' ||
    typeof end !== 'string'
  )
    return undefined;
  const head = levels[info];
  const tail = `,"msg":${jsonText(msg)}${end}`;
  return (fields) => {
    if (log.levelVal > info) return;
    stream.write(`${head}${time()}${own[pino.symbols.chindingsSym] as string}${fields}${tail}`);
  };
}

/**
 * Call `then` once every line `log` has taken is written (what waits for its turn is handed over
 * first). The default destination writes to stdout asynchronously; a process exiting while one
 * write is in flight has its last lines flushed around that write, out of order (`stopped`
 * before `draining`). sonic-boom's own `flush(cb)` answers at once for our `minLength` of 0, so
 * this waits for its `drain` while it is writing (its `_writing` flag: no public accessor says so).
 */
export function afterLogsWritten(log: Logger, then: () => void): void {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    (Batched & { once?: (event: string, fn: () => void) => void }) | undefined;
  stream?.handOver?.();
  if (stream?._writing === true && typeof stream.once === 'function') stream.once('drain', then);
  else then();
}
