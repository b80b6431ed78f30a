/**
 * The request head the proxy sends a target: the client's method, path and end-to-end
 * header fields (hop-by-hop ones removed, RFC 9110 §7.6.1), then `X-Forwarded-For`,
 * `-Proto` and `-Host` and the request id (docs/ARCHITECTURE.md "Logs and request ids").
 * The client's `X-Forwarded-*` are kept (and For appended to) only from a trusted front
 * (AGORA_PROXY_TRUST_FORWARDED); otherwise the proxy states what it saw itself.
 */
import type { IncomingMessage } from 'node:http';
import { requestIdOf } from '../../lib/request-id';

/** How a request's body goes to the target. */
export type BodyMode = 'none' | 'length' | 'chunked';

/** The request id of `req`, as the gateway names it (lib/request-id.ts). */
export { requestIdOf };

/** What was said to the proxy about the original request (its own view, or a trusted front's). */
export interface Forwarded {
  /** `http` or `https`. */
  proto: string;
  /** The Host the client asked for. */
  host: string;
  /** The X-Forwarded-For to send. */
  for: string;
}

/** The original request's scheme, host and client chain, as far as the proxy may believe them. */
export function forwardedOf(req: IncomingMessage, trust: boolean): Forwarded {
  const peer = req.socket.remoteAddress ?? '';
  const host = req.headers.host ?? '';
  if (!trust) return { proto: 'http', host, for: peer };
  const proto = firstValue(req.headers['x-forwarded-proto']);
  const given = req.headers['x-forwarded-for'];
  return {
    proto: proto === 'https' ? 'https' : 'http',
    host: firstValue(req.headers['x-forwarded-host']) || host,
    for: typeof given === 'string' && given !== '' ? `${given}, ${peer}` : peer,
  };
}

function firstValue(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return '';
  const comma = s.indexOf(',');
  return (comma < 0 ? s : s.slice(0, comma)).trim().toLowerCase();
}

/** Fields never copied from the client: hop-by-hop ones, and those the proxy writes itself. */
const DROPPED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  // Node has already answered `Expect: 100-continue` to the client.
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/** How the body of `req` travels: node has decoded any chunked coding, so it is framed again. */
export function bodyModeOf(req: IncomingMessage): BodyMode {
  if (req.headers['transfer-encoding'] !== undefined) return 'chunked';
  const length = req.headers['content-length'];
  return length === undefined || length === '0' ? 'none' : 'length';
}

export interface HeadOptions {
  /** The request target to send (path and query). */
  path: string;
  /** The Host header to send. */
  host: string;
  forwarded: Forwarded;
  requestId: string;
  body: BodyMode;
  /** Keep `Connection: upgrade` and `Upgrade` (a WebSocket handshake). */
  upgrade?: boolean;
}

/** The request head (request line, fields, empty line) to write, as a latin1 string. */
export function requestHead(req: IncomingMessage, options: HeadOptions): string {
  const raw = req.rawHeaders;
  const named = connectionTokens(req.headers.connection);
  let head = `${req.method} ${options.path} HTTP/1.1\r\nHost: ${options.host}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (DROPPED.has(lower) || (named !== undefined && named.has(lower))) continue;
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  const f = options.forwarded;
  head += `X-Forwarded-For: ${f.for}\r\nX-Forwarded-Proto: ${f.proto}\r\nX-Forwarded-Host: ${f.host}\r\n`;
  head += `X-Request-Id: ${options.requestId}\r\n`;
  if (options.body === 'chunked') head += 'Transfer-Encoding: chunked\r\n';
  if (options.upgrade === true) head += `Connection: upgrade\r\nUpgrade: ${req.headers.upgrade ?? ''}\r\n`;
  return `${head}\r\n`;
}

/** Other fields the client's Connection header names (hop-by-hop too), if any. */
function connectionTokens(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  const lower = connection.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return undefined;
  const tokens = new Set<string>();
  for (const t of lower.split(',')) {
    const token = t.trim();
    if (token !== '' && token !== 'keep-alive' && token !== 'close' && token !== 'upgrade') tokens.add(token);
  }
  return tokens.size === 0 ? undefined : tokens;
}
