/**
 * The wake service's core (services/wake/wake.ts): one compute call per node however many
 * wake it at once, failures as the proxies' codes, and the idle rule: an ACTIVE node unused
 * for the idle limit is stopped once, a used one is not, a report heard from another
 * instance counts, and a gap in that topic counts every node as used.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgoraError, isAgoraError } from '../../lib/errors';
import type { NodeTarget__Output } from '../../lib/gen/agora/NodeTarget';
import { createLogger } from '../../lib/log';
import type { RouteWatchHandlers } from '../../lib/routes-client';
import type { Broadcast } from '../../lib/store/contracts';
import { WakeService, type ComputeWaker } from '../../services/wake/wake';

const log = createLogger('test', 'silent');

function target(id: string, status = 'ACTIVE'): NodeTarget__Output {
  return {
    id,
    name: id,
    owner: 'ann',
    status,
    host: '127.0.0.1',
    port: 4000,
    version: 1,
    epoch: 'e',
    write: ['account:ann'],
  };
}

class FakeCompute implements ComputeWaker {
  wakes = 0;
  slept: string[] = [];
  release: (() => void) | undefined;
  failWith: Error | undefined;

  async wake(): Promise<{ status: string; host: string; port: number }> {
    this.wakes++;
    await new Promise<void>((resolve) => (this.release = resolve));
    if (this.failWith !== undefined) throw this.failWith;
    return { status: 'ACTIVE', host: '127.0.0.1', port: 4321 };
  }

  sleep(id: string): Promise<void> {
    this.slept.push(id);
    return Promise.resolve();
  }
}

class FakeTopic implements Broadcast {
  handlers: { onMessage(m: string): void; onGap(reason: string): void } | undefined;
  published: string[] = [];
  publish(message: string): Promise<void> {
    this.published.push(message);
    return Promise.resolve();
  }
  subscribe(handlers: { onMessage(m: string): void; onGap(reason: string): void }): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function setup(
  nodes: NodeTarget__Output[],
  idleMs: number,
): Promise<{ wake: WakeService; compute: FakeCompute; topic: FakeTopic }> {
  const compute = new FakeCompute();
  const topic = new FakeTopic();
  let handlers: RouteWatchHandlers | undefined;
  const wake = new WakeService({
    compute,
    routes: {
      table: () => Promise.resolve({ nodes }),
      watch: (h) => {
        handlers = h;
        return { close: () => undefined };
      },
    },
    idleMs,
    topic,
    log,
  });
  await wake.start();
  handlers!.onReload();
  await new Promise((resolve) => setImmediate(resolve));
  wake.close(); // the test drives stopIdle itself
  return { wake, compute, topic };
}

test('concurrent wakes of one node are one compute call; a failure is WAKE_FAILED', async () => {
  const { wake, compute } = await setup([], 0);
  const waits = Array.from({ length: 50 }, () => wake.wake('n1', Date.now() + 5000));
  assert.equal(compute.wakes, 1);
  compute.release!();
  for (const address of await Promise.all(waits)) assert.deepEqual(address, { host: '127.0.0.1', port: 4321 });
  assert.equal(wake.wakesInFlight, 0);

  compute.failWith = new AgoraError('AGORA_ERR_NODE_CONFLICT', ['wake', 'ERROR']);
  const failed = wake.wake('n1', Date.now() + 5000);
  compute.release!();
  await assert.rejects(failed, (e) => isAgoraError(e) && e.code === 'AGORA_ERR_PROXY_WAKE_FAILED');
  compute.failWith = new AgoraError('AGORA_ERR_RPC_TIMEOUT', ['Compute.Wake']);
  const late = wake.wake('n1', Date.now() + 5000);
  compute.release!();
  await assert.rejects(late, (e) => isAgoraError(e) && e.code === 'AGORA_ERR_PROXY_WAKE_TIMEOUT');
});

test('idle rule: unused ACTIVE nodes stopped once; used ones, and those reported by another instance, kept', async (t) => {
  const { wake, compute, topic } = await setup(
    [target('idle'), target('used'), target('heard'), target('stopped', 'STOPPED')],
    1000,
  );
  // The clock moves on 20 ms after the load (a mocked Date: no waiting).
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 20 });
  const now = Date.now();
  assert.equal(wake.activity(['used']), 1);
  assert.deepEqual(topic.published, [JSON.stringify({ used: ['used'] })], 'passed on to the other instances');
  topic.handlers!.onMessage(JSON.stringify({ used: ['heard'] }));
  wake.stopIdle(now + 500);
  assert.deepEqual(compute.slept, [], 'nothing is idle yet');
  wake.stopIdle(now + 990);
  // 'used' and 'heard' were used at `now` or later; 'idle' was only seen turning ACTIVE at load, 20 ms before.
  assert.deepEqual(compute.slept.sort(), ['idle']);
  topic.handlers!.onGap('reconnected');
  wake.stopIdle(now + 990);
  assert.deepEqual(compute.slept, ['idle'], 'a gap counts every node as used');
});
