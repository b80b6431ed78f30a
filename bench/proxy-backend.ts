/**
 * A target for the proxy's bench and tests, in its own process: a small node:http server
 * (keep-alive, node's defaults) that prints `{"ready":true,"endpoints":{"http":…}}` and
 * answers, with `X-Backend: $BACKEND_NAME` on every response:
 *   GET /              a short text (the bench's request)
 *   GET …/headers      {method, url, headers} of the request as it arrived
 *   POST /echo         the request body streamed back as it arrives (chunked)
 *   GET /bytes/<n>     n bytes, written as the socket drains (Content-Length n)
 *   GET /slow/<ms>     a short text after ms
 *   GET /stall         the head and 5 bytes of a 10-byte body, then nothing
 *   GET /drop          the connection closed without an answer
 *   POST /early        413 at once, before reading the body
 *   upgrade            a WebSocket echo (RFC 6455): each text or binary message sent back
 * PORT (default 0: any free port) and BACKEND_NAME (default "backend") configure it.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

const NAME = process.env.BACKEND_NAME ?? 'backend';
const HELLO = Buffer.from(`hello from ${NAME}\n`);
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function bytes(res: ServerResponse, total: number): void {
  const block = Buffer.alloc(64 * 1024, 'x');
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, 'x-backend': NAME });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url.split('?')[0].endsWith('/headers')) {
    const body = JSON.stringify({ method: req.method, url, headers: req.headers });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-backend': NAME,
    });
    return void res.end(body);
  }
  if (url === '/echo') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-backend': NAME });
    return void req.pipe(res);
  }
  if (url.startsWith('/bytes/')) return bytes(res, Number(url.slice(7)));
  if (url.startsWith('/slow/')) {
    setTimeout(
      () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length, 'x-backend': NAME });
        res.end(HELLO);
      },
      Number(url.slice(6)),
    );
    return;
  }
  if (url === '/stall') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10, 'x-backend': NAME });
    return void res.write('12345');
  }
  if (url === '/drop') return void req.socket.destroy();
  if (url === '/early') {
    res.writeHead(413, { 'content-type': 'text/plain', 'content-length': 9, 'x-backend': NAME });
    return void res.end('too much\n');
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length, 'x-backend': NAME });
  res.end(HELLO);
}

/** Echo WebSocket messages: unmask each client frame and send it back unmasked (RFC 6455 §5). */
function websocket(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') return void socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nX-Backend: ${NAME}\r\n\r\n`,
  );
  let buffered = head;
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const frame = readFrame(buffered);
      if (frame === undefined) return;
      buffered = buffered.subarray(frame.size);
      if (frame.opcode === 8) return void socket.end(encodeFrame(8, frame.payload));
      socket.write(encodeFrame(frame.opcode === 9 ? 10 : frame.opcode, frame.payload));
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) onData(Buffer.alloc(0));
}

/** One masked client frame at the start of `data`, or undefined while incomplete. */
function readFrame(data: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (data.length < 2) return undefined;
  let length = data[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    at = 10;
  }
  const masked = (data[1] & 0x80) !== 0;
  const mask = masked ? data.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (data.length < at + length) return undefined;
  const payload = Buffer.from(data.subarray(at, at + length));
  if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return { opcode: data[0] & 0x0f, payload, size: at + length };
}

/** A frame with FIN set: unmasked (server to client), or masked with `mask` (client to server). */
export function encodeFrame(opcode: number, payload: Buffer, mask?: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (len < 126) header[1] = len;
  else if (len < 65536) {
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  if (mask === undefined) return Buffer.concat([header, payload]);
  header[1] |= 0x80;
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([header, mask, body]);
}

if (require.main === module) {
  const server = http.createServer(handle);
  server.on('upgrade', websocket);
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({ ready: true, endpoints: { http: `http://127.0.0.1:${port}`, port }, name: NAME })}\n`,
    );
  });
  // Like a node stopping: requests in flight are answered, idle connections closed.
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
