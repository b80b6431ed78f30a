/**
 * lib/young-generation.ts, in fresh Node processes (V8's flags are per process): held, the young
 * generation does not grow however much survives; once let grow, its first growth takes it from
 * 1 MB to its full 16 MB per semi-space, where V8's default doubles it step by step; and its
 * compacting collection gives back the pages a full collection alone keeps.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { hasOwnYoungGenerationFlags } from '../../lib/young-generation';

const MODULE = path.join(__dirname, '..', '..', 'lib', 'young-generation.js');
const MB = 2 ** 20;

/**
 * The sizes (MB, both semi-spaces) the young generation took while a child process kept 30 MB of
 * small objects alive, after running `setup` with the module as `yg`.
 */
function sizesWith(setup: string): number[] {
  const script = `
    const v8 = require('node:v8');
    const yg = require(${JSON.stringify(MODULE)});
    ${setup}
    const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const seen = new Set([size()]);
    const keep = [];
    for (let i = 0; i < 600000; i++) {
      keep.push({ i, s: 'survivor ' + i });
      if (i % 1000 === 0) seen.add(size());
    }
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as number[]).map((bytes) => bytes / MB);
}

test("V8's default grows the young generation step by step (what the other tests are told from)", () => {
  const sizes = sizesWith('');
  assert.ok(Math.max(...sizes) >= 32, `sizes ${sizes.join(', ')}`);
  assert.ok(
    sizes.some((mb) => mb > 2 && mb < 32),
    `no step between 2 and 32 MB: ${sizes.join(', ')}`,
  );
});

test('held, the young generation keeps its first size', () => {
  const sizes = sizesWith('if (!yg.holdYoungGeneration()) throw new Error("not held");');
  assert.ok(Math.max(...sizes) <= 2, `sizes ${sizes.join(', ')}`);
});

test('let grow after being held, its first growth takes it to its full size at once', () => {
  const sizes = sizesWith('yg.holdYoungGeneration(); if (!yg.growYoungGenerationAtOnce()) throw new Error("not set");');
  assert.ok(Math.max(...sizes) >= 32, `sizes ${sizes.join(', ')}`);
  assert.deepEqual(
    sizes.filter((mb) => mb > 2 && mb < 32),
    [],
  );
});

test('a process started with its own young-generation flags keeps them', () => {
  assert.equal(hasOwnYoungGenerationFlags(['--min-semi-space-size=16']), true);
  assert.equal(hasOwnYoungGenerationFlags(['--semi_space_growth_factor=4']), true);
  assert.equal(hasOwnYoungGenerationFlags([], '--max-old-space-size=512 --semi-space-growth-factor=2'), true);
  assert.equal(
    hasOwnYoungGenerationFlags(['--max-semi-space-size=8', '--expose-gc'], '--max-old-space-size=512'),
    false,
  );
  const sizes = sizesWith('if (yg.holdYoungGeneration(["--min-semi-space-size=1"])) throw new Error("held");');
  assert.ok(Math.max(...sizes) >= 32, `sizes ${sizes.join(', ')}`);
});

/**
 * The old generation's size and use (MB), before and after `collect` (run with the module as `yg`), in a
 * child that filled it with ~40 MB of small objects and kept one in four: every page partly live.
 */
function oldGenerationAround(collect: string): {
  before: { size: number; used: number };
  after: { size: number; used: number };
  gcGlobal: string;
} {
  const script = `
    const v8 = require('node:v8');
    const yg = require(${JSON.stringify(MODULE)});
    const old = () => {
      const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
      return { size: s.space_size / ${MB}, used: s.space_used_size / ${MB} };
    };
    let keep = [];
    for (let i = 0; i < 600000; i++) keep.push({ i, s: 'survivor ' + i });
    keep = keep.filter((_, i) => i % 4 === 0);
    const before = old();
    ${collect}
    process.stdout.write(JSON.stringify({ before, after: old(), gcGlobal: typeof gc, kept: keep.length }));
  `;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as ReturnType<typeof oldGenerationAround>;
}

test('a full collection alone frees the old generation but keeps its pages (what the next test is told from)', () => {
  const { before, after } = oldGenerationAround(
    "v8.setFlagsFromString('--expose-gc'); require('node:vm').runInNewContext('gc')();",
  );
  assert.ok(before.used - after.used > 20, `used ${before.used} -> ${after.used} MB`);
  assert.ok(after.size - after.used > 20, `size ${after.size}, used ${after.used} MB`);
});

test('compactOldGeneration gives back the pages it empties, and leaves no gc global behind', () => {
  const { before, after, gcGlobal } = oldGenerationAround(
    'if (!yg.compactOldGeneration()) throw new Error("no collection");',
  );
  assert.ok(before.size - after.size > 20, `size ${before.size} -> ${after.size} MB`);
  assert.ok(after.size - after.used < 5, `size ${after.size}, used ${after.used} MB`);
  assert.equal(gcGlobal, 'undefined');
});
