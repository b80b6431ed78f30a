/**
 * One log line per request, when its answer has left: method, path (without the query
 * string, which may carry tokens), route, status and duration, labelled with the request
 * id (`reqId`). Fastify's LogController is where its own two lines per request ("incoming
 * request", "request completed") are written; this one writes nothing on the way in and our
 * line on the way out.
 *
 * Fastify gives every request a child logger bound to its id. Most requests log nothing but
 * that line, and making a pino child (its bindings censored and serialized) cost about as
 * much as writing the line: `requestLogger` gives each request a `RequestLogger` instead,
 * which makes the child only when something logs through it. The access line of a request
 * that has none is written by the process's logger where it can (lib/log.ts `infoLineWriter`),
 * with the id as its first field and its fields made JSON here: the bytes its child would have
 * written; elsewhere through the child.
 */
import {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { infoLineWriter, jsonText, type InfoLine } from '../../lib/log';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type Args = [obj: unknown, msg?: string, ...rest: unknown[]];

/** The label Fastify binds a request's id to (its `requestIdLogLabel`, left at its default). */
const ID_LABEL = 'reqId';
/** The message of the access line. */
const ACCESS_MSG = 'request';
/** The keys of the access line. */
const ACCESS_KEYS = [ID_LABEL, 'method', 'path', 'route', 'status', 'ms'];

/** A request's logger: its pino child, made at the first line logged through it. */
export class RequestLogger {
  private own: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    /** The parent's writer of lines given as JSON text, when it has one. */
    private readonly line: InfoLine | undefined,
  ) {}

  /** The child itself, made now if it was not. */
  made(): FastifyBaseLogger {
    return (this.own ??= this.parent.child(this.bindings));
  }

  get level(): string {
    return (this.own ?? this.parent).level;
  }

  set level(level: string) {
    this.made().level = level;
  }

  /**
   * The parent's writer of lines given as JSON text while the child is not made (a line written through it
   * has the bytes the child would write, given the id as its first field); undefined otherwise.
   */
  get lineWithoutChild(): InfoLine | undefined {
    return this.own === undefined ? this.line : undefined;
  }

  fatal(...args: Args): void {
    this.made().fatal(...args);
  }

  error(...args: Args): void {
    this.made().error(...args);
  }

  warn(...args: Args): void {
    this.made().warn(...args);
  }

  info(...args: Args): void {
    this.made().info(...args);
  }

  debug(...args: Args): void {
    this.made().debug(...args);
  }

  trace(...args: Args): void {
    this.made().trace(...args);
  }

  silent(): void {
    // Nothing is written at the silent level.
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.made().child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory`: a RequestLogger, or the child at once where a route sets its own
 * level or serializers (its lines, the access line too, must follow them).
 */
export const requestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) => {
  // The access line names the request's id under ID_LABEL, as the child would.
  const id = (bindings as Record<string, unknown>)[ID_LABEL];
  if (typeof id !== 'string' || options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options);
  return new RequestLogger(logger, bindings, lineWriterOf(logger));
};

/** Each parent's writer of access lines (undefined where it has none), made at its first request. */
const lineWriters = new WeakMap<FastifyBaseLogger, InfoLine | undefined>();

function lineWriterOf(logger: FastifyBaseLogger): InfoLine | undefined {
  if (lineWriters.has(logger)) return lineWriters.get(logger);
  const pinoLogger = typeof (logger as { levelVal?: unknown }).levelVal === 'number';
  const writer = pinoLogger
    ? infoLineWriter(logger as Parameters<typeof infoLineWriter>[0], ACCESS_KEYS, ACCESS_MSG)
    : undefined;
  lineWriters.set(logger, writer);
  return writer;
}

export class AccessLog extends LogController {
  override incomingRequest(): void {
    // The one line is written at completion, when the status and duration are known.
  }

  override routeNotFound(): void {
    // The access line says 404 and route undefined.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const url = request.url;
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    const log: unknown = request.log;
    const ok = error === null || error === undefined;
    const line = ok && log instanceof RequestLogger ? log.lineWithoutChild : undefined;
    if (line !== undefined) {
      const routed = route === undefined ? '' : `,"route":${jsonText(route)}`;
      line(
        `,"${ID_LABEL}":${jsonText(request.id)},"method":${jsonText(request.method)},"path":${jsonText(path)}${routed},"status":${status},"ms":${ms}`,
      );
      return;
    }
    const fields = { method: request.method, path, route, status, ms };
    if (ok) request.log.info(fields, ACCESS_MSG);
    else request.log.error({ ...fields, err: error }, ACCESS_MSG);
  }
}
