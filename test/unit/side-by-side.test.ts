/**
 * The bench's side-by-side runner (bench/side-by-side.ts) against two real server processes: each is
 * loaded in its turns only, the other stopped meanwhile, every answer checked, and both run again after.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { roundsCell, throughputRatio } from '../../bench/http';
import { sideBySide, type Contender } from '../../bench/side-by-side';
import { cpuMicros } from '../../bench/startup';

/** A process answering the POSTs with `answers` in turn, its URL printed on its first line. */
async function server(
  t: TestContext,
  ...answers: string[]
): Promise<{ url: string; child: ChildProcess; pid: number }> {
  const source = `
    const http = require('node:http');
    const answers = ${JSON.stringify(answers)};
    let n = 0;
    const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end(answers[n++ % answers.length])); });
    s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: line.toString().trim(), child, pid: child.pid! };
}

/** The state letter of /proc/<pid>/stat: T while stopped. */
function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

test('each contender is loaded in its own turns, the others stopped, every answer checked', async (t) => {
  const a = await server(t, 'a');
  const b = await server(t, 'b', 'x');
  const idle = await server(t, 'idle');
  // Read at the start and end of each measured slice: who is stopped then.
  const seen: string[] = [];
  const contender = (own: typeof a, other: typeof a, expectBody: string): Contender => ({
    url: own.url,
    bodies: '{}',
    expectBody,
    pids: () => [own.pid],
    meters: [
      { name: 'cpu', read: () => cpuMicros(own.pid) },
      { name: 'states', read: () => (seen.push(`${state(own.pid)}${state(other.pid)}${state(idle.pid)}`), 0) },
    ],
  });
  const [ra, rb] = await sideBySide(
    [contender(a, b, 'a'), contender(b, a, 'b')],
    { durationS: 2, slices: 2, connections: 4 },
    undefined,
    [() => [idle.pid]],
  );
  // The measured one runs (R or S), the other and the bystander are stopped, at every read of every turn.
  assert.equal(seen.length, 8);
  for (const s of seen) assert.match(s, /^[RS]TT$/, `states (own, other, bystander): ${s}`);
  assert.ok(ra.total > 0 && ra.rps > 0, 'a answered');
  assert.equal(ra.bad, 0);
  assert.equal(ra.runs, 5);
  assert.equal(ra.turnRps.length, 2);
  assert.ok(ra.turnRps.every((rps) => rps > 0));
  assert.ok(ra.served >= ra.total, 'the settling runs are served too');
  assert.ok(ra.cpu[0].usPerRequest !== undefined && ra.cpu[0].usPerRequest > 0);
  // b answers "x" every other time where "b" is expected: those answers, and only those, are counted bad
  // (give or take the requests of each turn's 4 connections cut off at its end).
  assert.ok(rb.total > 0);
  assert.ok(Math.abs(2 * rb.bad - rb.total) <= 20, `${rb.bad} bad of ${rb.total}`);
  // Everything runs again afterwards.
  for (const pid of [a.pid, b.pid, idle.pid]) assert.notEqual(state(pid), 'T');
  // A ratio of the two: over all turns, and round by round from the turns each round took.
  const ratio = throughputRatio('a / b', ra, rb);
  assert.equal(ratio.value, ra.rps / rb.rps);
  assert.deepEqual(ratio.rounds, [ra.turnRps[0] / rb.turnRps[0], ra.turnRps[1] / rb.turnRps[1]]);
  assert.equal(roundsCell(ratio), ratio.rounds.map((r) => r.toFixed(2)).join(' · '));
});

test('a contender that gives no expected answer in its warm-up is not measured, and the error says what it answers', async (t) => {
  const right = await server(t, 'ok');
  const wrong = await server(t, '{"status":false,"error":"session refused"}');
  const contender = (s: typeof right): Contender => ({
    url: s.url,
    bodies: '{}',
    expectBody: 'ok',
    pids: () => [s.pid],
    meters: [],
  });
  await assert.rejects(
    sideBySide([contender(right), contender(wrong)], { durationS: 2, slices: 2, connections: 4 }),
    (err: Error) => {
      assert.match(err.message, new RegExp(`^${wrong.url} gave no expected answer in \\d+ s of warm-up`));
      assert.match(err.message, /one request now gets: 200 \{"status":false,"error":"session refused"\}$/);
      return true;
    },
  );
  // Both run again after the refusal.
  for (const pid of [right.pid, wrong.pid]) assert.notEqual(state(pid), 'T');
});

test("a ratio's rounds as the table shows them", () => {
  assert.equal(roundsCell({ name: 'cpu', value: 2.4 }), '–');
  assert.equal(roundsCell({ name: 'x', value: 0.6, rounds: [0.584, 0.6, Infinity, 0.655] }), '0.58 · 0.60 · – · 0.66');
});
