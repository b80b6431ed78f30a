/**
 * The proxy against nginx (docs/ARCHITECTURE.md "Tests and measurement"): one GET of a short
 * text from one target (bench/proxy-backend.ts, a node:http process), side by side in one
 * run, by the same load generator (autocannon in this process, 64 keep-alive connections):
 *   - direct to the target: the ceiling;
 *   - through nginx (Debian's /usr/sbin/nginx, one worker, proxy_pass to an upstream with
 *     keepalive, the same forwarded headers, no access log), from a config written to a
 *     temp dir;
 *   - through the proxy process (services/proxy/main.js, its table from a routes file);
 *   - through bench/proxy-agent.ts, the same forwarding on node's http.Agent: the machinery
 *     services/proxy does not use, measured beside it.
 * Besides requests/s and latency it reads each server's CPU time from /proc and gives it per
 * request, which a machine shared with other work disturbs less than throughput.
 *
 * `node dist/bench/proxy.js` prints a Markdown table. BENCH_DURATION_S (10) is the length
 * of each measured run, after a warm-up of BENCH_WARMUP_S (2); BENCH_CONNECTIONS (64);
 * BENCH_PROFILE_DIR runs the proxy under `node --cpu-prof` into that folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/proc';
import { launch, stopAll, type Proc } from './procs';
import { cpuMicros } from './startup';

type AutocannonResult = autocannon.Result;

const NGINX = '/usr/sbin/nginx';
/** The Host every request names: a node's static URL. */
const NODE_HOST = 'web.bench.nodes.localhost';
const EXPECTED = 'hello from target\n';

export interface ProxyBenchOptions {
  durationS?: number;
  warmupS?: number;
  connections?: number;
  /** Run the proxy under --cpu-prof into this folder. */
  profileDir?: string;
  progress?: (line: string) => void;
}

export interface ProxyBenchRow {
  key: 'direct' | 'nginx' | 'proxy' | 'agent';
  name: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Errors, timeouts, non-2xx and wrong bodies. */
  bad: number;
  /** CPU time (user + system) of the proxying process per request, µs; the target's for `direct`. */
  cpuUsPerRequest: number;
  /** The target's CPU time per request, µs. */
  targetCpuUsPerRequest: number;
}

/** CPU time (user + system) of process `pid` so far, in µs; NaN where /proc cannot say. */
const cpuUs = (pid: number): number => cpuMicros(pid) ?? NaN;

/** Resolve once `port` accepts a connection; reject after `ms`. */
async function accepting(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true));
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.destroy());
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts on port ${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** nginx.conf for one worker proxying to `target` with upstream keep-alive, everything under `dir`. */
function nginxConfig(dir: string, listen: number, target: number): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream target {
    server 127.0.0.1:${target};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
}

/** Start nginx on a free port in front of `target`; the master's and worker's pids join `procs`. */
async function startNginx(procs: Proc[], dir: string, target: number): Promise<{ port: number; workerPid: number }> {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, target));
  const child = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push({ name: 'nginx', child, endpoints: {} });
  await accepting(port, 10_000);
  // The one worker is the master's only child.
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || children[0] === '') throw new Error(`nginx has ${children.length} workers, not 1`);
  return { port, workerPid: Number(children[0]) };
}

async function load(port: number, seconds: number, connections: number): Promise<AutocannonResult> {
  return autocannon({
    url: `http://127.0.0.1:${port}/`,
    headers: { host: NODE_HOST },
    connections,
    duration: seconds,
    expectBody: EXPECTED,
  });
}

/** Warm up, then measure `port` while reading the CPU time of `pids` (the proxying process first). */
async function measure(
  port: number,
  pids: [number, number],
  options: Required<Omit<ProxyBenchOptions, 'profileDir'>>,
): Promise<{ r: AutocannonResult; cpu: [number, number] }> {
  if (options.warmupS > 0) await load(port, options.warmupS, options.connections);
  const before = pids.map(cpuUs);
  const r = await load(port, options.durationS, options.connections);
  const cpu = pids.map((pid, i) => (cpuUs(pid) - before[i]) / Math.max(1, r.requests.total)) as [number, number];
  return { r, cpu };
}

function row(
  key: ProxyBenchRow['key'],
  name: string,
  m: { r: AutocannonResult; cpu: [number, number] },
): ProxyBenchRow {
  const { r, cpu } = m;
  return {
    key,
    name,
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    bad: r.errors + r.timeouts + r.non2xx + r.mismatches,
    cpuUsPerRequest: Math.round(cpu[0] * 10) / 10,
    targetCpuUsPerRequest: Math.round(cpu[1] * 10) / 10,
  };
}

