/**
 * The machinery services/proxy does not use, kept for bench/proxy.ts to measure beside it:
 * a reverse proxy forwarding every request to one target (TARGET_PORT) through node's
 * `http.request` with a keep-alive `http.Agent`, bodies piped both ways, hop-by-hop fields
 * dropped and the same forwarded fields and request id added. It prints the usual ready line.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOP_BY_HOP } from '../services/proxy/response-parser';

const target = Number(process.env.TARGET_PORT);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

/** `[name, value, …]` without hop-by-hop fields and those named in `drop`. */
function endToEnd(raw: readonly string[], drop: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !drop.has(lower)) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

const OURS: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);
const NONE: ReadonlySet<string> = new Set();

const server = http.createServer((req, res) => {
  const headers = endToEnd(req.rawHeaders, OURS);
  const id = randomUUID();
  headers.push('X-Forwarded-For', req.socket.remoteAddress ?? '', 'X-Forwarded-Proto', 'http');
  headers.push('X-Forwarded-Host', req.headers.host ?? '', 'X-Request-Id', id);
  const upstream = http.request(
    { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers, agent, setHost: false },
    (answer) => {
      const out = endToEnd(answer.rawHeaders, NONE);
      out.push('X-Request-Id', id);
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
  });
  req.pipe(upstream);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, endpoints: { http: `http://127.0.0.1:${port}` } })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
