/**
 * What the proxy answers by itself: failures in the /v1 error body of docs/ERRORS.md
 * (`{code, errno, error, message, info?}`, numbers from lib/errors.ts's registry), the page
 * a browser gets while its node wakes up, and redirects. Every answer carries the request id.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { AgoraError } from '../../lib/errors';
import { errorBody as renderErrorBody } from '../../lib/error-body';

/** The /v1 error body of `err`. */
export function errorBody(err: AgoraError, info?: string): string {
  return JSON.stringify(renderErrorBody({ status: err.status, errno: err.errno, message: err.message, info }));
}

/** Answer `err`; a 503 says when to retry. A response already begun is cut instead. */
export function sendError(res: ServerResponse, err: AgoraError, requestId: string, retryAfterS: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(err);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  if (err.status === 503) headers['retry-after'] = retryAfterS;
  res.writeHead(err.status, headers).end(body);
}

/** The same failure as raw HTTP/1.1 bytes, for a socket taken over by an upgrade. */
export function rawError(err: AgoraError, requestId: string, retryAfterS: number): string {
  const body = errorBody(err);
  const retry = err.status === 503 ? `Retry-After: ${retryAfterS}\r\n` : '';
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nX-Request-Id: ${requestId}\r\n${retry}Connection: close\r\n\r\n${body}`
  );
}

/** A redirect as raw HTTP/1.1 bytes, for a socket taken over by an upgrade. */
export function rawRedirect(status: number, location: string, requestId: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Redirect'}\r\nLocation: ${location}\r\n` +
    `Content-Length: 0\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`
  );
}

/** A redirect to `location` (307: same method and body; 301/308 for HTTPS). */
export function sendRedirect(res: ServerResponse, status: number, location: string, requestId: string): void {
  const body = `Redirecting to ${location}\n`;
  res
    .writeHead(status, {
      location,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
    })
    .end(body);
}

/** Whether the client is a browser that would rather see a page than wait (its Accept names text/html). */
export function wantsPage(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * The page a browser gets while its node wakes: 503 with `Retry-After` and `Refresh`, so
 * the browser asks again by itself and lands on the node once it answers.
 */
export function sendWakingPage(res: ServerResponse, host: string, refreshS: number, requestId: string): void {
  const name = escapeHtml(host);
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshS}">
<title>${name} is waking up</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:20vh auto;max-width:32em;text-align:center;color:#333}</style>
</head>
<body>
<h1>${name} is waking up</h1>
<p>This node was stopped and is starting now. This page reloads every ${refreshS} seconds until it answers.</p>
</body>
</html>
`;
  res
    .writeHead(503, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'retry-after': String(refreshS),
      refresh: String(refreshS),
      'x-request-id': requestId,
    })
    .end(body);
}
