/**
 * The proxy (services/proxy/proxy.ts) on a real port, in front of real target processes
 * (bench/proxy-backend.ts): routing by Host, the headers a target sees, the error bodies,
 * redirects, bodies streamed both ways, and a WebSocket echoed through.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { encodeFrame } from '../../bench/proxy-backend';
import { createLogger } from '../../lib/log';
import { createProxy, type Proxy } from '../../services/proxy/proxy';
import { RouteTable } from '../../services/proxy/routes';
import { freePort, startNode, type Started } from '../helpers/proc';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

let proxy: Proxy;
let port: number;
let a: Started;
let b: Started;

/** One request to the proxy naming `host`, on a connection of its own. */
function send(host: string, path: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.end(options.body);
  });
}

function json(answer: Answer): Record<string, unknown> {
  return JSON.parse(answer.body.toString()) as Record<string, unknown>;
}

function nodeRoute(source: string, target: Started, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = source.split('.')[0];
  return {
    source,
    target: { node: { id, status: 'ACTIVE', host: '127.0.0.1', port: target.endpoints.port } },
    ...extra,
  };
}

before(async () => {
  [a, b] = await Promise.all([
    startNode('bench/proxy-backend.js', { env: { BACKEND_NAME: 'a' } }),
    startNode('bench/proxy-backend.js', { env: { BACKEND_NAME: 'b' } }),
  ]);
  const closed = await freePort();
  const table = new RouteTable({ connectTimeoutMs: 2000, readTimeoutMs: 5000 });
  table.replaceAll([
    nodeRoute('a.test', a),
    nodeRoute('b.test', b),
    nodeRoute('slow.test', a, { read_timeout_ms: 300 }),
    nodeRoute('jump.test', a, { mode: 'redirect' }),
    nodeRoute('secure.test', a, { enforce_https: true }),
    { source: 'closed.test', target: { node: { id: 'closed', status: 'ACTIVE', host: '127.0.0.1', port: closed } } },
    { source: 'broken.test', target: { node: { id: 'broken', status: 'ERROR' } } },
    { source: 'site.test', target: { url: `http://127.0.0.1:${b.endpoints.port}/base/` } },
  ]);
  proxy = createProxy({
    table,
    wakeTimeoutMs: 1000,
    wakeMaxWaiting: 100,
    retryAfterS: 7,
    trustForwarded: false,
    log: createLogger('proxy', 'silent'),
  });
  port = await proxy.listen(0, '127.0.0.1');
});

after(async () => {
  await proxy.close();
  await Promise.all([a.stop(), b.stop()]);
});

test('requests go to the target of their Host, whatever its case or port', async () => {
  const toA = await send('a.test', '/');
  assert.equal(toA.status, 200);
  assert.equal(toA.headers['x-backend'], 'a');
  assert.equal(toA.body.toString(), 'hello from a\n');
  const toB = await send(`B.TEST:${port}`, '/');
  assert.equal(toB.headers['x-backend'], 'b');
});

test('the target sees X-Forwarded-For/-Proto/-Host and the request id; hop-by-hop fields stay behind', async () => {
  const answer = await send(`a.test:${port}`, '/headers?x=1', {
    headers: {
      'x-request-id': 'trace-42',
      connection: 'keep-alive, x-private',
      'x-private': 'secret',
      'keep-alive': 'timeout=9',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '6.6.6.6',
      'x-end-to-end': 'kept',
    },
  });
  assert.equal(answer.headers['x-request-id'], 'trace-42', 'the response carries the id too');
  const seen = json(answer) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/headers?x=1');
  assert.equal(seen.headers.host, `a.test:${port}`);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot add to the chain');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], `a.test:${port}`);
  assert.equal(seen.headers['x-request-id'], 'trace-42');
  assert.equal(seen.headers['x-end-to-end'], 'kept');
  for (const gone of ['x-private', 'keep-alive', 'proxy-authorization'])
    assert.equal(seen.headers[gone], undefined, `${gone} reached the target`);
});

test('behind a trusted front, its X-Forwarded-* are kept and For is appended to', async () => {
  const trusting = createProxy({
    table: proxy.table,
    wakeTimeoutMs: 1000,
    wakeMaxWaiting: 100,
    retryAfterS: 7,
    trustForwarded: true,
    log: createLogger('proxy', 'silent'),
  });
  const trustingPort = await trusting.listen(0, '127.0.0.1');
  try {
    const headers = {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'www.example',
    };
    const answer = await new Promise<Answer>((resolve, reject) => {
      http
        .get(
          { host: '127.0.0.1', port: trustingPort, path: '/headers', headers: { host: 'secure.test', ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
            );
          },
        )
        .on('error', reject);
    });
    assert.equal(answer.status, 200, 'https said by the front: enforce_https does not redirect');
    const seen = (json(answer) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], 'www.example');
    assert.equal(seen.host, 'secure.test');
  } finally {
    await trusting.close();
  }
});

