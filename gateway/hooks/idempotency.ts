/**
 * `Idempotency-Key` on the POSTs under /v1 (docs/API-V1.md "Idempotency-Key"; the IETF draft
 * "The Idempotency-Key HTTP Header Field", as Stripe serves it): the first request with a key runs,
 * and its final answer is kept (lib/store IdempotencyStore, in the configured backend, so every
 * gateway sees it); the same request again with that key gets that answer again, byte for byte,
 * with `Idempotent-Replayed: true`, without running again. Edge work, like the rate limit: the
 * gateway replays an HTTP answer it has seen and never learns what the request did
 * (docs/ARCHITECTURE.md "The gateway holds no logic").
 *
 * - A key is scoped by the caller's username (Auth.Resolve of the request's session): the same key
 *   from two users is two keys. A POST that runs no authentication takes no key, nor does a route
 *   whose config says why not (`noIdempotency`): both answer 400 to one.
 * - The request's fingerprint is its method, path with query string, and body; the same key with
 *   another fingerprint answers 422, and a key whose first request is still running 409 with
 *   Retry-After (the draft's answers).
 * - The first request claims the key for a lease (LEASE_CALLS bus deadlines); its answer is kept
 *   AGORA_IDEMPOTENCY_TTL_S when its status is below 500, and otherwise the claim is released, so
 *   that a retry runs again and gets a real outcome (a 5xx, AGORA_ERR_STORE_OUTCOME_UNKNOWN
 *   included, is no final answer). A post of a message also hands its key to Messages, whose
 *   store records it with the message (gateway/v1/messages.ts): that retry posts nothing twice.
 * - A request without the header costs one header lookup: no store call, no bus call.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { BusCaller } from '../../lib/bus/client';
import type { Config } from '../../lib/config';
import { AgoraError } from '../../lib/errors';
import type { IdempotencyStore, IdempotentResponse } from '../../lib/store/contracts';
import { httpError } from '../errors';
import { addStatuses, answersMethod } from '../ops/statuses';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Why this POST under /v1 takes no Idempotency-Key (it answers 400 to one). */
    noIdempotency?: string;
  }
}

/** The request header (lower case, as Node gives it). */
export const KEY_HEADER = 'idempotency-key';
/** The header that marks a replayed answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** The headers of an answer that are kept and replayed with its status and body. */
export const REPLAYED_HEADERS = ['content-type', 'location', 'etag'] as const;
/** A claim lasts this many bus deadlines (AGORA_REQUEST_TIMEOUT_MS): longer than any POST runs. */
export const LEASE_CALLS = 4;
/** Retry-After of a 409: the first request usually ends within a second. */
const RETRY_AFTER_S = 1;
/** A key: 1 to 255 visible ASCII characters. */
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** For Auth.Resolve: the caller's username. */
  bus: BusCaller;
  /**
   * How long an answer is kept (AGORA_IDEMPOTENCY_TTL_S); the deadline of a bus call, of which a
   * claim lasts LEASE_CALLS.
   */
  config: Pick<Config, 'idempotencyTtlS' | 'requestTimeoutMs'>;
  /** How often expired entries are removed from the store (default a minute); 0: never. */
  sweepMs?: number;
}

/** What a request that claimed its key holds until its answer is sent. */
interface Claim {
  scope: string;
  key: string;
  token: string;
}

/** 400 naming the header. */
function badKey(why: string): AgoraError {
  return httpError('AGORA_ERR_IDEMPOTENCY_KEY_INVALID', [why], {
    details: [{ location: 'headers', name: KEY_HEADER, description: why }],
  });
}

/**
 * The key an Idempotency-Key header names, or the error to answer: 1 to 255 visible ASCII
 * characters, bare (as Stripe's clients send it) or as the draft's Structured Field string
 * (`"…"`, with `\"` and `\\` escapes), the two forms naming the same key.
 */
