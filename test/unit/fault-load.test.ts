/**
 * The measuring side of the fault suite and the soak (bench/fault-load.ts, bench/soak-stats.ts,
 * bench/reliability-doc.ts), against a hand-made legacy gateway that can lose, duplicate or never
 * answer posts: the bar (no acknowledged post lost, no request hung) must be able to fail.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { figuresOf, MixedLoad, type Op } from '../../bench/fault-load';
import { withSection } from '../../bench/reliability-doc';
import { flagsSentence, soakTables } from '../../bench/soak';
import { growth, peakGrowth, slopePerMinute, trendGrowth } from '../../bench/soak-stats';
import { freePort } from '../helpers/proc';

type Fault = 'none' | 'lose' | 'duplicate' | 'hang' | 'cut' | 'retain3';

/** A legacy gateway keeping posts in memory, with `fault` applied to every other post. */
async function fakeGateway(t: TestContext, fault: Fault): Promise<string> {
  const stored: Array<{ messageid: number; username: string; message: string }> = [];
  let posts = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const json = JSON.parse(body || '{}') as { message?: string };
      const answer = (data: unknown): void => void res.end(JSON.stringify({ status: true, data }));
      if (req.url === '/logon') return answer(7);
      if (req.url === '/retrieve') return answer(stored);
      if (req.url !== '/post') return answer(true);
      const odd = posts++ % 2 === 1;
      if (odd && fault === 'hang') return undefined; // never answers
      if (odd && fault === 'cut') {
        // stored, then the answer is cut off mid-body, as by a gateway killed while answering
        stored.push({ messageid: stored.length + 1, username: 'u', message: json.message! });
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"status":');
        return void setImmediate(() => res.destroy());
      }
      const copies = odd && fault === 'lose' ? 0 : odd && fault === 'duplicate' ? 2 : 1;
      for (let i = 0; i < copies; i++)
        stored.push({ messageid: stored.length + 1, username: 'u', message: json.message! });
      // A channel keeping its newest 3 only, as AGORA_MESSAGES_RETAINED=3 would.
      if (fault === 'retain3' && stored.length > 3) stored.shift();
      return answer(true);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const OPS: Op[] = ['legacy-post', 'legacy-retrieve'];

async function run(gateways: string[], hangMs = 2000, lanes = 2): Promise<MixedLoad> {
  const load = await MixedLoad.open({
    gateways,
    busUrl: 'tcp://127.0.0.1:1',
    prefix: 'unit',
    lanes,
    channels: 1,
    paceMs: 5,
    hangMs,
    ops: OPS,
  });
  load.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await load.stop();
  load.close();
  return load;
}

test('a gateway that keeps every post: nothing lost, failed, hung or duplicated', async (t) => {
  const load = await run([await fakeGateway(t, 'none')]);
  const f = load.figures(Date.now(), await load.readBack());
  assert.ok(f.acknowledgedPosts > 4, JSON.stringify(f));
  assert.deepEqual([f.lost, f.failed, f.hung, f.duplicated, f.recoveryS], [0, 0, 0, 0, 0]);
});

test('acknowledged posts that are not there afterwards count as lost', async (t) => {
  const load = await run([await fakeGateway(t, 'lose')]);
  const back = await load.readBack();
  assert.ok(back.lost > 0 && back.lost < load.acked.size, JSON.stringify(back));
  assert.equal(load.figures(Date.now(), back).lost, back.lost);
  assert.match(back.lostExamples[0], /^unit-\d-\d+$/);
});

test('with a retention, only the posts a channel still keeps are looked for, and a lane per channel is needed', async (t) => {
  const gateway = await fakeGateway(t, 'retain3');
  const load = await run([gateway], 2000, 1);
  assert.ok(load.acked.size > 3, String(load.acked.size));
  assert.equal((await load.readBack()).lost, load.acked.size - 3);
  assert.equal((await load.readBack(3)).lost, 0);
  // Four kept looked for, three there: the oldest of the four is missing.
  assert.equal((await load.readBack(4)).lost, 1);
  await assert.rejects((await run([gateway])).readBack(3), /a channel per lane/);
});

test('a post found twice counts as duplicated', async (t) => {
  const load = await run([await fakeGateway(t, 'duplicate')]);
  assert.ok((await load.readBack()).duplicated > 0);
});

test('a request with no answer within hangMs counts as hung, not as failed', async (t) => {
  const faultAt = Date.now();
  const load = await run([await fakeGateway(t, 'hang')], 200);
  const f = load.figures(faultAt, await load.readBack());
  assert.ok(f.hung > 0, JSON.stringify(f));
  assert.equal(f.failed, 0);
  assert.ok(f.recoveryS >= 0.2, JSON.stringify(f));
});

test('an answer cut off mid-body is a failure, and its post counts as failed, yet written', async (t) => {
  const load = await run([await fakeGateway(t, 'cut')]);
  const f = load.figures(Date.now(), await load.readBack());
  assert.ok(f.failed > 0 && f.writtenAfterFailure === f.failed, JSON.stringify(f));
  assert.deepEqual([f.hung, f.lost], [0, 0]);
});

test('a refused connection goes to the next gateway, as a load balancer sends it', async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const load = await run([closed, await fakeGateway(t, 'none')]);
  const f = load.figures(Date.now(), await load.readBack());
  assert.ok(f.rerouted > 0, JSON.stringify(f));
  assert.deepEqual([f.failed, f.hung, f.lost], [0, 0, 0]);
});