test('a request without a usable id gets a new one, sent to the target and answered', async () => {
  for (const given of [undefined, 'bad id with spaces']) {
    const answer = await send('a.test', '/headers', given === undefined ? {} : { headers: { 'x-request-id': given } });
    const id = answer.headers['x-request-id'];
    assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal((json(answer) as { headers: Record<string, string> }).headers['x-request-id'], id);
  }
});

test('a URL target gets its own Host and path prefix', async () => {
  const seen = json(await send('site.test', '/v/headers?q=2')) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/base/v/headers?q=2');
  assert.equal(seen.headers.host, `127.0.0.1:${b.endpoints.port}`);
  assert.equal(seen.headers['x-forwarded-host'], 'site.test');
});

/** The /v1 error body of a proxy failure, checked field by field. */
function assertError(answer: Answer, status: number, errno: number, message: RegExp): void {
  assert.equal(answer.status, status);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  const body = json(answer);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'errno', 'error', 'message']);
  assert.equal(body.code, status);
  assert.equal(body.errno, errno);
  assert.equal(body.error, http.STATUS_CODES[status]);
  assert.match(String(body.message), message);
  assert.ok(answer.headers['x-request-id'] !== undefined);
}

test('unknown host: 404, errno 111', async () => {
  assertError(await send('nobody.test', '/'), 404, 111, /No route for host "nobody\.test"/);
});

test('target refusing connections or dropping them: 502, errno 201', async () => {
  assertError(await send('closed.test', '/'), 502, 201, /closed\.test failed: connection failed \(ECONNREFUSED\)/);
  assertError(await send('a.test', '/drop'), 502, 201, /a\.test failed: closed the connection before answering/);
});

test('target too slow to answer: 504, errno 201; too slow mid-body: the answer is cut', async () => {
  const started = Date.now();
  assertError(await send('slow.test', '/slow/3000'), 504, 201, /slow\.test did not answer within 300 ms/);
  assert.ok(Date.now() - started < 2500, 'the 504 came at the read timeout, not when the target answered');
  await assert.rejects(send('slow.test', '/stall'), /aborted|socket hang up|ECONNRESET/);
});

test('node in ERROR: 503 with Retry-After, errno 201', async () => {
  const answer = await send('broken.test', '/');
  assertError(answer, 503, 201, /Node broken\.test is in ERROR; retry later/);
  assert.equal(answer.headers['retry-after'], '7');
});

test('mode redirect answers 307 to the target; enforce_https sends http to https (301, 308)', async () => {
  const jump = await send('jump.test', '/p?q=1', { method: 'POST', body: 'x' });
  assert.equal(jump.status, 307);
  assert.equal(jump.headers.location, `http://127.0.0.1:${a.endpoints.port}/p?q=1`);
  const get = await send(`secure.test:${port}`, '/p?q=1');
  assert.equal(get.status, 301);
  assert.equal(get.headers.location, 'https://secure.test/p?q=1');
  const post = await send('secure.test', '/form', { method: 'POST', body: 'x' });
  assert.equal(post.status, 308);
});

test('HEAD gets the head alone; keep-alive connections to the target are reused', async () => {
  const head = await send('b.test', '/bytes/1000', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '1000');
  assert.equal(head.body.length, 0);
  proxy.upstreams.closeIdle();
  for (let i = 0; i < 5; i++) assert.equal((await send('b.test', '/')).status, 200);
  assert.equal(proxy.upstreams.idleCount, 1, 'five requests in turn used one connection');
});

test('a kept connection the target closed unanswered is retried once on a new one, a request with a body is not', async () => {
  // A target that answers the first request of each connection and drops the connection at the second.
  let connections = 0;
  const flaky = net.createServer((socket) => {
    connections++;
    let requests = 0;
    socket.on('data', (data: Buffer) => {
      if (!data.includes('\r\n\r\n')) return;
      if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
  });
  flaky.listen(0, '127.0.0.1');
  await once(flaky, 'listening');
  const flakyPort = (flaky.address() as net.AddressInfo).port;
  proxy.table.upsert({
    source: 'flaky.test',
    target: { node: { id: 'flaky', status: 'ACTIVE', host: '127.0.0.1', port: flakyPort } },
  });
  try {
    assert.equal((await send('flaky.test', '/')).status, 200);
    const retried = await send('flaky.test', '/');
    assert.equal(retried.status, 200);
    assert.equal(retried.body.toString(), 'ok');
    assert.equal(connections, 2, 'the second request went again on a new connection');
    assertError(await send('flaky.test', '/', { method: 'POST', body: 'x' }), 502, 201, /flaky\.test failed/);
    assert.equal(connections, 2, 'a request with a body is not sent twice');
  } finally {
    flaky.close();
  }
});

test('a target answering before it read the body: the answer arrives, the client connection stays usable', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const early = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/early', headers: { host: 'a.test' }, agent },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end(Buffer.alloc(20 * (1 << 20)));
    });
    assert.equal(early, 413);
    const next = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', headers: { host: 'a.test' }, agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.equal(next, 'hello from a\n');
  } finally {
    agent.destroy();
  }
});

