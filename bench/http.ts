/**
 * HTTP through the whole mesh (docs/ARCHITECTURE.md "Tests and measurement"): POST /post and POST
 * /retrieve at 64 connections with autocannon, against broker + auth + channels + messages
 * + gateway as the Procfile starts them, beside the ceiling: one plain Fastify process that
 * answers the same /post from memory; then /post again with the mesh on a throwaway
 * PostgreSQL server (skipped, with a note, where PostgreSQL is not installed). Every answer is
 * checked (`expectBody`): a run whose answers are failures would measure nothing.
 *
 * `benchHttp()` is what bench/run.ts calls; `node dist/bench/http.js` runs it alone and
 * prints a Markdown table. `node dist/bench/http.js --ceiling` is the ceiling server itself.
 * BENCH_DURATION_S (default 10) and BENCH_CONNECTIONS (default 64) tune a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import fastify from 'fastify';
import { launchPostgres, postgresProblem } from '../test/helpers/backends';

type AutocannonResult = autocannon.Result;

export interface HttpBenchOptions {
  durationS?: number;
  connections?: number;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

export interface HttpBenchRow {
  name: string;
  /** Mean requests per second over the run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** rps / the ceiling's rps. */
  ratio: number;
  /** Requests whose answer was not the expected body, errors and timeouts. */
  bad: number;
}

const ROOT = path.resolve(__dirname, '..', '..');
const POST_OK = '{"status":true,"data":true}';

interface Proc {
  child: ChildProcess;
  endpoints: Record<string, string>;
}

/**
 * Start a compiled entry point and wait for its ready line; afterwards its output is
 * drained unparsed, so that the bench process spends its CPU on load, not on logs.
 */
async function launch(entry: string, env: Record<string, string>, args: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready in 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before it was ready`)));
    lines.on('line', (text) => {
      if (!text.includes('"ready":true')) return;
      clearTimeout(timer);
      resolve((JSON.parse(text) as { endpoints: Record<string, string> }).endpoints);
    });
  });
  const endpoints = await ready;
  lines.close();
  child.stdout.resume();
  return { child, endpoints };
}

async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(
    procs.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
}

/**
 * broker, auth, channels, messages, gateway: the Procfile's processes on free loopback ports; `env` goes to
 * every one.
 */
async function startMesh(procs: Proc[], env: Record<string, string> = {}): Promise<string> {
  const broker = await launch('services/broker/main.js', { AGORA_BUS_URL: 'tcp://127.0.0.1:0' });
  procs.push(broker);
  const common = { ...env, AGORA_BUS_URL: broker.endpoints.bus };
  const auth = await launch('services/auth/main.js', { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' });
  procs.push(auth);
  const channels = await launch('services/channels/main.js', {
    ...common,
    AGORA_AUTH_GRPC_URL: auth.endpoints.grpc,
    AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0',
  });
  procs.push(channels);
  procs.push(
    await launch('services/messages/main.js', {
      ...common,
      AGORA_AUTH_GRPC_URL: auth.endpoints.grpc,
      AGORA_CHANNELS_GRPC_URL: channels.endpoints.grpc,
      AGORA_MESSAGES_GRPC_URL: '127.0.0.1:0',
    }),
  );
  const gateway = await launch('gateway/main.js', { ...common, AGORA_HTTP_PORT: '0' });
  procs.push(gateway);
  return gateway.endpoints.http;
}

async function call(base: string, route: string, body: unknown): Promise<{ status: boolean; data: unknown }> {
  const res = await fetch(base + route, { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as { status: boolean; data: unknown };
}

async function load(
  url: string,
  body: string,
  expectBody: string,
  options: Required<HttpBenchOptions>,
): Promise<AutocannonResult> {
  return autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.durationS,
    expectBody,
  });
}

function row(name: string, r: AutocannonResult, ceilingRps: number): HttpBenchRow {
  return {
    name,
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ratio: ceilingRps > 0 ? r.requests.average / ceilingRps : 1,
    bad: r.mismatches + r.errors + r.timeouts + r.non2xx,
  };
}

/** Run the three measurements, one after the other on the same machine. */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBenchRow[]> {
  const opts: Required<HttpBenchOptions> = {
    durationS: options.durationS ?? Number(process.env.BENCH_DURATION_S ?? 10),
    connections: options.connections ?? Number(process.env.BENCH_CONNECTIONS ?? 64),
    progress: options.progress ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const procs: Proc[] = [];
  try {
    // 1. The ceiling: plain Fastify answering /post from memory, in its own process.
    const ceilingProc = await launch('bench/http.js', {}, ['--ceiling']);
    procs.push(ceilingProc);
    const body = JSON.stringify({ sesskey: 1, channel: 'bench', message: 'hello, bench' });
    opts.progress(`http: ceiling POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    const ceiling = await load(`${ceilingProc.endpoints.http}/post`, body, POST_OK, opts);
    await stopAll(procs.splice(0));

    // 2. The mesh: a real session and channel, then /post and /retrieve.
    const base = await startMesh(procs);
    const sesskey = (await call(base, '/logon', { username: 'bench', password: 'bench-pw' })).data as number;
    await call(base, '/create', { sesskey, channel: 'bench' });
    const before = (await call(base, '/lastmessage', { sesskey, channel: 'bench' })).data as number;
    opts.progress(`http: mesh POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    const posts = await load(
      `${base}/post`,
      JSON.stringify({ sesskey, channel: 'bench', message: 'hello, bench' }),
      POST_OK,
      opts,
    );
    const after = (await call(base, '/lastmessage', { sesskey, channel: 'bench' })).data as number;
    // Requests still in flight when autocannon stops are served but not counted: at most one per connection.
    const uncounted = after - before - (posts.requests.total - posts.mismatches - posts.errors - posts.timeouts);
    if (uncounted < 0 || uncounted > opts.connections) {
      opts.progress(`http: warning: ${after - before} ids given for ${posts.requests.total} requests counted`);
    }
    const retrieveBody = JSON.stringify({ sesskey, channel: 'bench', first: 1, last: after });
    const expected = JSON.stringify(await call(base, '/retrieve', JSON.parse(retrieveBody)));
    const retrieved = (JSON.parse(expected) as { data: unknown[] }).data.length;
    opts.progress(`http: mesh POST /retrieve (${retrieved} messages per answer)`);
    const retrieves = await load(`${base}/retrieve`, retrieveBody, expected, opts);
    await stopAll(procs.splice(0));
    const ceilingRps = ceiling.requests.average;
    const rows = [
      row('ceiling: plain Fastify, POST /post from memory (1 process)', ceiling, ceilingRps),
      row('mesh: POST /post (gateway → broker → messages, session cached)', posts, ceilingRps),
      row(`mesh: POST /retrieve (${retrieved} messages per answer)`, retrieves, ceilingRps),
    ];
    // 3. The same /post with PostgreSQL holding users, sessions, channels and messages.
    const onPostgres = await postOnPostgres(procs, opts);
    if (onPostgres !== undefined)
      rows.push(row('mesh on PostgreSQL: POST /post (one statement per post)', onPostgres, ceilingRps));
    return rows;
  } finally {
    await stopAll(procs);
  }
}

/** POST /post through a mesh on a throwaway PostgreSQL server; undefined (said on progress) when it cannot run here. */
async function postOnPostgres(procs: Proc[], opts: Required<HttpBenchOptions>): Promise<AutocannonResult | undefined> {
  const problem = postgresProblem();
  if (problem !== undefined) {
    opts.progress(`http: PostgreSQL row skipped: ${problem}`);
    return undefined;
  }
  const pg = await launchPostgres();
  try {
    const base = await startMesh(procs, { AGORA_DATABASE_URL: await pg.newDatabase() });
    const sesskey = (await call(base, '/logon', { username: 'bench', password: 'bench-pw' })).data as number;
    await call(base, '/create', { sesskey, channel: 'bench' });
    opts.progress(`http: mesh on PostgreSQL POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    return await load(
      `${base}/post`,
      JSON.stringify({ sesskey, channel: 'bench', message: 'hello, bench' }),
      POST_OK,
      opts,
    );
  } finally {
    await stopAll(procs.splice(0));
    await pg.close();
  }
}

