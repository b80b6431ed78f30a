/**
 * One request forwarded to a target and its response streamed back: bodies flow both ways
 * chunk by chunk with backpressure (a full socket pauses the other side), never held whole.
 * A connection found closed by the target before it answered a body-less request (the
 * keep-alive race) is retried once on a new connection; any other failure before the
 * response head is a 502 or 504, and after it the client's response is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgoraError } from '../../lib/errors';
import type { BodyMode } from './headers';
import type { ResponseHead } from './response-parser';
import type { Connection, Stage, UpstreamUser, Upstreams } from './upstream';

export interface ForwardSpec {
  host: string;
  port: number;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** The request head to write (headers.ts). */
  head: string;
  body: BodyMode;
  requestId: string;
  /** The route's source, named in errors. */
  label: string;
  /**
   * A body-less request whose target refused or dropped it before answering anything (a node
   * that stopped or moved): answers true when it takes the request over (to wake the node and
   * send it there), false to answer 502 as usual.
   */
  onLost?: () => boolean;
}

/** How a forward that failed before its response began is answered. */
export type FailAnswer = (err: AgoraError) => void;

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

/** Forward `req` as `spec` says and stream the answer into `res`. */
export function forward(
  upstreams: Upstreams,
  req: IncomingMessage,
  res: ServerResponse,
  spec: ForwardSpec,
  fail: FailAnswer,
): void {
  new Forward(upstreams, req, res, spec, fail).start();
}

class Forward implements UpstreamUser {
  private conn: Connection | undefined;
  private done = false;
  private retried = false;
  private bodySent: boolean;
  private keepAliveMs: number | undefined;
  /** Resumes reading the target once the client has drained (made at the first backpressure). */
  private resume: (() => void) | undefined;

  constructor(
    private readonly upstreams: Upstreams,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly spec: ForwardSpec,
    private readonly fail: FailAnswer,
  ) {
    this.bodySent = spec.body === 'none';
  }

  start(): void {
    this.connect();
    this.res.on('close', () => this.clientGone());
    if (this.spec.body !== 'none') this.pumpBody();
  }

  /** Take a connection (a new one for a retry) and send the head. */
  private connect(fresh = false): void {
    const { spec } = this;
    const conn = this.upstreams.pool(spec.host, spec.port).acquire(spec.connectTimeoutMs, fresh);
    this.conn = conn;
    conn.attach(this, spec.readTimeoutMs, this.req.method === 'HEAD');
    conn.socket.write(spec.head, 'latin1');
  }

  /** The request body, as it arrives, to the connection; a full socket pauses the client. */
  private pumpBody(): void {
    const chunked = this.spec.body === 'chunked';
    this.req.on('data', (chunk: Buffer) => {
      const socket = this.conn?.socket;
      if (socket === undefined || this.done) return;
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}${CRLF}`, 'latin1');
        socket.write(chunk);
        ok = socket.write(CRLF, 'latin1');
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) this.req.pause();
    });
    this.req.on('end', () => {
      this.bodySent = true;
      if (chunked && !this.done) this.conn?.socket.write(LAST_CHUNK, 'latin1');
    });
  }

  onDrain(): void {
    if (this.req.isPaused()) this.req.resume();
  }

  onHead(head: ResponseHead): void {
    this.keepAliveMs = head.keepAliveMs;
    const headers = head.headers;
    if (!head.requestId) headers.push('X-Request-Id', this.spec.requestId);
    try {
      if (head.reason === '') this.res.writeHead(head.status, headers);
      else this.res.writeHead(head.status, head.reason, headers);
    } catch {
      // Node refuses fields it would not send (characters outside the field grammar).
      const conn = this.conn!;
      this.conn = undefined;
      conn.abort();
      this.answer(new AgoraError('AGORA_ERR_PROXY_TARGET_FAILED', [this.spec.label, 'an invalid header field']));
    }
  }

  /**
   * A full client socket pauses the target's. Its read timeout keeps running meanwhile, so a
   * client that stops reading for that long loses the response (as nginx's send_timeout does).
   */
  onBody(chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      this.conn?.socket.pause();
      this.resume ??= (): void => void this.conn?.socket.resume();
      this.res.once('drain', this.resume);
    }
  }

  onEnd(reusable: boolean, last?: Buffer): void {
    this.done = true;
    const conn = this.conn!;
    this.conn = undefined;
    if (this.resume !== undefined) this.res.removeListener('drain', this.resume);
    conn.release(reusable && this.bodySent, this.keepAliveMs);
    this.res.end(last);
    this.discardBody();
  }

  /** A response that ends before the request's body: the rest of the body is read and dropped. */
  private discardBody(): void {
    if (!this.bodySent && this.req.isPaused()) this.req.resume();
  }

  onBroken(reason: string, stage: Stage): void {
    const conn = this.conn;
    this.conn = undefined;
    // A kept connection the target had already closed: the request never reached it.
    if (stage === 'answer' && conn?.reused === true && !conn.received && this.spec.body === 'none' && !this.retried) {
      this.retried = true;
      this.connect(true);
      return;
    }
    const unanswered = stage === 'connect' || (stage === 'answer' && conn?.received !== true);
    if (unanswered && this.spec.body === 'none' && !this.res.headersSent && this.spec.onLost?.() === true) {
      this.done = true;
      return;
    }
    const why = stage === 'connect' ? `connection failed (${reason})` : reason;
    this.answer(new AgoraError('AGORA_ERR_PROXY_TARGET_FAILED', [this.spec.label, why]));
  }

  onTimeout(stage: Stage): void {
    this.conn = undefined;
    const ms = stage === 'connect' ? this.spec.connectTimeoutMs : this.spec.readTimeoutMs;
    const what = stage === 'connect' ? 'accept the connection' : stage === 'answer' ? 'answer' : 'send its body';
    this.answer(new AgoraError('AGORA_ERR_PROXY_TARGET_TIMEOUT', [this.spec.label, what, ms]));
  }

  /** A failure: an error answer while nothing was sent, else the response is cut. */
  private answer(err: AgoraError): void {
    if (this.done) return;
    this.done = true;
    if (this.res.headersSent) this.res.destroy();
    else this.fail(err);
    this.discardBody();
  }

  /** The client closed before the response was complete: so does the target's connection. */
  private clientGone(): void {
    if (this.done) return;
    this.done = true;
    const conn = this.conn;
    this.conn = undefined;
    conn?.abort();
  }
}