test('figuresOf counts failures by request and code, those at the deadline, and the recovery time', () => {
  const f = figuresOf(
    [
      { op: 'v1-post', start: 1000, end: 1100, code: null, hung: false },
      { op: 'v1-post', start: 1100, end: 6500, code: 'v1 HTTP 503 errno 201', hung: false },
      { op: 'bus-echo', start: 1200, end: 1400, code: 'AGORA_ERR_BUS_DISCONNECTED', hung: false },
      { op: 'v1-post', start: 1300, end: 1400, code: 'v1 HTTP 503 errno 201', hung: false },
    ],
    1000,
    { lost: 0, duplicated: 0, writtenAfterFailure: 1, lostExamples: [] },
    2,
  );
  assert.deepEqual(f.codes, { 'v1-post: v1 HTTP 503 errno 201': 2, 'bus-echo: AGORA_ERR_BUS_DISCONNECTED': 1 });
  assert.deepEqual([f.sent, f.failed, f.hung, f.recoveryS, f.writtenAfterFailure], [4, 3, 0, 5.5, 1]);
  assert.equal(f.atDeadline, 1);
});

test('growth compares the last three samples with the first three from the mark; slope is per minute', () => {
  const flat = Array.from({ length: 12 }, (_, i) => ({ t: i * 10_000, value: 100 }));
  assert.equal(growth(flat, 20_000), 0);
  const rising = flat.map((s) => ({ t: s.t, value: 100 + s.t / 1000 }));
  assert.equal(slopePerMinute(rising, 0), 60);
  assert.ok(Math.abs(growth(rising, 20_000)! - (100 + 100) / (100 + 30) + 1) < 1e-9);
  assert.equal(growth(flat.slice(0, 5), 0), undefined);
});

test("the trend's growth: a ramp's rise; a sawtooth's drift, whatever phase it ends in", () => {
  const ramp = Array.from({ length: 13 }, (_, i) => ({ t: i * 10_000, value: 100 + i * 2 }));
  assert.ok(Math.abs(trendGrowth(ramp, 0)! - 0.24) < 1e-9, 'a ramp 100 -> 124: +24 %');
  // Climbs 74 -> 89 over 100 s, then drops back: flat on average, the ends in different phases.
  const saw = Array.from({ length: 61 }, (_, i) => ({ t: i * 10_000, value: 74 + 1.5 * (i % 10) }));
  const ends = growth(saw.slice(10, 60), 100_000)!;
  const trend = trendGrowth(saw.slice(10, 60), 100_000)!;
  assert.ok(ends > 0.1, `the ends' means of this sawtooth: ${ends}`);
  assert.ok(Math.abs(trend) < 0.05, `its trend: ${trend}`);
  const leaking = saw.map((s) => ({ t: s.t, value: s.value + s.t / 20_000 }));
  assert.ok(trendGrowth(leaking.slice(10, 60), 100_000)! > 0.2, 'the same sawtooth on a 3 MB/min climb');
  assert.equal(trendGrowth(ramp.slice(0, 5), 0), undefined);
});

