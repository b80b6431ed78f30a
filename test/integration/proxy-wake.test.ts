/**
 * The proxy and nodes that are not running, or that move: a STOPPED node is woken once for
 * all the requests held for it (the wake starts a real target process), a browser gets the
 * waking page meanwhile, failed and slow wakes answer 503, and a node moving to another
 * port under a steady load loses no request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { createLogger } from '../../lib/log';
import { createProxy, type Proxy } from '../../services/proxy/proxy';
import { RouteTable } from '../../services/proxy/routes';
import type { NodeAddress, Waker } from '../../services/proxy/waker';
import { startNode, type Started } from '../helpers/proc';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const started: Started[] = [];
const proxies: Proxy[] = [];

function send(port: number, host: string, headers: Record<string, string> = {}, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/', headers: { host, ...headers }, agent: agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
    req.end();
  });
}

async function backend(name: string): Promise<Started> {
  const proc = await startNode('bench/proxy-backend.js', { env: { BACKEND_NAME: name } });
  started.push(proc);
  return proc;
}

/** A wake service of sorts: each wake starts a target process named after the node, once `gate` opens. */
function processWaker(gate: Promise<void> = Promise.resolve()): Waker & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    wake: async (nodeId): Promise<NodeAddress> => {
      calls.push(nodeId);
      if (nodeId.startsWith('doomed')) throw new Error('the node failed its health check');
      const proc = await backend(nodeId);
      await gate;
      return { host: '127.0.0.1', port: Number(proc.endpoints.port) };
    },
  };
}

async function proxyWith(table: RouteTable, waker: Waker | undefined, wakeTimeoutMs = 10_000): Promise<number> {
  const proxy = createProxy({
    table,
    waker,
    wakeTimeoutMs,
    wakeMaxWaiting: 1000,
    retryAfterS: 3,
    trustForwarded: false,
    log: createLogger('proxy', 'silent'),
  });
  proxies.push(proxy);
  return proxy.listen(0, '127.0.0.1');
}

function stopped(source: string): Record<string, unknown> {
  return { source, target: { node: { id: source.split('.')[0], status: 'STOPPED' } } };
}

let table: RouteTable;

before(() => {
  table = new RouteTable({ connectTimeoutMs: 2000, readTimeoutMs: 10_000 });
});

after(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(started.map((p) => p.stop()));
});

test('50 concurrent requests to a STOPPED node: one wake, 50 answers from the woken node', async () => {
  table.replaceAll([stopped('sleepy.test')]);
  let open!: () => void;
  const waker = processWaker(new Promise((resolve) => (open = resolve)));
  const port = await proxyWith(table, waker);
  // 1. The wake finishes only once all 50 requests have reached the proxy, so all 50 are held.
  let arrived = 0;
  proxies[proxies.length - 1].server.on('request', () => ++arrived === 50 && open());
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => send(port, 'sleepy.test', { accept: 'application/json' })),
  );
  // 2. One wake; every request answered by the node it started.
  assert.deepEqual(waker.calls, ['sleepy']);
  for (const answer of answers) {
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-backend'], 'sleepy');
  }
  // 3. The table now sends the node's requests straight on: no second wake.
  assert.equal(table.lookup('sleepy.test')?.node?.status, 'ACTIVE');
  assert.equal((await send(port, 'sleepy.test')).headers['x-backend'], 'sleepy');
  assert.equal(waker.calls.length, 1);
});

