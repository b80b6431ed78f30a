/**
 * One log line per request, when its answer has left: method, path (without the query
 * string, which may carry tokens), route, status and duration, labelled with the request
 * id (`reqId`) by Fastify's child logger. Fastify's LogController is where its own two
 * lines per request ("incoming request", "request completed") are written; this one
 * writes nothing on the way in and our line on the way out.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

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
    if (error === null || error === undefined) request.log.info(line, 'request');
    else request.log.error({ ...line, err: error }, 'request');
  }
}
