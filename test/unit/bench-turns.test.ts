/**
 * The echo bench's turns (bench/load.ts, bench/procs.ts): a load client stays connected and measures one
 * cell for each turn asked of it, and a system's turns make one row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineTurns, type CellResult, type Turn } from '../../bench/load';
import { launch, startClient, stopAll, type Proc } from '../../bench/procs';

const cell = (calls: number, p50Us: number, p99Us: number, bad = 0): CellResult => ({
  inFlight: 1,
  calls,
  perSecond: calls,
  p50Us,
  p99Us,
  bad,
});

test("a system's turns make one row: all their calls over the whole window, the median of their percentiles", () => {
  const row = combineTurns([cell(1000, 120, 400), cell(800, 300, 900, 2), cell(1100, 110, 380)], 3000);
  assert.deepEqual(row, { inFlight: 1, calls: 2900, perSecond: 967, p50Us: 120, p99Us: 400, bad: 2 });
  // An even number of turns: the nearest-rank median, the lower of the middle two (as the HTTP table's).
  assert.equal(combineTurns([cell(1, 101, 1), cell(1, 100, 1)], 1000).p50Us, 100);
  assert.throws(() => combineTurns([], 1000), /no turn/);
});

test('a load client measures a cell for each turn it is given, connected throughout, and exits when told', async () => {
  const procs: Proc[] = [];
  try {
    const server = await launch(procs, 'raw-zmq-server', 'bench/raw-zmq-server.js');
    const client = await startClient<Turn, CellResult>(
      procs,
      'bench/raw-zmq-client.js',
      {
        endpoint: server.endpoints.zmq,
      },
      20_000,
    );
    const one = await client.turn({ inFlight: 1, warmupMs: 50, durationMs: 200 }, 10_000);
    const four = await client.turn({ inFlight: 4, warmupMs: 0, durationMs: 200 }, 10_000);
    assert.equal(one.inFlight, 1);
    assert.equal(four.inFlight, 4);
    for (const c of [one, four]) {
      assert.ok(c.calls > 0, `calls answered: ${JSON.stringify(c)}`);
      assert.equal(c.bad, 0);
      assert.ok(c.p50Us > 0 && c.p99Us >= c.p50Us);
    }
    const proc = procs.find((p) => p.name === 'bench/raw-zmq-client.js')?.child;
    await client.end(10_000);
    assert.equal(proc?.exitCode, 0, 'it exits on its own once its stdin ends');
  } finally {
    await stopAll(procs);
  }
});
