/**
 * services/proxy/waker.ts: one wake per node however many wait, each waiter bounded by the
 * timeout (mocked clock), failures passed on as AGORA_ERR_PROXY_WAKE_*, and the cap on waiters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAgoraError } from '../../lib/errors';
import { Wakes, type NodeAddress, type Waker } from '../../services/proxy/waker';

/** A waker whose wakes the test settles by hand. */
function manualWaker(): Waker & {
  calls: Array<{ nodeId: string; deadline: number }>;
  settle(i: number, result: NodeAddress | Error): void;
} {
  const pending: Array<{ resolve: (a: NodeAddress) => void; reject: (e: Error) => void }> = [];
  const calls: Array<{ nodeId: string; deadline: number }> = [];
  return {
    calls,
    wake: (nodeId, deadline) => {
      calls.push({ nodeId, deadline });
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
    settle: (i, result) => (result instanceof Error ? pending[i].reject(result) : pending[i].resolve(result)),
  };
}

function codeOf(e: unknown): string {
  return isAgoraError(e) ? e.code : String(e);
}

test('concurrent waiters for one node share one wake; the table hears of it before they go on', async () => {
  const waker = manualWaker();
  const woken: string[] = [];
  const wakes = new Wakes({
    waker,
    timeoutMs: 30_000,
    maxWaiting: 100,
    retryAfterS: 10,
    onWoken: (id, a) => woken.push(`${id}@${a.port}`),
  });
  const before = Date.now();
  const waiters = Array.from({ length: 50 }, () =>
    wakes.wait('n1').then((a) => {
      assert.deepEqual(woken, ['n1@4321'], 'onWoken runs before any waiter goes on');
      return a;
    }),
  );
  const other = wakes.wait('n2');
  assert.equal(waker.calls.length, 2);
  assert.deepEqual(
    waker.calls.map((c) => c.nodeId),
    ['n1', 'n2'],
  );
  assert.ok(waker.calls[0].deadline >= before + 30_000, 'the wake is given the deadline of the timeout');
  assert.equal(wakes.waiting, 51);
  waker.settle(0, { host: '127.0.0.1', port: 4321 });
  const answers = await Promise.all(waiters);
  assert.equal(answers.length, 50);
  for (const a of answers) assert.deepEqual(a, { host: '127.0.0.1', port: 4321 });
  waker.settle(1, new Error('no capacity'));
  await assert.rejects(other, (e) => codeOf(e) === 'AGORA_ERR_PROXY_WAKE_FAILED' && /no capacity/.test(String(e)));
  assert.equal(wakes.waiting, 0);
  assert.equal(wakes.nodes, 0);
  // Once settled, the next waiter starts a new wake.
  void wakes.wait('n1').catch(() => undefined);
  assert.equal(waker.calls.length, 3);
});

test('each waiter gives up at the timeout with AGORA_ERR_PROXY_WAKE_TIMEOUT (503)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const waker = manualWaker();
  const wakes = new Wakes({ waker, timeoutMs: 1000, maxWaiting: 10, retryAfterS: 10, onWoken: () => undefined });
  const first = wakes.wait('n1');
  t.mock.timers.tick(600);
  const second = wakes.wait('n1');
  t.mock.timers.tick(400);
  await assert.rejects(
    first,
    (e) => codeOf(e) === 'AGORA_ERR_PROXY_WAKE_TIMEOUT' && isAgoraError(e) && e.status === 503,
  );
  assert.equal(wakes.waiting, 1, 'the second waiter still has 600 ms');
  waker.settle(0, { host: '127.0.0.1', port: 1 });
  assert.deepEqual(await second, { host: '127.0.0.1', port: 1 });
  assert.equal(waker.calls.length, 1);
});

test('beyond maxWaiting, a waiter is refused at once with AGORA_ERR_HTTP_OVERLOADED', async () => {
  const waker = manualWaker();
  const wakes = new Wakes({ waker, timeoutMs: 30_000, maxWaiting: 2, retryAfterS: 7, onWoken: () => undefined });
  const held = [wakes.wait('n1'), wakes.wait('n2')];
  await assert.rejects(
    wakes.wait('n3'),
    (e) => codeOf(e) === 'AGORA_ERR_HTTP_OVERLOADED' && /7 seconds/.test(String(e)),
  );
  assert.equal(waker.calls.length, 2, 'a refused waiter starts no wake');
  waker.settle(0, { host: 'h', port: 1 });
  waker.settle(1, { host: 'h', port: 2 });
  await Promise.all(held);
});

test('a wake answering no usable address, or throwing, fails its waiters', async () => {
  const bad: Waker = { wake: async () => ({ host: '', port: 0 }) };
  const wakes = new Wakes({
    waker: bad,
    timeoutMs: 1000,
    maxWaiting: 10,
    retryAfterS: 10,
    onWoken: () => assert.fail('not woken'),
  });
  await assert.rejects(wakes.wait('n1'), (e) => codeOf(e) === 'AGORA_ERR_PROXY_WAKE_FAILED');
  const throwing: Waker = {
    wake: () => {
      throw new Error('sync failure');
    },
  };
  const failures: string[] = [];
  const other = new Wakes({
    waker: throwing,
    timeoutMs: 1000,
    maxWaiting: 10,
    retryAfterS: 10,
    onWoken: () => undefined,
    onFailed: (id, e) => failures.push(`${id}: ${e.code}`),
  });
  await assert.rejects(other.wait('n2'), (e) => codeOf(e) === 'AGORA_ERR_PROXY_WAKE_FAILED');
  assert.deepEqual(failures, ['n2: AGORA_ERR_PROXY_WAKE_FAILED']);
});

test('start without waiting (the browser page) never leaves a rejection unhandled', async () => {
  const waker = manualWaker();
  const wakes = new Wakes({ waker, timeoutMs: 1000, maxWaiting: 10, retryAfterS: 10, onWoken: () => undefined });
  const started = wakes.start('n1');
  assert.equal(wakes.start('n1'), started, 'a second start joins the first');
  waker.settle(0, new Error('down'));
  await assert.rejects(started, (e) => codeOf(e) === 'AGORA_ERR_PROXY_WAKE_FAILED');
});
