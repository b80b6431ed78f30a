/**
 * Two builds of the gateway compared in the same moment: `node dist/bench/gateway-ab.js [<other tree>]` starts one
 * mesh (this tree's broker, auth, channels and messages) with two gateways on it, A from `<other tree>`'s
 * `dist/gateway/main.js` (another checkout, built, with its own node_modules) and B from this tree, and loads
 * both at once with `POST /post`, half the connections each, round after round. It prints the requests per second
 * and the CPU µs per request of each gateway (utime + stime from /proc), and B / A, per round and over all.
 *
 * Loaded at the same time, both gateways share whatever else the machine does, where runs in turn each get their
 * own moment: on a shared host, one tree against itself gave B / A within ~3 % of 1 round after round while
 * either side's CPU per request moved by 10 % or more. Without `<other tree>` both gateways are this tree's: the
 * spread of B / A then is the noise. The mesh's other processes serve both, so only the gateways are compared.
 *
 * Knobs: BENCH_ROUNDS (6), BENCH_DURATION_S (6 per round, after 3 s of warm-up), BENCH_CONNECTIONS (64, split).
 * Not part of `npm run bench`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { call } from '../test/helpers/v1';
import { launch, launchServices, procfileNodeFlags, ROOT, stopAll, type Launcher, type Proc } from './procs';
import { POST_OK } from './http';
import { badOf } from './side-by-side';
import { cpuMicros } from './startup';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

interface Side {
  name: string;
  proc: Proc;
  url: string;
}

async function main(): Promise<void> {
  const other = process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]);
  const rootA = other ?? ROOT;
  if (!existsSync(path.join(rootA, 'dist', 'gateway', 'main.js')))
    throw new Error(`${rootA}/dist/gateway/main.js not found: build that tree first (npm install && npm run build)`);
  const procs: Proc[] = [];
  try {
    // Load shedding on event-loop delay off, as in bench/http.ts: a pause of the host must not shed either side.
    const env = { AGORA_MAX_EVENT_LOOP_DELAY_MS: '0' };
    const start: Launcher = (name, entry, vars) => launch(procs, name, entry, vars, procfileNodeFlags(entry));
    const services = await launchServices(start, env);
    const gateway = { ...env, AGORA_BUS_URL: services.bus, AGORA_HTTP_PORT: '0' };
    const a = await launch(procs, 'A', 'gateway/main.js', gateway, [], [], rootA);
    const b = await launch(procs, 'B', 'gateway/main.js', gateway);
    const sides: Side[] = [
      { name: other === undefined ? 'A (this tree)' : `A (${other})`, proc: a, url: a.endpoints.http },
      { name: 'B (this tree)', proc: b, url: b.endpoints.http },
    ];
    const logon = await call(a.endpoints.http, 'POST', '/logon', { body: { username: 'bench', password: 'bench-pw' } });
    const sesskey = (logon.body as { data?: unknown } | null)?.data;
    if (typeof sesskey !== 'number') throw new Error(`logon answered ${logon.status}: ${logon.text.slice(0, 200)}`);
    await call(a.endpoints.http, 'POST', '/create', { body: { sesskey, channel: 'bench' } });
    const body = JSON.stringify({ sesskey, channel: 'bench', message: 'hello, bench' });
    const load = (url: string, duration: number) =>
      autocannon({
        url: `${url}/post`,
        method: 'POST',
        connections: Math.max(1, Math.floor(CONNECTIONS / 2)),
        duration,
        body,
        headers: { 'content-type': 'application/json' },
        // Every answer checked: the legacy API answers a failure with 200 and `status: false`.
        expectBody: POST_OK,
      });
    await Promise.all(sides.map((s) => load(s.url, 3)));
    console.log(sides.map((s) => s.name).join(' vs '));
    const totals = sides.map(() => ({ cpu: 0, requests: 0 }));
    for (let round = 1; round <= ROUNDS; round++) {
      const before = sides.map((s) => cpuMicros(s.proc.child.pid));
      const results = await Promise.all(sides.map((s) => load(s.url, DURATION_S)));
      const us = sides.map((s, i) => {
        const start = before[i];
        const end = cpuMicros(s.proc.child.pid);
        const answered = results[i].requests.total;
        if (start === undefined || end === undefined || answered === 0) return NaN;
        totals[i].cpu += end - start;
        totals[i].requests += answered;
        return (end - start) / answered;
      });
      const bad = results.reduce((n, r) => n + badOf(r), 0);
      const each = results.map((r, i) => `${Math.round(r.requests.average)} requests/s, ${us[i].toFixed(2)} µs`);
      console.log(`round ${round}: A ${each[0]} | B ${each[1]} | B / A ${(us[1] / us[0]).toFixed(3)}, ${bad} bad`);
    }
    const mean = totals.map((t) => t.cpu / Math.max(1, t.requests));
    console.log(
      `all rounds: A ${mean[0].toFixed(2)} µs, B ${mean[1].toFixed(2)} µs per request, B / A ${(mean[1] / mean[0]).toFixed(3)}`,
    );
  } finally {
    await stopAll(procs);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
