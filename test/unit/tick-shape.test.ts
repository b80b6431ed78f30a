/**
 * lib/tick-shape.ts, in fresh Node processes (inline caches are per process): after full collections at
 * rest, `process.nextTick` builds its tick objects through V8's runtime (its literal's caches for the
 * properties after the first are megamorphic) unless one tick object is kept; with keepTickShape() they
 * stay monomorphic. The caches' states are read from V8's own description of the function
 * (`%DebugPrint`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { keepTickShape } from '../../lib/tick-shape';

const MODULE = path.join(__dirname, '..', '..', 'lib', 'tick-shape.js');

/** The states of nextTick's literal property caches after eight rounds of ticks, each followed by a full collection. */
function literalCaches(keep: boolean): string[] {
  const script = `
    ${keep ? `if (!require(${JSON.stringify(MODULE)}).keepTickShape()) throw new Error('no tick object held');` : ''}
    function burst(n, done) {
      let left = n;
      for (let i = 0; i < n; i++) process.nextTick(() => { if (--left === 0) done(); });
    }
    function round(r) {
      if (r === 0) return %DebugPrint(process.nextTick);
      burst(2000, () => setImmediate(() => { gc(); round(r - 1); }));
    }
    round(8);
  `;
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(run.status, 0, run.stderr);
  return [...run.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]);
}

test('full collections at rest leave nextTick on the runtime path (what the module is for)', () => {
  const states = literalCaches(false);
  assert.equal(states.length, 4, 'the tick object literal has four properties');
  assert.ok(states.includes('MEGAMORPHIC'), states.join(' '));
});

test('with one tick object kept, its caches stay monomorphic', () => {
  assert.deepEqual(literalCaches(true), ['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
});

test('keepTickShape holds one and can be called again', () => {
  assert.equal(keepTickShape(), true);
  assert.equal(keepTickShape(), true);
});
