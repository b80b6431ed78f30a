/**
 * The speed probe that a bench run's header gives (bench/machine.ts): a fixed loop timed on one core, so
 * that two runs' figures can be weighed against each other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machine, PROBE_STEPS, speedNote, speedProbeMs } from '../../bench/machine';

test('the speed probe times its loop, and the header says both timings of a run', () => {
  const ms = speedProbeMs();
  assert.ok(Number.isFinite(ms) && ms > 0, `${ms} ms`);
  // 3·10⁸ steps take a modern core well over a millisecond: a loop left out would read near 0.
  assert.ok(ms > PROBE_STEPS / 1e7, `${ms} ms for ${PROBE_STEPS} steps`);
  assert.equal(
    speedNote(312.4, 1007.6),
    'one core ran a fixed loop (3·10⁸ steps) in 312 ms when the run began and 1008 ms when it ended (the longer, the slower or busier the host)',
  );
  assert.match(machine(), / × \d+, \w+ [\w.-]+, Node v\d+/);
});
