/**
 * GET /v1/channels/{name}/messages/stream: the messages of a channel as they are posted, as
 * Server-Sent Events (docs/API-V1.md "Live messages"). Each event's `id` is the message id and
 * its `data` the message as the list shows it, `last_modified` included (a message announced
 * without it, by an older Messages instance, is fetched with Messages.Retrieve instead).
 *
 * - At connect, Messages.Last with the caller's session checks the session and the channel (401,
 *   404 in the error body, before any event) and gives the id the stream starts after; with
 *   `Last-Event-ID` (or `_since`) it starts after that id instead, replaying what is retained.
 * - The gateway follows one Messages `Stream` per channel, whatever the number of its clients
 *   (lib/messages-feed.ts), fed by every Messages instance; a client whose next message is not
 *   the one it is handed (posts through two instances may arrive out of order) fetches the gap
 *   with Messages.Retrieve first, so each client gets every id once, in order.
 * - Every `heartbeatMs` (AGORA_SSE_HEARTBEAT_MS) each client asks Messages.Last again with its
 *   session, then sends a heartbeat comment: that is how a logoff (or an idle expiry) ends the
 *   stream, with an `end` event carrying the 401 error body, within one interval; Messages
 *   answers from its session cache, which auth's Watch keeps coherent, so the check costs no
 *   store read of the session. A message the live feed missed is fetched at that check too.
 *   A channel the caller may no longer read (its permissions changed, docs/API-V1.md
 *   "Permissions") answers that check 404, which ends the stream the same way.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError, isAgoraError } from '../../lib/errors';
import type { FeedListener, FeedMessage, MessageFeeds } from '../../lib/messages-feed';
import { renderCliquet, toProblem } from '../errors';
import { BEARER_HEADERS, requireSession } from '../hooks/auth';
import { authed, callBus, errorResponses, v1ValidatorCompiler, type Rec, type V1Options } from './scope';

export interface StreamOptions extends Pick<V1Options, 'bus' | 'timeoutMs'> {
  /** The Messages streams this gateway follows (lib/messages-feed.ts); without it the route answers 503. */
  feeds?: Pick<MessageFeeds, 'listen'>;
  heartbeatMs: number;
}

const SAFE = Number.MAX_SAFE_INTEGER;

/** What a check answers that ends a stream: the session is gone, or the channel is no longer readable. */
const ENDING: ReadonlySet<string> = new Set(['AGORA_ERR_AUTH_BAD_SESSION', 'AGORA_ERR_CHANNEL_NOT_FOUND']);

/** Bytes a client may leave unread before its stream is ended (it reconnects with Last-Event-ID). */
export const MAX_UNSENT_BYTES = 1 << 20;

/** What an EventSource waits before reconnecting, ms (the `retry` field). */
const RETRY_MS = 3000;

type Msg = FeedMessage;

/** One open stream: its cursor (the last id sent) and its work, done one task at a time. */
class StreamClient implements FeedListener {
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  leave: () => void = () => undefined;

  constructor(
    private readonly options: StreamOptions,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly channel: string,
    private cursor: number,
    private readonly clients: Set<StreamClient>,
  ) {}

  start(): void {
    this.clients.add(this);
    this.reply.raw.on('close', () => this.end());
    if (this.request.raw.socket.destroyed) return this.end();
    this.timer = setInterval(() => this.enqueue(() => this.check()), this.options.heartbeatMs);
    // Whatever was posted between the session check and the feed's hello, and the replay.
    this.catchUp();
  }

  message(m: Msg): void {
    this.enqueue(async () => {
      if (m.messageid <= this.cursor) return;
      if (m.messageid === this.cursor + 1 && m.last_modified > 0) this.send(m);
      else await this.fetch();
    });
  }

  catchUp(): void {
    this.enqueue(() => this.fetch());
  }

  /** End the stream, with an `end` event carrying `err`'s error body when given. */
  end(err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.clients.delete(this);
    this.leave();
    const raw = this.reply.raw;
    if (err !== undefined && !raw.destroyed)
      raw.write(`event: end\ndata: ${JSON.stringify(renderCliquet(toProblem(err)))}\n\n`);
    raw.end();
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.chain = this.chain
      .then(async () => {
        if (!this.closed) await task();
      })
      .catch((err: unknown) => {
        if (isAgoraError(err) && ENDING.has(err.code)) return this.end(err);
        // Anything else (a timeout, an outage) is tried again at the next heartbeat.
        this.request.log.warn({ err, channel: this.channel }, 'message stream: catch-up failed');
      });
  }