test("the peaks' growth: flat for a sawtooth whose trend tilts with its phase; a leak lifts it", () => {
  // Sampled every 10 s for 10 minutes: climbs 67 -> 93.6 over 110 s, then drops back.
  const saw = Array.from({ length: 61 }, (_, i) => ({ t: i * 10_000, value: 67 + 2.4 * (i % 12) }));
  const trend = trendGrowth(saw, 120_000)!;
  assert.ok(trend > 0.05, `the trend of this sawtooth from minute 2 leans with its phase: ${trend}`);
  const peaks = peakGrowth(saw, 120_000)!;
  assert.ok(Math.abs(peaks) < 0.01, `its peaks: ${peaks}`);
  const leaking = saw.map((s) => ({ t: s.t, value: s.value + s.t / 20_000 }));
  assert.ok(peakGrowth(leaking, 120_000)! > 0.1, 'the same sawtooth on a 3 MB/min climb: over the bar');
  const ramp = Array.from({ length: 61 }, (_, i) => ({ t: i * 10_000, value: 100 + i }));
  assert.ok(
    Math.abs(peakGrowth(ramp, 0)! - (160 / 111 - 1)) < 0.01,
    'a ramp 100 -> 160: from the highest of the first window (111, at 110 s) to that of the last (160)',
  );
  assert.equal(peakGrowth(ramp, 0, 300_000), undefined, 'fewer than three windows');
});

test('a script rewrites its own section of docs/RELIABILITY.md and keeps the rest', () => {
  const once1 = withSection('# Reliability\n\nIntro by hand.\n', 'faults', 'F1');
  const twice = withSection(withSection(once1, 'soak', 'S1'), 'faults', 'F2');
  assert.match(twice, /^# Reliability\n\nIntro by hand\.\n/);
  assert.ok(twice.includes('F2') && twice.includes('S1') && !twice.includes('F1'), twice);
  assert.ok(twice.indexOf('F2') < twice.indexOf('S1'));
});

test("the soak's tables: a row per process, its value at each whole minute, slope and growth", () => {
  const samples = Array.from({ length: 19 }, (_, i) => ({ t: i * 10_000, value: 100 + i }));
  const table = soakTables(new Map([['broker.1 · rss', samples]]), 3, 1);
  const row = table.split('\n').find((line) => line.startsWith('| broker.1 '));
  assert.equal(
    row,
    '| broker.1 | 100.0 | 106.0 | 112.0 | 118.0 | 6.00 | 9.3 % | 11.3 % | – |',
    'no peaks in 2 minutes',
  );
  assert.ok(table.startsWith('| Resident memory, MB (/proc) | 0 min | 1 min | 2 min | 3 min |'), table);
});

test('the soak says which flags most kinds of process ran with, and names the kinds that ran with others', () => {
  const services = ['--min-semi-space-size=16'];
  const broker = ['--min-semi-space-size=2', '--max-semi-space-size=2'];
  assert.equal(
    flagsSentence([
      ['broker', broker],
      ['auth', services],
      ['messages', services],
      ['gateway', []],
    ]),
    ' Every Agora process but the brokers and the gateways ran as `node --min-semi-space-size=16 …`, the brokers as' +
      " `node --min-semi-space-size=2 --max-semi-space-size=2 …`, the gateways as `node …` (the Procfile's flags," +
      ' README.md "The parts").',
  );
  assert.equal(
    flagsSentence([
      ['auth', services],
      ['messages', services],
    ]),
    ' Every Agora process ran as `node --min-semi-space-size=16 …` (the Procfile\'s flags, README.md "The parts").',
  );
  assert.equal(flagsSentence([['auth', []]]), '');
});
