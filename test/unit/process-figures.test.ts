/**
 * lib/process-figures.ts: a process's own memory and garbage-collection figures, logged every
 * AGORA_PROCESS_FIGURES_MS by every process that announces readiness (lib/lifecycle.ts), and read
 * back by the soak (bench/soak.ts).
 */
import assert from 'node:assert/strict';
import type { PerformanceEntry } from 'node:perf_hooks';
import { test } from 'node:test';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { FIGURES_MESSAGE, GcTotals, parseFigures, startProcessFigures } from '../../lib/process-figures';
import { startBroker } from '../helpers/proc';

const KEYS = [
  'rss',
  'heapUsed',
  'heapTotal',
  'external',
  'arrayBuffers',
  'gcCount',
  'gcPauseMs',
  'gcMaxPauseMs',
  'gcMinor',
  'gcMajor',
  'handles',
  'loopP99Ms',
  'loopMaxMs',
];

test('AGORA_PROCESS_FIGURES_MS is off by default, and takes ms from 0 to an hour', () => {
  assert.equal(loadConfig({}).processFiguresMs, 0);
  assert.equal(loadConfig({ AGORA_PROCESS_FIGURES_MS: '5000' }).processFiguresMs, 5000);
  assert.throws(() => loadConfig({ AGORA_PROCESS_FIGURES_MS: '-1' }), /AGORA_PROCESS_FIGURES_MS/);
});

test('startProcessFigures logs every figure at its interval, until stopped; 0 logs nothing', async () => {
  const lines: string[] = [];
  let arrived: (() => void) | undefined;
  const log = createLogger('test', 'info', {
    write: (line: string) => {
      lines.push(line);
      arrived?.();
    },
  });
  startProcessFigures(log, 0)();
  const stop = startProcessFigures(log, 10);
  // Its timer keeps no process alive: this one does while the test waits.
  const alive = setTimeout(() => undefined, 10_000);
  while (lines.length < 2) await new Promise<void>((resolve) => (arrived = resolve));
  stop();
  const count = lines.length;
  const figures = parseFigures(lines[1]);
  assert.ok(figures !== undefined, lines[1]);
  assert.deepEqual(Object.keys(figures), KEYS);
  assert.ok(figures.rss > figures.heapUsed && figures.heapTotal >= figures.heapUsed && figures.heapUsed > 0);
  assert.ok(figures.handles >= 0 && figures.loopP99Ms >= 0);
  assert.equal((JSON.parse(lines[1]) as { msg: string }).msg, FIGURES_MESSAGE);
  // Stopped: its timer is gone, so nothing more comes after a later one fires.
  await new Promise((resolve) => setTimeout(resolve, 50));
  clearTimeout(alive);
  assert.equal(lines.length, count);
});

test('GcTotals counts collections, minor and full ones and their pauses', () => {
  const gc = new GcTotals();
  const entry = (kind: number, duration: number) => ({ detail: { kind }, duration }) as unknown as PerformanceEntry;
  gc.add([entry(1, 0.5), entry(4, 3), entry(1, 1), entry(8, 0.5)]);
  assert.deepEqual([gc.count, gc.minor, gc.major, gc.pauseMs, gc.maxPauseMs], [4, 2, 1, 5, 3]);
});

test('GcTotals observes the real collections of the process', async () => {
  const gc = new GcTotals().start();
  try {
    let keep: unknown[] = [];
    while (gc.count === 0) {
      for (let i = 0; i < 50_000; i++) keep.push({ i });
      keep = [];
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(gc.count > 0 && gc.pauseMs > 0);
  } finally {
    gc.stop();
  }
});

test('parseFigures reads only a figures line', () => {
  assert.equal(parseFigures('{"msg":"ready","ready":true}'), undefined);
  assert.equal(parseFigures(`{"msg":"${FIGURES_MESSAGE}"`), undefined);
  assert.equal(parseFigures(`{"msg":"${FIGURES_MESSAGE}","figures":{"rss":"x"}}`), undefined);
  assert.equal(parseFigures(`{"msg":"${FIGURES_MESSAGE}","figures":{"rss":1,"heapUsed":2}}`)?.heapUsed, 2);
});

test('a process that announces readiness logs its figures with AGORA_PROCESS_FIGURES_MS set (the broker)', async () => {
  const broker = await startBroker({ AGORA_PROCESS_FIGURES_MS: '50' });
  try {
    const line = await broker.waitFor((l) => l.msg === FIGURES_MESSAGE, 10_000);
    const figures = line.figures as Record<string, number>;
    assert.deepEqual(Object.keys(figures), KEYS);
    assert.ok(figures.rss > 0 && figures.heapUsed > 0);
  } finally {
    await broker.stop();
  }
});

test('without AGORA_PROCESS_FIGURES_MS a process logs no figures', async () => {
  const broker = await startBroker();
  try {
    await assert.rejects(broker.waitFor((l) => l.msg === FIGURES_MESSAGE, 300));
  } finally {
    await broker.stop();
  }
});