export function parseKey(header: string | string[]): string | AgoraError {
  if (Array.isArray(header)) return badKey('the header is sent once');
  const value = header.trim();
  const quoted = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(value);
  const key = quoted === null ? value : quoted[1].replace(/\\(["\\])/g, '$1');
  if (!KEY.test(key)) return badKey('a key is 1 to 255 visible ASCII characters (no spaces)');
  return key;
}

/** The request's fingerprint: method, path with query string, and body (as parsed and validated). */
export function fingerprintOf(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
    .digest('hex');
}

export const idempotency = fp<IdempotencyOptions>(
  async (app, options) => {
    const claims = new WeakMap<FastifyRequest, Claim>();
    const ttlMs = options.config.idempotencyTtlS * 1000;
    const timeoutMs = options.config.requestTimeoutMs;
    const leaseMs = LEASE_CALLS * timeoutMs;

    /** preHandler: no header, nothing; else claim the key, or answer 409, 422, or the stored answer. */
    const begin = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      const header = request.headers[KEY_HEADER];
      if (header === undefined || request.method !== 'POST') return undefined;
      const key = parseKey(header);
      if (key instanceof AgoraError) throw key;
      const scope = await usernameOf(request);
      const fingerprint = fingerprintOf(request);
      const claim = await options.store.claim(scope, key, fingerprint, Date.now(), leaseMs);
      if (claim.state === 'claimed') {
        claims.set(request, { scope, key, token: claim.token });
        return undefined;
      }
      if (claim.fingerprint !== fingerprint)
        throw httpError('AGORA_ERR_IDEMPOTENCY_KEY_REUSED', ['method, path or body'], {
          details: [{ location: 'headers', name: KEY_HEADER, description: 'was first sent with another request' }],
        });
      if (claim.state === 'running') {
        reply.header('retry-after', String(RETRY_AFTER_S));
        throw new AgoraError('AGORA_ERR_IDEMPOTENCY_KEY_IN_USE', [RETRY_AFTER_S]);
      }
      return replay(reply, claim.response);
    };

    /** The username of the request's session, which scopes its keys. */
    const usernameOf = async (request: FastifyRequest): Promise<string> => {
      if (request.sesskey === 0)
        throw new AgoraError('AGORA_ERR_IDEMPOTENCY_NOT_TAKEN', [
          path(request),
          'keys are kept per user, and it names none',
        ]);
      const who = (await options.bus.call('Auth', 'Resolve', [{ sesskey: request.sesskey }], {
        deadline: Date.now() + timeoutMs,
        reqId: request.id,
        idempotent: true,
      })) as { username?: unknown } | null;
      if (typeof who?.username !== 'string' || who.username === '')
        throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', ['Auth.Resolve']);
      return who.username;
    };

    /** onSend: keep the answer of a request that claimed its key (below 500), or give the claim up. */
    const finish = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      const claim = claims.get(request);
      if (claim === undefined) return payload;
      claims.delete(request);
      const { scope, key, token } = claim;
      // A 5xx is no final answer (nor is a body streamed, which is not kept): the key is freed for a retry.
      const keep = reply.statusCode < 500 && (payload === null || payload === undefined || typeof payload === 'string');
      try {
        if (!keep) await options.store.release(scope, key, token);
        else if (!(await options.store.complete(scope, key, token, answerOf(reply, payload), Date.now(), ttlMs)))
          request.log.warn('the claim of an Idempotency-Key ran out before its answer: the answer is not kept');
      } catch (err) {
        // The answer still goes out; the key stays claimed until its lease ends (docs/API-V1.md "Idempotency-Key").
        const what = keep ? 'the answer of an Idempotency-Key could not be kept' : 'an Idempotency-Key was not freed';
        request.log.warn({ err }, what);
      }
      return payload;
    };

    app.addHook('onRoute', (route) => {
      if (!answersMethod(route, 'POST') || !route.url.startsWith('/v1/')) return;
      const why = route.config?.noIdempotency;
      if (why !== undefined) {
        route.preHandler = [...hooks(route.preHandler), refuse(why)];
        return;
      }
      route.preHandler = [...hooks(route.preHandler), begin];
      route.onSend = [...hooks(route.onSend), finish];
      addStatuses(route, [409, 422]);
      declareHeader(route);
    });

    const sweepMs = options.sweepMs ?? 60_000;
    if (sweepMs > 0) {
      const timer = setInterval(() => {
        options.store.prune(Date.now()).catch((err: unknown) => app.log.warn({ err }, 'idempotency sweep failed'));
      }, sweepMs).unref();
      app.addHook('onClose', (_app, done) => {
        clearInterval(timer);
        done();
      });
    }
  },
  { name: 'agora-idempotency' },
);

/** What is kept of an answer: its status, the headers replayed, its body as sent. */
function answerOf(reply: FastifyReply, payload: string | null | undefined): IdempotentResponse {
  const response: IdempotentResponse = { status: reply.statusCode, headers: {}, body: payload ?? '' };
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) response.headers[name] = String(value);
  }
  return response;
}

/** The stored answer, as it was, marked as replayed. */
function replay(reply: FastifyReply, response: IdempotentResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  reply.header(REPLAYED_HEADER, 'true');
  return reply.send(response.body);
}

/** preHandler of a POST that takes no key: 400 when one is sent. */
function refuse(why: string) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.headers[KEY_HEADER] !== undefined && request.method === 'POST')
      throw new AgoraError('AGORA_ERR_IDEMPOTENCY_NOT_TAKEN', [path(request), why]);
  };
}

/** `POST /v1/…` as the route names it. */
function path(request: FastifyRequest): string {
  return `POST ${request.routeOptions.url ?? request.url}`;
}

/**
 * The header in the route's schema, for the OpenAPI document: a string, checked by `parseKey` (a
 * schema check would answer another error). A new schema object: schemas may be shared by routes.
 */
function declareHeader(route: RouteOptions): void {
  type Headers = { type?: string; properties?: Record<string, unknown> };
  const schema = route.schema as ({ headers?: Headers } & object) | undefined;
  if (schema === undefined) return;
  const headers: Headers = schema.headers ?? { type: 'object' };
  const description =
    'Any 1 to 255 visible ASCII characters, new for each operation: the same request again with it answers ' +
    'the first answer, without running again (docs/API-V1.md "Idempotency-Key")';
  route.schema = {
    ...schema,
    headers: { ...headers, properties: { ...headers.properties, [KEY_HEADER]: { type: 'string', description } } },
  };
}

/** A route's hooks of one kind as an array. */
function hooks<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
