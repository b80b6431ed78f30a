/**
 * The fault suite, small (docs/RELIABILITY.md; `npm run faults` runs it at full size): one mesh of
 * real processes (bench/fault-mesh.ts: two brokers, two auth, one channels, two messages, echo, two
 * gateways, PostgreSQL and Redis), and each scenario of bench/fault-scenarios.ts under a light mixed
 * load. Each must end with no request hung and no acknowledged post lost, after its fault really
 * happened (a killed process has a new pid) and under a load that really ran; a killed worker, broker
 * or gateway must fail the calls it held at once, not at their deadline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshProblem, startFaultMesh, type FaultMesh } from '../../bench/fault-mesh';
import { FULL, runScenario, SCENARIOS, type Sizes } from '../../bench/fault-scenarios';
import { skipOrFail } from '../helpers/proc';

/** Small: a few seconds per scenario, the frozen worker stopped for 3 s instead of 10. */
const SMALL: Sizes = {
  ...FULL,
  lanes: 4,
  paceMs: 30,
  warmupMs: 1000,
  settleMs: 1500,
  maxMs: 30_000,
  freezeMs: 3000,
};

/** The process each scenario kills or freezes, whose pid must then be new (killed) or the same (frozen). */
const TARGET: Record<string, [string, 'new' | 'same']> = {
  'worker-of-two': ['messages.1', 'new'],
  'only-worker': ['channels.1', 'new'],
  'broker-of-two': ['broker.1', 'new'],
  'gateway-of-two': ['gateway.1', 'new'],
  'frozen-worker': ['messages.1', 'same'],
};

/** The scenarios whose failures must all come at once. */
const AT_ONCE = ['worker-of-two', 'broker-of-two', 'gateway-of-two'];

test('every fault scenario, small: nothing hung, no acknowledged post lost', async (t) => {
  const problem = meshProblem();
  if (problem !== undefined) {
    skipOrFail(t, problem, 'postgresql redis-server');
    return;
  }
  const mesh: FaultMesh = await startFaultMesh();
  t.after(() => mesh.stop());
  for (const scenario of SCENARIOS) {
    await t.test(scenario.title, async () => {
      const target = TARGET[scenario.key];
      const pidBefore = target === undefined ? undefined : mesh.procs.get(target[0])!.child.pid;
      const redisBefore = mesh.redis.pid();
      const r = await runScenario(mesh, scenario, SMALL);
      const f = r.figures;
      const said = `${r.note}: ${JSON.stringify(f)}`;
      assert.equal(f.hung, 0, `hung requests: ${said}`);
      assert.ok(r.settled, `requests still failing ${SMALL.maxMs} ms after the fault: ${said}`);
      assert.equal(f.lost, 0, `acknowledged, then lost (${r.lostExamples.join(', ')}): ${said}`);
      assert.equal(f.duplicated, 0, `duplicated posts: ${said}`);
      assert.ok(f.sent >= 50 && f.acknowledgedPosts >= 10, `the load hardly ran: ${said}`);
      // A dead worker, broker or gateway fails the calls it held at once, not at their deadline.
      if (AT_ONCE.includes(scenario.key)) assert.equal(f.atDeadline, 0, `failures at the deadline: ${said}`);
      if (target !== undefined) {
        const pidAfter = mesh.procs.get(target[0])!.child.pid;
        if (target[1] === 'new') assert.notEqual(pidAfter, pidBefore, `${target[0]} was not restarted`);
        else assert.equal(pidAfter, pidBefore, `${target[0]} was replaced, not frozen`);
      }
      if (scenario.key === 'redis-restart') assert.notEqual(mesh.redis.pid(), redisBefore, 'Redis was not restarted');
    });
  }
});
