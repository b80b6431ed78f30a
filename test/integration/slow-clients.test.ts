/**
 * The gateway process against clients that send too slowly or too much
 * (gateway/hooks/slow-clients.ts): a body trickled byte by byte gets 408 in the Cliquet body
 * once AGORA_HTTP_REQUEST_TIMEOUT_MS passes, and a body over the limit gets its 413 read in
 * full by every client, raw socket or fetch, however fast it keeps sending. No broker is
 * needed: none of these requests reaches the bus.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { startNode, type Started } from '../helpers/proc';

/** The request timeout the gateway is started with: small, so that the test waits little. */
const REQUEST_TIMEOUT_MS = 400;
const BODY_LIMIT = 65_536;

async function startGateway(t: TestContext): Promise<{ host: string; port: number }> {
  const gateway: Started = await startNode('gateway/main.js', {
    env: {
      AGORA_HTTP_PORT: '0',
      // Nothing listens there: these requests never reach the bus.
      AGORA_BUS_URL: 'tcp://127.0.0.1:9',
      AGORA_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      AGORA_BUS_MAX_BODY_BYTES: String(BODY_LIMIT),
    },
  });
  t.after(() => gateway.stop('SIGKILL'));
  const url = new URL(String(gateway.endpoints.http));
  return { host: url.hostname, port: Number(url.port) };
}

/** What a raw connection received until the server closed it, and how it ended. */
interface Received {
  text: string;
  error: string | undefined;
  ms: number;
}

/** Open a connection, run `write` on it, and resolve once the server has closed it (or after `ms`). */
function exchange(address: { host: string; port: number }, write: (s: net.Socket) => void, ms = 10_000) {
  return new Promise<Received>((resolve) => {
    const started = Date.now();
    const socket = net.connect(address.port, address.host);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => socket.destroy(new Error(`no close within ${ms} ms`)), ms);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), error, ms: Date.now() - started });
    });
    socket.on('connect', () => write(socket));
  });
}

/** The status and JSON body of a raw HTTP/1.1 answer; the body must be complete (its Content-Length). */
function parseAnswer(text: string): { status: number; headers: string; body: Record<string, unknown> } {
  const at = text.indexOf('\r\n\r\n');
  assert.ok(at > 0, `no complete head in ${JSON.stringify(text.slice(0, 200))}`);
  const headers = text.slice(0, at);
  const length = /\r\ncontent-length: *(\d+)/i.exec(headers);
  assert.ok(length !== null, `no Content-Length in ${headers}`);
  const body = text.slice(at + 4);
  assert.equal(Buffer.byteLength(body), Number(length[1]), 'the body arrived in full');
  return { status: Number(headers.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
}

const HEAD = (length: number): string =>
  'POST /v1/channels HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer 12345\r\n' +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

test('a body trickled one byte at a time gets 408 in the Cliquet body once AGORA_HTTP_REQUEST_TIMEOUT_MS passes', async (t) => {
  const gateway = await startGateway(t);
  // One byte now, the next "in 20 s": only the server's timeout can end this exchange early.
  const got = await exchange(gateway, (s) => {
    s.write(HEAD(100) + '{');
    const later = setTimeout(() => s.writable && s.write('"'), 20_000);
    s.once('close', () => clearTimeout(later));
  });
  const answer = parseAnswer(got.text);
  assert.equal(answer.status, 408);
  assert.match(answer.headers, /\r\nconnection: close/i);
  assert.deepEqual(answer.body, {
    code: 408,
    errno: 107,
    error: 'Request Timeout',
    message: `The request did not arrive in full within ${REQUEST_TIMEOUT_MS} ms`,
  });
  assert.ok(got.ms >= REQUEST_TIMEOUT_MS - 50, `answered after ${got.ms} ms`);
  // The gateway still serves.
  assert.equal((await fetch(`http://${gateway.host}:${gateway.port}/__lbheartbeat__`)).status, 200);
});

test('headers that never end get 408 too', async (t) => {
  const gateway = await startGateway(t);
  const got = await exchange(gateway, (s) => s.write('GET /__lbheartbeat__ HTTP/1.1\r\nHost: gateway\r\n'));
  assert.equal(parseAnswer(got.text).status, 408);
});

test('a body over the limit: a raw client that keeps sending after the headers reads its whole 413, every time', async (t) => {
  const gateway = await startGateway(t);
  const size = 32 * BODY_LIMIT; // 2 MiB
  const chunk = Buffer.alloc(65_536, 0x20);
  for (let i = 0; i < 40; i++) {
    const got = await exchange(gateway, (s) => {
      s.write(HEAD(size));
      let sent = 0;
      const pump = (): void => {
        while (sent < size && !s.destroyed) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    assert.equal(got.error, undefined, `attempt ${i}: the connection ended with ${got.error}`);
    const answer = parseAnswer(got.text);
    assert.equal(answer.status, 413, `attempt ${i}`);
    assert.deepEqual([answer.body.code, answer.body.errno], [413, 113]);
  }
});

test('a body over the limit: fetch reads its 413, every time', async (t) => {
  const gateway = await startGateway(t);
  const body = JSON.stringify({ name: 'x'.repeat(32 * BODY_LIMIT) });
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`http://${gateway.host}:${gateway.port}/v1/channels`, {
      method: 'POST',
      headers: { authorization: 'Bearer 12345', 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 413, `attempt ${i}`);
    assert.equal(((await res.json()) as { errno: number }).errno, 113);
  }
});
