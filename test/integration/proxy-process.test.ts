/**
 * The proxy process (services/proxy/main.ts) as a Procfile would start it, with its route
 * table from AGORA_PROXY_ROUTES_FILE: it routes, it streams 100 MB each way without holding
 * them (its peak resident memory is read from /proc), it drains on SIGTERM, and a bad table
 * stops it at start with exit code 78.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { entry, start, startNode, type Started } from '../helpers/proc';

const MB = 1 << 20;
let dir: string;
let backend: Started;
let proxy: Started;
let port: number;

/** Peak resident memory of process `pid`, in bytes (Linux). */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, 'no VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

function request(options: http.RequestOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...options }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** A counting reader; `slow`: far slower than loopback (a chunk of at most 64 kB per ms, < 64 MB/s). */
function counter(slow: boolean): Writable & { bytes: number } {
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write: (chunk: Buffer, _enc, done) => {
      sink.bytes += chunk.length;
      if (slow) setTimeout(done, 1);
      else done();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'agora-proxy-'));
  backend = await startNode('bench/proxy-backend.js', { env: { BACKEND_NAME: 'node-1' } });
  const routes = [
    {
      source: 'web.ann.nodes.localhost',
      target: { node: { id: 'n1', status: 'ACTIVE', host: '127.0.0.1', port: backend.endpoints.port } },
    },
  ];
  writeFileSync(path.join(dir, 'routes.json'), JSON.stringify(routes));
  proxy = await startNode('services/proxy/main.js', {
    env: { AGORA_PROXY_PORT: '0', AGORA_PROXY_ROUTES_FILE: path.join(dir, 'routes.json') },
  });
  port = Number(new URL(String(proxy.endpoints.http)).port);
});

after(async () => {
  await Promise.all([proxy.stop(), backend.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('the ready line names the HTTP endpoint, the domain and the routes loaded; the route answers', async () => {
  assert.match(String(proxy.endpoints.http), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(proxy.endpoints.domain, 'nodes.localhost');
  assert.equal(proxy.endpoints.routes, 1);
  const res = await request({ headers: { host: 'web.ann.nodes.localhost:8000' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-backend'], 'node-1');
  res.resume();
  await once(res, 'end');
});

/** GET n bytes through the proxy; answers the bytes read. */
async function download(n: number, slow: boolean): Promise<number> {
  const res = await request({ path: `/bytes/${n}`, headers: { host: 'web.ann.nodes.localhost' } });
  const sink = counter(slow);
  await pipeline(res, sink);
  return sink.bytes;
}

/** POST n bytes to the echo through the proxy, reading the echo as it comes; answers the bytes echoed. */
async function echo(n: number, slow: boolean): Promise<number> {
  const up = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/echo',
    agent: false,
    headers: { host: 'web.ann.nodes.localhost', 'content-length': String(n) },
  });
  const echoed = new Promise<number>((resolve, reject) => {
    up.on('response', (res) => {
      const sink = counter(slow);
      pipeline(res, sink).then(() => resolve(sink.bytes), reject);
    });
    up.on('error', reject);
  });
  const block = Buffer.alloc(MB, 1);
  for (let sent = 0; sent < n; sent += MB) if (!up.write(block)) await once(up, 'drain');
  up.end();
  return echoed;
}

test('bodies of 50 to 80 MB go through the process both ways without it holding them', async () => {
  // 1. 50 MB each way brings the process to its steady size (garbage the GC has not taken yet).
  assert.equal(await download(50 * MB, false), 50 * MB);
  assert.equal(await echo(50 * MB, false), 50 * MB);
  const steady = peakRss(proxy.child.pid!);
  // 2. 80 MB each way read far slower than the target writes: only backpressure keeps the proxy at that size.
  assert.equal(await download(80 * MB, true), 80 * MB);
  assert.equal(await echo(80 * MB, true), 80 * MB);
  const grown = peakRss(proxy.child.pid!) - steady;
  assert.ok(
    grown < 25 * MB,
    `the proxy's peak memory grew by ${(grown / MB).toFixed(1)} MB for 160 MB more through it`,
  );
});

test('a route file that is not a table stops the process at start with exit code 78', async () => {
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ source: 'x.test', target: { url: 'ftp://nowhere' } }]));
  await assert.rejects(
    start(process.execPath, [entry('services/proxy/main.js')], {
      env: { AGORA_PROXY_PORT: '0', AGORA_PROXY_ROUTES_FILE: bad },
      readyMs: 10_000,
    }),
    /exited \(78\)[\s\S]*invalid route table: Invalid route: target\.url must be an http:\/\/ URL/,
  );
});

test('SIGTERM: the process drains and exits 0', async () => {
  assert.equal(await proxy.stop('SIGTERM'), 0);
  assert.ok(proxy.lines.some((l) => l.msg === 'stopped'));
});
