/**
 * Clients that send too slowly, or too much. Two bounds on what a connection may cost:
 * - a whole request, headers and body, must arrive within AGORA_HTTP_REQUEST_TIMEOUT_MS
 *   (Node's `requestTimeout`); past it the client gets 408 in the Cliquet body
 *   (docs/ERRORS.md) and the connection is closed;
 * - an answer given before the request's body has all arrived (a 413 for a body over the
 *   limit, a 401 before the body is read) closes the connection only after reading and
 *   discarding the rest of the body, bounded in bytes and time, as nginx's lingering close
 *   does: closing a socket with unread data sends a TCP reset, which can destroy the answer
 *   before the client has read it.
 */
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import { renderCliquet, toProblem } from '../errors';

/** How long and how much a connection answered early may still send before it is closed. */
export interface LingerBounds {
  maxBytes: number;
  maxMs: number;
}

/** The `http` options of the server: its timeouts are checked this often, so a small one applies on time. */
export function serverTimeouts(requestTimeoutMs: number): ServerOptions {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(60_000, requestTimeoutMs),
    connectionsCheckingInterval: Math.min(30_000, Math.max(10, Math.floor(requestTimeoutMs / 4))),
  };
}

/**
 * Fastify's `clientErrorHandler`: a request not received in time gets 408, any other
 * failure to read one (a malformed request line, headers too large) its status; always the
 * Cliquet body, then a lingering close.
 */
export function clientErrorHandler(requestTimeoutMs: number, bounds: LingerBounds) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const problem =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? toProblem(new AgoraError('AGORA_ERR_HTTP_REQUEST_TIMEOUT', [requestTimeoutMs]))
        : { status, errno: 107, code: err.code ?? 'HPE', message: STATUS_CODES[status] ?? 'Bad Request' };
    const body = JSON.stringify(renderCliquet({ ...problem, unavailable: false }));
    // Nothing was answered on this connection yet (Node reports a client error only then):
    // the raw answer is the only one it gets.
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\nConnection: close\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    lingerThenClose(socket, bounds);
  };
}

/**
 * Close `socket` after what was written to it: send FIN at once, then read and discard
 * what the client still sends until it closes too, or `maxBytes` or `maxMs` pass.
 */
export function lingerThenClose(socket: Socket, bounds: LingerBounds): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  // Node's HTTP parser may read the socket natively, without 'data' events: count bytesRead.
  const until = socket.bytesRead + bounds.maxBytes;
  const timer = setTimeout(() => socket.destroy(), bounds.maxMs);
  const poll = setInterval(() => {
    if (socket.bytesRead > until) socket.destroy();
  }, LINGER_POLL_MS);
  timer.unref();
  poll.unref();
  socket.once('close', () => {
    clearTimeout(timer);
    clearInterval(poll);
  });
  socket.on('error', () => socket.destroy());
  socket.end();
  socket.resume();
}

/** The sockets closing by lingerThenClose (a timed-out request is reported again at each check). */
const lingering = new WeakSet<Socket>();
const LINGER_POLL_MS = 50;

/**
 * Every answer sent before its request's body has all arrived says `Connection: close` and
 * closes the connection by `lingerThenClose` instead of Node's immediate `destroySoon`.
 */
export const lingeringClose = fp<LingerBounds>(
  async (app: FastifyInstance, bounds) => {
    app.addHook('onSend', (request, reply, payload, done) => {
      const raw = request.raw;
      if (!raw.complete && !raw.socket.destroyed) {
        void reply.header('connection', 'close');
        const socket = raw.socket;
        // Node closes the connection of an answer saying `Connection: close` with destroySoon.
        socket.destroySoon = () => lingerThenClose(socket, bounds);
      }
      done(null, payload);
    });
  },
  { name: 'agora-lingering-close' },
);
