/**
 * Bearer authentication of the /v1 routes (RFC 6750): `Authorization: Bearer <session key>`,
 * the key that `POST /v1/sessions` answered. The hook only reads the key; whether it is a
 * live session is the called service's to say (every service method takes `sesskey` and
 * answers AGORA_ERR_AUTH_BAD_SESSION), so no extra call is made per request
 * (docs/ARCHITECTURE.md "Slow hops off the hot path"). Every 401 carries `WWW-Authenticate`
 * (gateway/errors.ts).
 *
 * Use: `app.get(url, { onRequest: requireSession, schema: { headers: BEARER_HEADERS } }, …)`,
 * then read `request.sesskey`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { httpError } from '../errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** The session key of an authenticated /v1 request (0 until requireSession has run). */
    sesskey: number;
  }
}

/** A session key as text: digits, no leading zero, at most 2^53−1. */
const KEY = /^[1-9][0-9]{0,15}$/;

/** The header's schema, for the OpenAPI document (the hook does the checking). */
export const BEARER_HEADERS = {
  type: 'object',
  properties: { authorization: { type: 'string', description: 'Bearer <session key> (from POST /v1/sessions)' } },
} as const;

/** The key in an Authorization header, or the error to answer. */
export function parseBearer(header: string | undefined): number | AgoraError {
  if (header === undefined || header.trim() === '') return new AgoraError('AGORA_ERR_HTTP_MISSING_AUTH');
  const [scheme, key, ...rest] = header.trim().split(/\s+/);
  const detail = (why: string): AgoraError =>
    httpError('AGORA_ERR_HTTP_BAD_AUTH', [why], {
      details: [{ location: 'headers', name: 'authorization', description: why }],
    });
  if (scheme.toLowerCase() !== 'bearer') return detail('the scheme must be Bearer');
  if (key === undefined || rest.length > 0 || !KEY.test(key) || !Number.isSafeInteger(Number(key))) {
    return detail('the credentials must be the numeric session key that POST /v1/sessions answered');
  }
  return Number(key);
}

/** onRequest hook: 401 unless the request carries a well-formed Bearer session key. */
export async function requireSession(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const key = parseBearer(request.headers.authorization);
  if (key instanceof AgoraError) throw key;
  request.sesskey = key;
}