/** Direct, nginx, proxy, http.Agent: one measured run each, in that order, on the same target process. */
export async function benchProxy(options: ProxyBenchOptions = {}): Promise<ProxyBenchRow[]> {
  const env = process.env;
  const opts = {
    durationS: options.durationS ?? Number(env.BENCH_DURATION_S ?? 10),
    warmupS: options.warmupS ?? Number(env.BENCH_WARMUP_S ?? 2),
    connections: options.connections ?? Number(env.BENCH_CONNECTIONS ?? 64),
    progress: options.progress ?? ((line: string) => void process.stderr.write(`${line}\n`)),
  };
  const profileDir = options.profileDir ?? (env.BENCH_PROFILE_DIR || undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-bench-proxy-'));
  const procs: Proc[] = [];
  try {
    const target = await launch(procs, 'target', 'bench/proxy-backend.js', { BACKEND_NAME: 'target' });
    const targetPid = target.child.pid!;
    const targetPort = Number(target.endpoints.port);
    const rows: ProxyBenchRow[] = [];
    const what = `${opts.connections} connections, ${opts.durationS} s`;

    opts.progress(`proxy bench: direct to the target, ${what}`);
    rows.push(row('direct', 'direct to the target (ceiling)', await measure(targetPort, [targetPid, targetPid], opts)));

    if (existsSync(NGINX)) {
      const nginx = await startNginx(procs, dir, targetPort);
      opts.progress(`proxy bench: through nginx, ${what}`);
      rows.push(
        row('nginx', 'through nginx (1 worker)', await measure(nginx.port, [nginx.workerPid, targetPid], opts)),
      );
    } else {
      opts.progress(`proxy bench: nginx row skipped: ${NGINX} is not installed (Debian package nginx)`);
    }

    const routes = path.join(dir, 'routes.json');
    const node = { id: 'web', status: 'ACTIVE', host: '127.0.0.1', port: targetPort };
    writeFileSync(routes, JSON.stringify([{ source: NODE_HOST, target: { node } }]));
    const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`];
    const proxy = await launch(
      procs,
      'proxy',
      'services/proxy/main.js',
      { AGORA_PROXY_PORT: '0', AGORA_PROXY_ROUTES_FILE: routes },
      nodeArgs,
    );
    const proxyPort = Number(new URL(proxy.endpoints.http).port);
    opts.progress(`proxy bench: through the proxy, ${what}`);
    rows.push(row('proxy', 'through the proxy', await measure(proxyPort, [proxy.child.pid!, targetPid], opts)));
    await stopAll(procs.filter((p) => p.name === 'proxy'));

    const agent = await launch(procs, 'agent', 'bench/proxy-agent.js', { TARGET_PORT: String(targetPort) });
    const agentPort = Number(new URL(agent.endpoints.http).port);
    opts.progress(`proxy bench: through node's http.Agent, ${what}`);
    rows.push(
      row(
        'agent',
        "through node's http.Agent (not used)",
        await measure(agentPort, [agent.child.pid!, targetPid], opts),
      ),
    );
    return rows;
  } finally {
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as a Markdown table, with the ratios to nginx. */
export function formatProxyTable(rows: readonly ProxyBenchRow[], connections = 64): string {
  const nginx = rows.find((r) => r.key === 'nginx');
  const direct = rows.find((r) => r.key === 'direct');
  const ratio = (r: ProxyBenchRow, base: ProxyBenchRow | undefined): string =>
    base === undefined || base.rps === 0 ? '–' : (r.rps / base.rps).toFixed(2);
  const perCore = (r: ProxyBenchRow): number => Math.round(1_000_000 / Math.max(0.1, r.cpuUsPerRequest));
  const coreRatio = (r: ProxyBenchRow, base: ProxyBenchRow | undefined): string =>
    base === undefined ? '–' : (perCore(r) / perCore(base)).toFixed(2);
  const lines = [
    `GET of a ${EXPECTED.length}-byte text, autocannon with ${connections} keep-alive connections, every body checked.`,
    'CPU µs per request: user + system time of the process that proxies (of the target, for the direct row)',
    'over the measured run, divided by the requests answered; "target CPU" is the target process. One core',
    'would serve 1 000 000 / (CPU µs per request) requests/s: throughput on a machine shared with other work',
    'moves with that work, this much less.',
    '',
    `| ${connections} connections | requests/s | p50 ms | p99 ms | bad | CPU µs/request | requests/s per core | target CPU µs/request | requests/s ÷ direct | requests/s ÷ nginx | per core ÷ nginx |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.bad} | ${r.cpuUsPerRequest} | ${perCore(r)} | ` +
        `${r.targetCpuUsPerRequest} | ${ratio(r, direct)} | ${ratio(r, nginx)} | ${coreRatio(r, nginx)} |`,
    ),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
  benchProxy({ connections }).then(
    (rows) => {
      const cpus = os.cpus();
      process.stdout.write(`\n${cpus[0]?.model.trim() ?? 'CPU'} × ${cpus.length}, Node ${process.version}\n\n`);
      process.stdout.write(`${formatProxyTable(rows, connections)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`bench/proxy: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
