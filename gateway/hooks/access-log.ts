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
 * which makes the child only when something logs through it, and the access line of a
 * request that has none is written by the parent with the id as its first field: the same
 * bytes the child would have written.
 */
import {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type Args = [obj: unknown, msg?: string, ...rest: unknown[]];

/** The label Fastify binds a request's id to (its `requestIdLogLabel`, left at its default). */
const ID_LABEL = 'reqId';

/** A request's logger: its pino child, made at the first line logged through it. */
export class RequestLogger {
  private own: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    /** The request's id, as the child would bind it. */
    readonly id: string,
    private readonly bindings: Bindings,
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

  /** `obj` and `msg` at info, as the child would write them, without making it. */
  infoAsChild(obj: Record<string, unknown>, msg: string): void {
    if (this.own !== undefined) this.own.info(obj, msg);
    else this.parent.info({ [ID_LABEL]: this.id, ...obj }, msg);
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
  const id = (bindings as Record<string, unknown>)[ID_LABEL];
  if (typeof id !== 'string' || options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options);
  return new RequestLogger(logger, id, bindings);
};

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
    const line = {
      method: request.method,
      path: query < 0 ? url : url.slice(0, query),
      route: request.routeOptions.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    const log: unknown = request.log;
    if (error !== null && error !== undefined) request.log.error({ ...line, err: error }, 'request');
    else if (log instanceof RequestLogger) log.infoAsChild(line, 'request');
    else request.log.info(line, 'request');
  }
}