  private async fetch(): Promise<void> {
    const r = await callBus(
      this.options,
      this.request,
      'Messages',
      'Retrieve',
      { sesskey: this.request.sesskey, channel: this.channel, first: this.cursor + 1, last: SAFE },
      true,
    );
    for (const m of Array.isArray(r.messages) ? (r.messages as Rec[]) : []) {
      const msg = {
        messageid: Number(m.messageid),
        username: String(m.username),
        message: String(m.message),
        last_modified: Number(m.last_modified),
      };
      if (msg.messageid > this.cursor) this.send(msg);
    }
  }

  /** The session (and channel) still good, and nothing missed; then the heartbeat. */
  private async check(): Promise<void> {
    const last = await lastId(this.options, this.request, this.channel);
    if (last > this.cursor) await this.fetch();
    this.write(': heartbeat\n\n');
  }

  private send(m: Msg): void {
    this.cursor = m.messageid;
    this.write(`id: ${m.messageid}\ndata: ${JSON.stringify(m)}\n\n`);
  }

  private write(text: string): void {
    const raw = this.reply.raw;
    if (this.closed || raw.destroyed) return;
    if (raw.writableLength > MAX_UNSENT_BYTES) {
      this.request.log.warn({ channel: this.channel }, 'message stream: client too far behind; ended');
      return this.end();
    }
    raw.write(text);
  }
}

async function lastId(options: StreamOptions, request: FastifyRequest, channel: string): Promise<number> {
  const r = await callBus(options, request, 'Messages', 'Last', { sesskey: request.sesskey, channel }, true);
  return Number(r.messageid);
}

/** The id a client resumes after: `Last-Event-ID` (an EventSource's reconnect), else `_since`. */
function resumeFrom(request: FastifyRequest): number | undefined {
  const given = request.headers['last-event-id'];
  const header = Array.isArray(given) ? given.join(',') : given;
  if (header !== undefined && header !== '') {
    if (!/^\d{1,16}$/.test(header) || !Number.isSafeInteger(Number(header)))
      throw new AgoraError('AGORA_ERR_HTTP_INVALID_PARAMS', ['Last-Event-ID must be a message id'], {
        data: { details: [{ location: 'headers', name: 'last-event-id', description: 'must be a message id' }] },
      });
    return Number(header);
  }
  return (request.query as { _since?: number })._since;
}

export const streamRoutes: FastifyPluginAsync<StreamOptions> = async (app, options) => {
  // The /v1 validator (coerced query strings), without the scope's Accept check: an SSE client
  // asks for text/event-stream.
  app.setValidatorCompiler(v1ValidatorCompiler);
  const clients = new Set<StreamClient>();
  // Open streams would hold the server's close forever: they end first (clients reconnect elsewhere).
  app.addHook('preClose', (done) => {
    for (const client of [...clients]) client.end();
    done();
  });

  app.get(
    '/channels/:name/messages/stream',
    {
      onRequest: requireSession,
      schema: authed('messages', {
        summary: 'The messages of a channel as they are posted (Server-Sent Events)',
        description:
          'text/event-stream: `id` the message id, `data` the message as listed; `Last-Event-ID` or `_since` resumes after an id.',
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { _since: { type: 'integer', minimum: 0, maximum: SAFE } },
        },
        // A stream has no version to compare: the Bearer key and Last-Event-ID, not the conditional headers.
        headers: {
          type: 'object',
          properties: {
            ...BEARER_HEADERS.properties,
            'last-event-id': { type: 'string', description: 'The id of the last message received: resume after it' },
          },
        },
        response: { ...errorResponses(404) },
      }),
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const resume = resumeFrom(request);
      const last = await lastId(options, request, name);
      if (options.feeds === undefined) throw new AgoraError('AGORA_ERR_RPC_UNAVAILABLE', ['Messages (its stream)']);
      const client = new StreamClient(options, request, reply, name, Math.min(resume ?? last, last), clients);
      client.leave = await options.feeds.listen(name, client);
      reply.hijack();
      const headers: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
      reply.raw.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      });
      reply.raw.write(`retry: ${RETRY_MS}\n\n`);
      client.start();
    },
  );
};