test('a browser gets the waking page at once, and the node once it is up', async () => {
  table.replaceAll([stopped('dozy.test')]);
  let open!: () => void;
  const woken = new Promise<void>((resolve) => (open = resolve));
  const waker = processWaker(woken);
  const port = await proxyWith(table, waker);
  const page = await send(port, 'dozy.test', { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' });
  assert.equal(page.status, 503);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(page.headers['retry-after'], '2');
  assert.equal(page.headers.refresh, '2');
  assert.match(page.body, /dozy\.test is waking up/);
  assert.match(page.body, /<meta http-equiv="refresh" content="2">/);
  assert.deepEqual(waker.calls, ['dozy'], 'the page started the wake');
  // A second browser request while it wakes joins the same wake.
  assert.equal((await send(port, 'dozy.test', { accept: 'text/html' })).status, 503);
  assert.equal(waker.calls.length, 1);
  // An API client waits for it instead, and gets the node.
  const api = send(port, 'dozy.test', { accept: 'application/json' });
  open();
  assert.equal((await api).headers['x-backend'], 'dozy');
  const reload = await send(port, 'dozy.test', { accept: 'text/html' });
  assert.equal(reload.status, 200);
  assert.equal(reload.headers['x-backend'], 'dozy');
});

test('a wake that fails or takes too long: 503 with Retry-After, errno 201', async () => {
  table.replaceAll([stopped('doomed.test'), stopped('slowpoke.test')]);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const port = await proxyWith(table, processWaker(gate), 300);
  const failed = await send(port, 'doomed.test');
  assert.equal(failed.status, 503);
  assert.equal(failed.headers['retry-after'], '3');
  const failedBody = JSON.parse(failed.body) as { code: number; errno: number; message: string };
  assert.deepEqual([failedBody.code, failedBody.errno], [503, 201]);
  assert.match(failedBody.message, /Node doomed could not be woken: the node failed its health check/);
  const slow = await send(port, 'slowpoke.test');
  assert.equal(slow.status, 503);
  assert.match((JSON.parse(slow.body) as { message: string }).message, /Node slowpoke did not wake within 300 ms/);
  open();
});

test('without a wake service, a STOPPED node answers 503 at once', async () => {
  table.replaceAll([stopped('idle.test')]);
  const port = await proxyWith(table, undefined);
  const answer = await send(port, 'idle.test');
  assert.equal(answer.status, 503);
  assert.match(answer.body, /Node idle\.test is stopped; retry later/);
});

test('a node moving to another port under steady load: no request fails', async () => {
  const [oldNode, newNode] = await Promise.all([backend('old'), backend('new')]);
  table.replaceAll([
    {
      source: 'move.test',
      target: { node: { id: 'move', status: 'ACTIVE', host: '127.0.0.1', port: oldNode.endpoints.port } },
    },
  ]);
  const port = await proxyWith(table, undefined);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const failures: unknown[] = [];
  const sentBefore: Promise<unknown>[] = [];
  const beforeMove: string[] = [];
  const afterMove: string[] = [];
  const waiting: Array<() => void> = [];
  const enough = async (list: string[], n: number): Promise<void> => {
    while (list.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  let moved = false;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      const wasMoved = moved;
      const call = send(port, 'move.test', {}, agent);
      if (!wasMoved) sentBefore.push(call);
      try {
        const answer = await call;
        if (answer.status !== 200) failures.push(answer);
        (wasMoved ? afterMove : beforeMove).push(String(answer.headers['x-backend']));
      } catch (e) {
        failures.push(e);
      }
      for (const wake of waiting.splice(0)) wake();
    }
  };
  const loops = Array.from({ length: 16 }, loop);
  await enough(beforeMove, 300);
  // 1. The node restarts elsewhere: the table moves it (as the route owner would) while requests fly.
  table.setNode('move', { status: 'ACTIVE', host: '127.0.0.1', port: Number(newNode.endpoints.port) });
  moved = true;
  // 2. Requests sent before the move finish on the old process; then it stops, as a stopped node does.
  await Promise.allSettled(sentBefore);
  assert.equal(await oldNode.stop(), 0);
  await enough(afterMove, 300);
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  assert.deepEqual(failures, []);
  assert.ok(beforeMove.includes('old'));
  assert.deepEqual([...new Set(afterMove)], ['new'], 'a request sent after the move reached the old port');
});