test('a client leaving mid-answer costs nothing to the next ones', async () => {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http
      .get(
        { host: '127.0.0.1', port, path: `/bytes/${100 * (1 << 20)}`, headers: { host: 'a.test' }, agent: false },
        resolve,
      )
      .on('error', reject),
  );
  await once(res, 'data');
  res.destroy();
  await once(res, 'close');
  const answers = await Promise.all(Array.from({ length: 20 }, () => send('a.test', '/')));
  assert.deepEqual(new Set(answers.map((x) => x.status)), new Set([200]));
});

/** Write `total` bytes in 1 MiB blocks, waiting for `firstEcho` after the first block. */
async function upload(req: http.ClientRequest, total: number, firstEcho: Promise<unknown>): Promise<void> {
  const block = randomBytes(1 << 20);
  let sent = 0;
  while (sent < total) {
    const n = Math.min(block.length, total - sent);
    if (!req.write(n === block.length ? block : block.subarray(0, n))) await once(req, 'drain');
    sent += n;
    if (sent === n) await firstEcho;
  }
  req.end();
}

for (const framing of ['content-length', 'chunked'] as const) {
  test(`a 50 MB body (${framing}) streams through both ways: its echo starts before its end is sent`, async () => {
    const total = 50 * (1 << 20);
    const headers: Record<string, string> = { host: 'a.test' };
    if (framing === 'content-length') headers['content-length'] = String(total);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers, agent: false });
    let received = 0;
    let resolveFirst!: () => void;
    const firstEcho = new Promise<void>((resolve) => (resolveFirst = resolve));
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', (c: Buffer) => {
          received += c.length;
          resolveFirst();
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    // The second block is only sent once the first one's echo has come back through the proxy.
    await upload(req, total, firstEcho);
    assert.equal(await done, total);
  });
}

test('a 50 MB download arrives whole, read at the pace of the client', async () => {
  const total = 50 * (1 << 20);
  const answer = await send('a.test', `/bytes/${total}`);
  assert.equal(answer.status, 200);
  assert.equal(answer.body.length, total);
});

/** Bytes from `socket` until `done(buffer)` says how many make the answer. */
function readUntil(socket: net.Socket, done: (data: Buffer) => number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const n = done(data);
      if (n <= 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      if (n < data.length) socket.unshift(data.subarray(n));
      resolve(data.subarray(0, n));
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

/** Length of a whole unmasked server frame at the start of `data`, or 0. */
function frameLength(data: Buffer): number {
  if (data.length < 2) return 0;
  const len = data[1] & 0x7f;
  const header = len === 126 ? 4 : len === 127 ? 10 : 2;
  if (data.length < header) return 0;
  const payload = len === 126 ? data.readUInt16BE(2) : len === 127 ? Number(data.readBigUInt64BE(2)) : len;
  return data.length >= header + payload ? header + payload : 0;
}

test('a WebSocket handshake and messages go through, both ways', async () => {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET /chat HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = (await readUntil(socket, (d) => d.indexOf('\r\n\r\n') + 4)).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 101 /);
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${accept.replace(/[+/]/g, '\\$&')}\r\n`, 'i'));
  assert.match(head, /X-Backend: a\r\n/i);
  for (const payload of [Buffer.from('hello through the proxy'), randomBytes(70_000)]) {
    socket.write(encodeFrame(payload.length > 100 ? 2 : 1, payload, randomBytes(4)));
    const frame = await readUntil(socket, frameLength);
    assert.equal(frame[0], payload.length > 100 ? 0x82 : 0x81);
    assert.ok(frame.subarray(frame.length - payload.length).equals(payload), 'the echo differs');
  }
  socket.write(encodeFrame(8, Buffer.alloc(0), randomBytes(4)));
  await once(socket, 'close');
});

test('an upgrade to an unknown host or an unreachable target is refused with the error body', async () => {
  for (const [host, status] of [
    ['nobody.test', 404],
    ['closed.test', 502],
  ] as const) {
    const socket = net.connect(port, '127.0.0.1');
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    const text = Buffer.concat(chunks).toString();
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: number; errno: number };
    assert.deepEqual([body.code, body.errno], [status, status === 404 ? 111 : 201]);
  }
});
