/**
 * The dynamic proxy through real processes (docs/ROUTING.md "The proxy", "Waking and idle
 * nodes"): broker, auth, driver, Routes, compute, wake, the gateway and proxies as the Procfile
 * runs them. The core, with the routes in memory, PostgreSQL and Redis: a node's static URL
 * answers through the proxy; a route changed through the gateway is served by two proxies
 * within a second; a stopped node is woken by its first request; with Routes restarted, the
 * proxies serve on meanwhile and follow the new instance. In memory also: a stop and
 * start under a steady load loses no request; 50 requests to a stopped node make one start;
 * a browser gets the waking page; a WebSocket is piped to an admin's URL route (the node
 * images do not speak WebSocket); and an idle node is stopped, then woken again, which in
 * Redis holds with two wake instances too.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { startPostgres, startRedis } from '../helpers/backends';
import {
  activeNode,
  get,
  nodeOf,
  startProxyMesh,
  waitNode,
  wakeStarts,
  type ProxyMesh,
  type Reply,
} from '../helpers/proxy-mesh';
import { call, logon, type Json } from '../helpers/v1';

const DOMAIN = 'nodes.localhost';

/** A plain HTTP server answering `name` to every request, or echoing bytes after an upgrade. */
async function target(t: TestContext, name: string): Promise<number> {
  const server = http.createServer((_req, res) => res.end(name));
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Ask `port` for `host` until `done` holds of the reply (every 20 ms, within `ms`); answers the ms it took. */
async function servedWithin(port: number, host: string, done: (r: Reply) => boolean, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const reply = await get(port, host);
    if (done(reply)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`${host} on :${port} not changed within ${ms} ms: ${reply.body}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The core: static URL, a route change on two proxies, a wake. */
async function core(t: TestContext, mesh: ProxyMesh): Promise<void> {
  const alice = await logon(mesh.http, 'alice');
  const root = await logon(mesh.http, 'root');
  const [p0, p1] = mesh.proxies;
  const node = await activeNode(mesh.http, alice, 'web');
  const id = String(node.id);
  const host = `web.alice.${DOMAIN}`;
  assert.equal(node.url, `http://${host}:8000/`);

  // 1. The static URL answers through both proxies, with the request id passed on.
  for (const port of mesh.proxies) {
    const reply = await get(port, host, { 'x-request-id': 'req-static-1' });
    assert.equal(reply.status, 200, reply.body);
    assert.equal((JSON.parse(reply.body) as Json).id, id);
    assert.equal(reply.headers['x-request-id'], 'req-static-1');
  }
  const unknown = await get(p0, `nobody.alice.${DOMAIN}`);
  assert.equal(unknown.status, 404);
  assert.equal((JSON.parse(unknown.body) as Json).errno, 111);

  // 2. A route made, changed and deleted through the gateway: both proxies serve each change within 1 s.
  const [one, two] = [await target(t, 'one'), await target(t, 'two')];
  const source = 'app.example.com';
  const made = await call(mesh.http, 'POST', '/v1/routes', {
    key: root,
    body: { source, target_url: `http://127.0.0.1:${one}` },
  });
  assert.equal(made.status, 201, made.text);
  for (const port of [p0, p1]) assert.ok((await servedWithin(port, source, (r) => r.body === 'one', 1000)) < 1000);
  const replaced = await call(mesh.http, 'PUT', `/v1/routes/${source}`, {
    key: root,
    body: { target_url: `http://127.0.0.1:${two}` },
  });
  assert.equal(replaced.status, 200, replaced.text);
  for (const port of [p0, p1]) assert.ok((await servedWithin(port, source, (r) => r.body === 'two', 1000)) < 1000);
  const toNode = await call(mesh.http, 'POST', '/v1/routes', {
    key: alice,
    body: { source: 'www.alice.example', target_node: id },
  });
  assert.equal(toNode.status, 201, toNode.text);
  await servedWithin(p1, 'www.alice.example', (r) => r.status === 200 && r.body.includes(id), 1000);
  assert.equal((await call(mesh.http, 'DELETE', `/v1/routes/${source}`, { key: root })).status, 200);
  for (const port of [p0, p1]) await servedWithin(port, source, (r) => r.status === 404, 1000);

  // 3. Stopped, then woken by its first request: one start, a new process.
  const before = wakeStarts(mesh);
  const stop = await call(mesh.http, 'PATCH', `/v1/nodes/${id}`, { key: alice, body: { action: 'stop' } });
  // 409: an idle limit (the memory mesh's) stopped it first.
  assert.ok([200, 409].includes(stop.status), stop.text);
  await waitNode(mesh.http, alice, id, (n) => n.status === 'STOPPED', 'node STOPPED');
  const woken = await get(p0, host);
  assert.equal(woken.status, 200, woken.body);
  assert.equal((JSON.parse(woken.body) as Json).id, id);
  assert.equal(wakeStarts(mesh) - before, 1);
  const now = await waitNode(mesh.http, alice, id, (n) => n.status === 'ACTIVE', 'node ACTIVE again');
  assert.notEqual(now.pid, node.pid);

  // 4. Routes down: the proxies serve on from their tables; back: they load it again and follow it.
  await mesh.restartRoutes(async () => {
    for (const port of mesh.proxies) assert.equal((await get(port, host)).status, 200);
  });
  const after = await call(mesh.http, 'POST', '/v1/routes', {
    key: root,
    body: { source: 'after.example.com', target_url: `http://127.0.0.1:${one}` },
  });
  assert.equal(after.status, 201, after.text);
  // Within the Watch stream's reconnection backoff (at most 2 s) and a second.
  for (const port of [p0, p1]) await servedWithin(port, 'after.example.com', (r) => r.body === 'one', 5000);
  for (const port of [p0, p1]) await servedWithin(port, host, (r) => r.status === 200, 5000);
}

/** A node used through the second proxy is never stopped; left alone, it is; its next request wakes it. */
async function idle(mesh: ProxyMesh, alice: number): Promise<void> {
  const [p0, p1] = mesh.proxies;
  const node = await activeNode(mesh.http, alice, 'idle');
  const id = String(node.id);
  const host = `idle.alice.${DOMAIN}`;
  assert.equal((await get(p0, host)).status, 200);
  // Used through the other proxy for 1.5 idle periods: never stopped meanwhile.
  const starts = wakeStarts(mesh);
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    assert.equal((await get(p1, host)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(wakeStarts(mesh), starts);
  assert.equal((await nodeOf(mesh.http, alice, id)).pid, node.pid);
  // Then left alone: stopped.
  await waitNode(mesh.http, alice, id, (n) => n.status === 'STOPPED', 'the idle node stopped', 20_000);
  const again = await get(p0, host);
  assert.equal(again.status, 200, again.body);
  assert.equal((await nodeOf(mesh.http, alice, id)).status, 'ACTIVE');
}

test('the proxy mesh in memory: static URLs, route changes, wakes, load, idle stop', async (t) => {
  const mesh = await startProxyMesh(t, { proxies: 2, env: { AGORA_NODE_IDLE_S: '2' } });
  await t.test('core', (st) => core(st, mesh));
  const alice = await logon(mesh.http, 'alice');
  const [p0] = mesh.proxies;

  await t.test('stop and start under a steady load: no request fails', async () => {
    const node = await activeNode(mesh.http, alice, 'busy');
    const id = String(node.id);
    const host = `busy.alice.${DOMAIN}`;
    const failures: string[] = [];
    let served = 0;
    let onServed = (): void => {};
    let done = false;
    const worker = async (): Promise<void> => {
      while (!done) {
        const r = await get(p0, host).catch((e: Error) => ({ status: 0, body: e.message }) as Reply);
        if (r.status === 200) {
          served++;
          onServed();
        } else failures.push(`${r.status} ${r.body}`);
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    const stop = await call(mesh.http, 'PATCH', `/v1/nodes/${id}`, { key: alice, body: { action: 'stop' } });
    assert.equal(stop.status, 200, stop.text);
    // The load wakes it again (or the start does): a new port either way.
    const start = await call(mesh.http, 'PATCH', `/v1/nodes/${id}`, { key: alice, body: { action: 'start' } });
    assert.ok([200, 409].includes(start.status), start.text);
    await waitNode(mesh.http, alice, id, (n) => n.status === 'ACTIVE' && n.port !== node.port, 'a new port');
    const after = served;
    await new Promise<void>((resolve) => {
      onServed = () => {
        if (served >= after + 50) resolve();
      };
    });
    done = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
  });

  await t.test('50 concurrent requests to a stopped node: one start, 50 answers', async () => {
    const node = await activeNode(mesh.http, alice, 'crowd');
    const id = String(node.id);
    const stop = await call(mesh.http, 'PATCH', `/v1/nodes/${id}`, { key: alice, body: { action: 'stop' } });
    assert.ok([200, 409].includes(stop.status), stop.text);
    await waitNode(mesh.http, alice, id, (n) => n.status === 'STOPPED', 'node STOPPED');
    const before = wakeStarts(mesh);
    const replies = await Promise.all(Array.from({ length: 50 }, () => get(p0, `crowd.alice.${DOMAIN}`)));
    assert.deepEqual(
      replies.map((r) => r.status),
      Array<number>(50).fill(200),
    );
    assert.equal(wakeStarts(mesh) - before, 1);
  });

  await t.test('a browser gets the waking page while its node wakes', async () => {
    const node = await activeNode(mesh.http, alice, 'page');
    const id = String(node.id);
    await call(mesh.http, 'PATCH', `/v1/nodes/${id}`, { key: alice, body: { action: 'stop' } });
    await waitNode(mesh.http, alice, id, (n) => n.status === 'STOPPED', 'node STOPPED');
    const page = await get(p0, `page.alice.${DOMAIN}`, { accept: 'text/html,application/xhtml+xml' });
    assert.equal(page.status, 503);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers.refresh, '2');
    // The page started the wake: the node comes up without another request.
    await waitNode(mesh.http, alice, id, (n) => n.status === 'ACTIVE', 'node woken by the page');
  });

  await t.test('a WebSocket through the proxy (an admin URL route)', async (st) => {
    const root = await logon(mesh.http, 'root');
    const port = await target(st, 'ws');
    const made = await call(mesh.http, 'POST', '/v1/routes', {
      key: root,
      body: { source: 'ws.example.com', target_url: `http://127.0.0.1:${port}` },
    });
    assert.equal(made.status, 201, made.text);
    await servedWithin(p0, 'ws.example.com', (r) => r.body === 'ws', 1000);
    const socket = net.connect(p0, '127.0.0.1');
    st.after(() => socket.destroy());
    socket.write(
      'GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let got = '';
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1');
        if (got.includes('\r\n\r\n') && !got.includes('ping')) socket.write('ping');
        if (got.endsWith('ping')) resolve();
      });
    });
    assert.match(got, /^HTTP\/1\.1 101 /);
  });

  await t.test('an idle node is stopped, and woken again by its next request', () => idle(mesh, alice));
});

test('the proxy mesh with the routes in PostgreSQL', async (t) => {
  const pg = await startPostgres(t);
  if (pg === undefined) return;
  const mesh = await startProxyMesh(t, { proxies: 2, env: { AGORA_DATABASE_URL: await pg.newDatabase() } });
  await core(t, mesh);
});

test('the proxy mesh with the routes in Redis', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // Two wake instances hear each other's activity reports through Redis.
  const env = { AGORA_REDIS_URL: redis.url, AGORA_NODE_IDLE_S: '2' };
  const mesh = await startProxyMesh(t, { proxies: 2, wakes: 2, env });
  await t.test('core', (st) => core(st, mesh));
  await t.test('idle stop with two wake instances', async () => idle(mesh, await logon(mesh.http, 'alice')));
});
