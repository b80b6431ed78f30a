/**
 * What a storage outage may tell the caller. The driver's own message names the backend's
 * address ("connect ECONNREFUSED 10.0.0.5:5432") or its internals; an answer must not carry
 * either (docs/ARCHITECTURE.md "One error registry"), so the reason shown is one of a few
 * fixed phrases, and the driver's error stays the AgoraError's `cause`, for logs only.
 */
import { AgoraError } from '../errors';

/** A fixed phrase for why a backend could not be used: never an address, a path or a driver's text. */
export function outageReason(e: unknown): string {
  const err = (e ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === '57014') return 'statement timed out';
  if (code === '53300') return 'too many connections';
  if (/^57P0[1-3]$/.test(code)) return 'server shutting down or starting';
  if (/^08/.test(code) || code === 'ECONNRESET' || code === 'EPIPE') return 'connection lost';
  if (code === 'ETIMEDOUT' || /timeout|timed out/i.test(message)) return 'timed out';
  if (/terminated|closed|ended|not queryable|Connection is closed/i.test(message)) return 'connection lost';
  return 'connection failed';
}

/** AGORA_ERR_STORE_UNAVAILABLE for `backend`, with a reason safe to show. */
export function unavailable(backend: string, e: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_STORE_UNAVAILABLE', [backend, outageReason(e)], { cause: e });
}

/**
 * AGORA_ERR_STORE_OUTCOME_UNKNOWN for `backend`: a write was sent and its answer lost, so it
 * may or may not have been applied; the caller must read before it writes again.
 */
export function outcomeUnknown(backend: string, e: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_STORE_OUTCOME_UNKNOWN', [backend], { cause: e });
}
