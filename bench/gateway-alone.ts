/**
 * The gateway's own CPU per request, apart from the rest of the mesh: `node dist/bench/gateway-alone.js`
 * runs the gateway app (gateway/app.ts, default config, log level info, its access lines written to stdout
 * as in production, here to /dev/null) in a child process, with a bus that answers every call at once
 * in that process, and loads `POST /post` with autocannon at 64 connections from this one. It prints the
 * requests per second and the gateway process's CPU µs per request (utime + stime from /proc), run after
 * run. With no broker or service beside it, the CPU per request moves less than the gateway's row in
 * bench/http.ts (±2.5 µs), though still by some ±1 µs between runs of one tree: alternate runs of the
 * trees compared.
 *
 * Knobs: BENCH_RUNS (4), BENCH_DURATION_S (5 per run, after 2 s of warm-up), BENCH_CONNECTIONS (64).
 * Not part of `npm run bench`: the bus here is no bus, so the numbers are the gateway's alone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { buildApp } from '../gateway/app';
import { createLogger } from '../lib/log';
import { cpuMicros } from './startup';

const RUNS = Number(process.env.BENCH_RUNS ?? 4);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const BODY = JSON.stringify({ sesskey: 4503599627370497, channel: 'general', message: 'hello there' });

/** The child: the gateway app with a bus answering Messages.Post at once; its port is sent to the parent. */
async function serve(): Promise<void> {
  let id = 0;
  const app = buildApp({
    bus: { call: async () => ({ messageid: ++id }) },
    log: createLogger('gateway', 'info'),
    config: { busMaxBodyBytes: 1_048_576, requestTimeoutMs: 5000 },
    build: { name: 'agora', version: '0', commit: 'bench', source: null },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  process.on('disconnect', () => process.exit(0));
}

async function measure(): Promise<void> {
  const child = spawn(process.execPath, [__filename, '--serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [port] = (await once(child, 'message')) as [number];
  const options = {
    url: `http://127.0.0.1:${port}/post`,
    method: 'POST' as const,
    connections: CONNECTIONS,
    body: BODY,
    headers: { 'content-type': 'application/json' },
  };
  try {
    await autocannon({ ...options, duration: 2 });
    for (let run = 1; run <= RUNS; run++) {
      const before = cpuMicros(child.pid);
      const result = await autocannon({ ...options, duration: DURATION_S });
      const after = cpuMicros(child.pid);
      const answered = Math.max(1, result.requests.total);
      const cpu = before === undefined || after === undefined ? NaN : (after - before) / answered;
      const bad = result.non2xx + result.errors + result.timeouts;
      console.log(
        `run ${run}: ${Math.round(result.requests.average)} requests/s, gateway CPU ${cpu.toFixed(2)} µs per request, ${bad} bad`,
      );
    }
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--serve')) void serve();
else
  measure().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
