/**
 * Authentication of the /v1 routes, by the policies AGORA_AUTH_POLICIES lists:
 * - `session`: `Authorization: Bearer <session key>` (RFC 6750), the key `POST /v1/sessions`
 *   answered. The hook only reads the key; whether it is a live session is the called
 *   service's to say (every service method takes `sesskey` and answers
 *   AGORA_ERR_AUTH_BAD_SESSION), so no extra call is made per request (docs/ARCHITECTURE.md
 *   "Slow hops off the hot path").
 * - `basic`: `Authorization: Basic base64(username:password)` (RFC 7617), the same users.
 *   A credential is verified by an Auth.Logon (the client's address passed on, so Auth's
 *   throttling counts and locks out failed guesses as for any logon), and the session it
 *   opens serves every request with that header for AGORA_AUTH_BASIC_CACHE_S: the hot path
 *   is one SHA-256 of the header and a map lookup, never a scrypt. Concurrent first requests
 *   share one logon. An entry is dropped when a request with it answers 401 (the session
 *   ended) and after a logoff through it; when it expires, the next request logs on again
 *   and the replaced session is logged off.
 * Every 401 carries `WWW-Authenticate` (gateway/errors.ts).
 *
 * Use: `{ onRequest: requireSession }` on a route (v1/scope.ts sessionRoute), then read
 * `request.sesskey`; `app.authenticator` is decorated by gateway/app.ts.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { BusCaller } from '../../lib/bus/client';
import type { AuthPolicy } from '../../lib/config';
import { AgoraError } from '../../lib/errors';
import { httpError } from '../errors';
import { declaredHeaders } from '../ops/statuses';

declare module 'fastify' {
  interface FastifyRequest {
    /** The session key of an authenticated /v1 request (0 until requireSession has run). */
    sesskey: number;
  }
  interface FastifyInstance {
    /** Turns a request's Authorization into a session key, by the configured policies. */
    authenticator: Authenticator;
  }
}

/** A session key as text: digits, no leading zero, at most 2^53−1. */
const KEY = /^[1-9][0-9]{0,15}$/;

/** The header's schema, for the OpenAPI document (the hook does the checking). */
export const BEARER_HEADERS = {
  type: 'object',
  properties: {
    authorization: {
      type: 'string',
      description: 'Bearer <session key> (from POST /v1/sessions), or Basic <base64 of username:password>',
    },
  },
} as const;

function malformed(why: string): AgoraError {
  return httpError('AGORA_ERR_HTTP_BAD_AUTH', [why], {
    details: [{ location: 'headers', name: 'authorization', description: why }],
  });
}

/** The key of a Bearer Authorization header, or the error to answer. */
export function parseBearer(header: string | undefined): number | AgoraError {
  if (header === undefined || header.trim() === '') return new AgoraError('AGORA_ERR_HTTP_MISSING_AUTH');
  const [scheme, key, ...rest] = header.trim().split(/\s+/);
  if (scheme.toLowerCase() !== 'bearer') return malformed('the scheme must be Bearer');
  if (key === undefined || rest.length > 0 || !KEY.test(key) || !Number.isSafeInteger(Number(key))) {
    return malformed('the credentials must be the numeric session key that POST /v1/sessions answered');
  }
  return Number(key);
}