/** The results as a Markdown table for docs/PERFORMANCE.md, with how they were taken. */
export function formatHttpTable(rows: readonly HttpBenchRow[], connections = 64): string {
  const lines = [
    `autocannon in the bench process keeps ${connections} HTTP/1.1 keep-alive connections busy (one request`,
    'in flight each) for the run; requests/s is the mean over the run, p50/p99 the latency',
    'percentiles. Every answer is compared with the expected body, so "bad answers" counts',
    'envelopes with `status: false` as well as errors and timeouts. The ceiling is one plain',
    'Fastify process (no logger) answering /post from an in-memory array; the mesh is broker,',
    'auth, channels, messages and gateway as the Procfile runs them (default config, log level',
    'info, so the gateway writes one access-log line per request). `/post` uses one session',
    'and one channel; `/retrieve` then asks for the whole channel, i.e. the 100 retained messages.',
    'The PostgreSQL row is the same `/post` with `AGORA_DATABASE_URL` set (users, sessions, channels',
    'and messages in a throwaway PostgreSQL server on loopback, started from the Debian package',
    'with fsync off, default pool of 10 per process): each post is one statement that takes the',
    "channel's counter row lock, so posts to one channel are serialised in the database.",
    '',
    `| HTTP, ${connections} connections | requests/s | p50 ms | p99 ms | ratio to ceiling | bad answers |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.bad} |`),
  ];
  const memory = rows.find((r) => r.name.startsWith('mesh: POST /post'));
  const pg = rows.find((r) => r.name.startsWith('mesh on PostgreSQL'));
  if (memory !== undefined && pg !== undefined) {
    lines.push(
      '',
      `POST /post on PostgreSQL runs at ${(pg.rps / memory.rps).toFixed(2)} of the in-memory mesh in this run. Every request posts to the`,
      "same channel, so the appends queue on that channel's counter row, and PostgreSQL shares the",
      'two cores with the five processes of the mesh and the load generator.',
    );
  }
  return lines.join('\n');
}

/** The ceiling server: the same /post contract, answered from an in-memory array. */
async function ceilingServer(): Promise<void> {
  const app = fastify();
  const channels = new Map<string, Array<{ messageid: number; message: string }>>();
  app.post('/post', async (request) => {
    const body = request.body as { sesskey?: unknown; channel?: unknown; message?: unknown } | null;
    if (
      body === null ||
      typeof body !== 'object' ||
      typeof body.sesskey !== 'number' ||
      typeof body.channel !== 'string' ||
      typeof body.message !== 'string'
    ) {
      return { status: false, data: 'Invalid parameters' };
    }
    const list = channels.get(body.channel) ?? [];
    channels.set(body.channel, list);
    list.push({ messageid: list.length + 1, message: body.message });
    if (list.length > 100) list.shift();
    return { status: true, data: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, endpoints: { http: `http://127.0.0.1:${port}` } })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

if (require.main === module) {
  if (process.argv.includes('--ceiling')) {
    void ceilingServer();
  } else {
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
    benchHttp({ connections }).then(
      (rows) => process.stdout.write(`${formatHttpTable(rows, connections)}\n`),
      (err: unknown) => {
        process.stderr.write(`bench/http: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  }
}