/** The username and password of a Basic Authorization header, or the error to answer. */
export function parseBasic(header: string): { username: string; password: string } | AgoraError {
  const [, encoded, ...rest] = header.trim().split(/\s+/);
  const why = 'Basic credentials must be the base64 of username:password';
  if (encoded === undefined || rest.length > 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return malformed(why);
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return malformed(why);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export interface AuthenticatorOptions {
  policies: readonly AuthPolicy[];
  bus: BusCaller;
  /** Deadline of a logon. */
  timeoutMs: number;
  /** How long a verified Basic credential is kept (0: not kept). */
  basicCacheS: number;
  /** Wall clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /**
   * How long a replaced session lives on before its logoff, so that requests still running on
   * it finish (default: twice the deadline of a call).
   */
  logoffDelayMs?: number;
}

interface Verified {
  sesskey: number;
  username: string;
  expires: number;
}

/** Most Basic credentials kept at once; beyond, the oldest go first. */
const CACHE_MAX = 10_000;

export class Authenticator {
  /** Verified Basic credentials by SHA-256 of the header, or the logon that verifies one. */
  private readonly basic = new Map<string, Verified | Promise<Verified>>();
  private readonly now: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether a policy is enabled. */
  allows(policy: AuthPolicy): boolean {
    return this.options.policies.includes(policy);
  }

  /** The session key a request's Authorization stands for, or the error to answer. */
  async sessionOf(request: FastifyRequest): Promise<number> {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') throw new AgoraError('AGORA_ERR_HTTP_MISSING_AUTH');
    const scheme = header.trim().split(/\s/, 1)[0].toLowerCase();
    if (scheme === 'basic' && this.allows('basic')) return (await this.verifyBasic(request, header)).sesskey;
    if (scheme === 'bearer' && this.allows('session')) {
      const key = parseBearer(header);
      if (key instanceof AgoraError) throw key;
      return key;
    }
    throw malformed(`the scheme must be ${this.schemes().join(' or ')}`);
  }

  /** Drop the cached credential of a request's header (its session ended or was refused). */
  forget(request: FastifyRequest): void {
    const header = request.headers.authorization;
    if (header !== undefined && /^\s*basic\s/i.test(header)) this.basic.delete(digest(header));
  }

  /** Credentials kept now (tests). */
  get cached(): number {
    return this.basic.size;
  }

  private schemes(): string[] {
    return this.options.policies.map((p) => (p === 'session' ? 'Bearer' : 'Basic'));
  }

  private async verifyBasic(request: FastifyRequest, header: string): Promise<Verified> {
    const id = digest(header);
    const known = this.basic.get(id);
    if (known !== undefined && (known instanceof Promise || known.expires > this.now())) return known;
    const credentials = parseBasic(header);
    if (credentials instanceof AgoraError) throw credentials;
    const pending = this.logon(request, credentials).then(
      (verified) => {
        if (this.basic.get(id) === pending) this.keep(id, verified);
        return verified;
      },
      (err: unknown) => {
        if (this.basic.get(id) === pending) this.basic.delete(id);
        throw err;
      },
    );
    this.basic.set(id, pending);
    // The session the expired entry held is replaced: end it rather than let it idle out.
    if (known !== undefined && !(known instanceof Promise)) this.logoff(request, known.sesskey);
    return pending;
  }

  private keep(id: string, verified: Verified): void {
    if (this.options.basicCacheS === 0) {
      this.basic.delete(id);
      return;
    }
    this.basic.delete(id);
    if (this.basic.size >= CACHE_MAX) this.basic.delete(this.basic.keys().next().value as string);
    this.basic.set(id, verified);
  }

  private async logon(request: FastifyRequest, credentials: { username: string; password: string }): Promise<Verified> {
    const reply = (await this.options.bus.call('Auth', 'Logon', [{ ...credentials, client_addr: request.ip }], {
      deadline: this.now() + this.options.timeoutMs,
      reqId: request.id,
      idempotent: false,
    })) as { sesskey?: unknown; username?: unknown } | null;
    const sesskey = Number(reply?.sesskey);
    if (!Number.isSafeInteger(sesskey) || sesskey <= 0) throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', ['Auth.Logon']);
    return {
      sesskey,
      username: String(reply?.username),
      expires: this.now() + this.options.basicCacheS * 1000,
    };
  }

  private logoff(request: FastifyRequest, sesskey: number): void {
    const run = (): void => {
      const options = { deadline: this.now() + this.options.timeoutMs, reqId: request.id, idempotent: false };
      this.options.bus.call('Auth', 'Logoff', [{ sesskey }], options).catch((err: unknown) => {
        request.log.debug({ err }, 'logoff of a replaced Basic session failed');
      });
    };
    const delay = this.options.logoffDelayMs ?? 2 * this.options.timeoutMs;
    if (delay <= 0) run();
    else setTimeout(run, delay).unref();
  }
}

function digest(header: string): string {
  return createHash('sha256').update(header.trim()).digest('base64url');
}

/**
 * What authentication answers on a route that runs requireSession or reads an Authorization
 * header (the hello): 401, and the answers of the bus call that checks the credentials (with
 * Basic, 429 of a throttled logon too).
 */
export function authStatuses(route: RouteOptions, policies: readonly AuthPolicy[]): number[] {
  const hooks = route.onRequest === undefined ? [] : [route.onRequest].flat();
  if (!hooks.includes(requireSession) && !declaredHeaders(route).includes('authorization')) return [];
  return [401, ...(policies.includes('basic') ? [429] : []), 502, 503, 504];
}

/** onRequest hook: 401 unless the request's Authorization stands for a session (by the configured policies). */
export async function requireSession(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  request.sesskey = await request.server.authenticator.sessionOf(request);
}
