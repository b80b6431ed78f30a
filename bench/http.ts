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
 * BENCH_DURATION_S (default 10) and BENCH_CONNECTIONS (default 64) tune a run; BENCH_HTTP_QUICK=1 measures
 * only /post and /retrieve (no many-channel run, no PostgreSQL, no `npm start`), for comparing changes to the
 * hot path; BENCH_HTTP_POSTGRES=1 measures only /post on PostgreSQL (one channel and 64) beside the same on the
 * in-memory mesh, with the CPU each process spends (no ceiling, no /retrieve, no `npm start`);
 * BENCH_HTTP_RATE fixes the requests per second; BENCH_PROFILE_DIR runs every process under
 * `node --cpu-prof`, its profile written there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import fastify from 'fastify';
import { launchPostgres, postgresProblem } from '../test/helpers/backends';
import { postgresCpuMicros, postmasterPid } from './postgres-cpu';
import { procfileNodeFlags } from './procs';
import { cpuMicros, formatStartup, measureStartup, type Startup } from './startup';

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
  name: string;
  child: ChildProcess;
  endpoints: Record<string, string>;
}

/**
 * Start a compiled entry point with the Node options the Procfile gives it, and wait for its ready line;
 * afterwards its output is drained unparsed, so that the bench process spends its CPU on load, not on logs.
 */
async function launch(name: string, entry: string, env: Record<string, string>, args: string[] = []): Promise<Proc> {
  // BENCH_PROFILE_DIR: every process under `node --cpu-prof`, its profile written there when it stops.
  const dir = process.env.BENCH_PROFILE_DIR;
  const prof = dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`];
  const child = spawn(
    process.execPath,
    [...procfileNodeFlags(entry), ...prof, path.join(ROOT, 'dist', entry), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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
  return { name, child, endpoints };
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
  const broker = await launch('broker', 'services/broker/main.js', { AGORA_BUS_URL: 'tcp://127.0.0.1:0' });
  procs.push(broker);
  const common = { ...env, AGORA_BUS_URL: broker.endpoints.bus };
  const auth = await launch('auth', 'services/auth/main.js', { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' });
  procs.push(auth);
  const channels = await launch('channels', 'services/channels/main.js', {
    ...common,
    AGORA_AUTH_GRPC_URL: auth.endpoints.grpc,
    AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0',
  });
  procs.push(channels);
  procs.push(
    await launch('messages', 'services/messages/main.js', {
      ...common,
      AGORA_AUTH_GRPC_URL: auth.endpoints.grpc,
      AGORA_CHANNELS_GRPC_URL: channels.endpoints.grpc,
      AGORA_MESSAGES_GRPC_URL: '127.0.0.1:0',
    }),
  );
  const gateway = await launch('gateway', 'gateway/main.js', { ...common, AGORA_HTTP_PORT: '0' });
  procs.push(gateway);
  return gateway.endpoints.http;
}

async function call(base: string, route: string, body: unknown): Promise<{ status: boolean; data: unknown }> {
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { status: boolean; data: unknown };
}

/**
 * BENCH_HTTP_RATE: requests per second over all connections instead of as many as they can, so that runs
 * compared on a busy machine batch alike (the CPU per request moves with how many requests share a read).
 */
function rate(): { overallRate?: number } {
  const perSecond = Number(process.env.BENCH_HTTP_RATE ?? 0);
  return perSecond > 0 ? { overallRate: perSecond } : {};
}

/** One body, or a different body for each request in turn (e.g. one per channel). */
type Bodies = string | readonly string[];

async function load(
  url: string,
  bodies: Bodies,
  expectBody: string,
  options: Required<HttpBenchOptions>,
): Promise<AutocannonResult> {
  if (typeof bodies === 'string') {
    return autocannon({
      url,
      method: 'POST',
      body: bodies,
      headers: { 'content-type': 'application/json' },
      connections: options.connections,
      duration: options.durationS,
      expectBody,
      ...rate(),
    });
  }
  // autocannon refuses expectBody beside requests: each answer is compared here instead.
  let next = 0;
  let mismatches = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.durationS,
    ...rate(),
    requests: [
      {
        setupRequest: (req: object) => ({ ...req, body: bodies[next++ % bodies.length] }),
        onResponse: (_status: number, body: string) => {
          if (body !== expectBody) mismatches++;
        },
      },
    ],
  });
  return { ...result, mismatches: result.mismatches + mismatches };
}

/** The CPU time one server process spent per request of a run. */
export interface CpuRow {
  name: string;
  /** µs of CPU (user + system) per request answered; undefined where /proc cannot say. */
  usPerRequest: number | undefined;
}

/** The CPU time one server process spent per request of POST /post and of POST /retrieve. */
export interface CpuRows {
  name: string;
  post: number | undefined;
  retrieve: number | undefined;
}

function cpuRows(post: readonly CpuRow[], retrieve: readonly CpuRow[]): CpuRows[] {
  return post.map((c, i) => ({ name: c.name, post: c.usPerRequest, retrieve: retrieve[i]?.usPerRequest }));
}

/** The sum over the mesh's processes / the ceiling's, or NaN where one is unknown. */
function cpuRatio(mesh: readonly CpuRow[], ceiling: readonly CpuRow[]): number {
  return mesh.reduce((sum, c) => sum + (c.usPerRequest ?? NaN), 0) / (ceiling[0]?.usPerRequest ?? NaN);
}

/** `load` while reading the CPU time every process of `procs` spends on it. */
async function loadMeasured(
  procs: readonly Proc[],
  url: string,
  bodies: Bodies,
  expectBody: string,
  options: Required<HttpBenchOptions>,
): Promise<{ result: AutocannonResult; cpu: CpuRow[] }> {
  const before = procs.map((p) => cpuMicros(p.child.pid));
  const result = await load(url, bodies, expectBody, options);
  const answered = Math.max(1, result.requests.total);
  const cpu = procs.map((p, i) => {
    const now = cpuMicros(p.child.pid);
    const then = before[i];
    return {
      name: p.name,
      usPerRequest: now === undefined || then === undefined ? undefined : (now - then) / answered,
    };
  });
  return { result, cpu };
}

function row(name: string, r: AutocannonResult, baselineRps: number): HttpBenchRow {
  return {
    name,
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ratio: baselineRps > 0 ? r.requests.average / baselineRps : 1,
    bad: r.mismatches + r.errors + r.timeouts + r.non2xx,
  };
}

/** Everything bench/http.ts measures. */
export interface HttpBench {
  rows: HttpBenchRow[];
  /** CPU per request of POST /post and /retrieve: plain Fastify's first, then each mesh process's. */
  cpu: CpuRows[];
  /** The target ratios, by name. */
  ratios: Array<{ name: string; value: number }>;
  /** CPU per request of POST /post on PostgreSQL: each mesh process's, then the PostgreSQL server's. */
  postgresCpu?: PostgresCpuRow[];
  startup: Startup | undefined;
}

const CHANNELS = 64;
const channelName = (i: number): string => `bench-${i}`;

/** Log on and make the bench's channels (`bench`, and bench-0… for the many-channel runs) on a mesh. */
async function prepare(base: string): Promise<{ sesskey: number; one: string; many: string[] }> {
  const sesskey = (await call(base, '/logon', { username: 'bench', password: 'bench-pw' })).data as number;
  await call(base, '/create', { sesskey, channel: 'bench' });
  for (let i = 0; i < CHANNELS; i++) await call(base, '/create', { sesskey, channel: channelName(i) });
  const post = (channel: string): string => JSON.stringify({ sesskey, channel, message: 'hello, bench' });
  return { sesskey, one: post('bench'), many: Array.from({ length: CHANNELS }, (_, i) => post(channelName(i))) };
}

/** The ceiling: plain Fastify answering /post, then /retrieve of its last 100 messages, in its own process. */
async function ceilingRuns(
  procs: Proc[],
  opts: Required<HttpBenchOptions>,
): Promise<{ post: AutocannonResult; retrieve: AutocannonResult; cpu: CpuRow[]; retrieveCpu: CpuRow[] }> {
  const ceilingProc = await launch('plain Fastify', 'bench/http.js', {}, ['--ceiling']);
  procs.push(ceilingProc);
  const base = ceilingProc.endpoints.http;
  const body = JSON.stringify({ sesskey: 1, channel: 'bench', message: 'hello, bench' });
  opts.progress(`http: ceiling POST /post, ${opts.connections} connections, ${opts.durationS} s`);
  const post = await loadMeasured(procs, `${base}/post`, body, POST_OK, opts);
  const retrieveBody = JSON.stringify({ sesskey: 1, channel: 'bench', first: 1, last: Number.MAX_SAFE_INTEGER });
  const expected = JSON.stringify(await call(base, '/retrieve', JSON.parse(retrieveBody)));
  if (!expected.startsWith('{"status":true')) throw new Error(`the ceiling's /retrieve answered ${expected}`);
  opts.progress(`http: ceiling POST /retrieve, ${opts.connections} connections, ${opts.durationS} s`);
  const retrieve = await loadMeasured(procs, `${base}/retrieve`, retrieveBody, expected, opts);
  await stopAll(procs.splice(0));
  return { post: post.result, retrieve: retrieve.result, cpu: post.cpu, retrieveCpu: retrieve.cpu };
}

/** Run every measurement, one after the other on the same machine. */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBench> {
  const opts: Required<HttpBenchOptions> = {
    durationS: options.durationS ?? Number(process.env.BENCH_DURATION_S ?? 10),
    connections: options.connections ?? Number(process.env.BENCH_CONNECTIONS ?? 64),
    progress: options.progress ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const procs: Proc[] = [];
  if (process.env.BENCH_HTTP_POSTGRES === '1') return postgresAlone(procs, opts);
  try {
    // 1. The ceiling.
    const ceiling = await ceilingRuns(procs, opts);
    // 2. The mesh: a real session and channels, then /post (one channel), /retrieve, /post (64 channels).
    const base = await startMesh(procs);
    const { sesskey, one, many } = await prepare(base);
    const before = (await call(base, '/lastmessage', { sesskey, channel: 'bench' })).data as number;
    opts.progress(`http: mesh POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    const posts = await loadMeasured(procs, `${base}/post`, one, POST_OK, opts);
    const after = (await call(base, '/lastmessage', { sesskey, channel: 'bench' })).data as number;
    // Requests still in flight when autocannon stops are served but not counted: at most one per connection.
    const p = posts.result;
    const uncounted = after - before - (p.requests.total - p.mismatches - p.errors - p.timeouts);
    if (uncounted < 0 || uncounted > opts.connections) {
      opts.progress(`http: warning: ${after - before} ids given for ${p.requests.total} requests counted`);
    }
    const retrieveBody = JSON.stringify({ sesskey, channel: 'bench', first: 1, last: after });
    const expected = JSON.stringify(await call(base, '/retrieve', JSON.parse(retrieveBody)));
    const retrieved = (JSON.parse(expected) as { data: unknown[] }).data.length;
    opts.progress(`http: mesh POST /retrieve (${retrieved} messages per answer)`);
    const retrievals = await loadMeasured(procs, `${base}/retrieve`, retrieveBody, expected, opts);
    const retrieves = retrievals.result;
    const quick = process.env.BENCH_HTTP_QUICK === '1';
    if (!quick) opts.progress(`http: mesh POST /post to ${CHANNELS} channels`);
    const spread = quick ? undefined : await load(`${base}/post`, many, POST_OK, opts);
    await stopAll(procs.splice(0));
    const ceilingRps = ceiling.post.requests.average;
    const rows = [
      row('ceiling: plain Fastify, POST /post from memory (1 process)', ceiling.post, ceilingRps),
      row(`ceiling: plain Fastify, POST /retrieve (${retrieved} messages from memory)`, ceiling.retrieve, ceilingRps),
      row('mesh: POST /post (gateway → broker → messages, session cached)', p, ceilingRps),
      row(`mesh: POST /retrieve (${retrieved} messages per answer)`, retrieves, ceilingRps),
    ];
    if (spread !== undefined) rows.push(row(`mesh: POST /post to ${CHANNELS} channels in turn`, spread, ceilingRps));
    const ratios = [
      { name: 'mesh POST /post / plain Fastify', value: p.requests.average / ceilingRps },
      {
        name: `mesh POST /retrieve / plain Fastify answering the same ${retrieved}`,
        value: retrieves.requests.average / ceiling.retrieve.requests.average,
      },
    ];
    // 3. The same posts with PostgreSQL holding users, sessions, channels and messages.
    const onPostgres = spread === undefined ? undefined : await postOnPostgres(procs, opts);
    const postgresCpu = onPostgres?.cpu;
    if (spread !== undefined && onPostgres !== undefined) {
      rows.push(row('mesh on PostgreSQL: POST /post (one channel)', onPostgres.one, ceilingRps));
      rows.push(row(`mesh on PostgreSQL: POST /post to ${CHANNELS} channels in turn`, onPostgres.many, ceilingRps));
      ratios.push(
        {
          name: 'PostgreSQL POST /post / in-memory mesh, one channel',
          value: onPostgres.one.requests.average / p.requests.average,
        },
        {
          name: `PostgreSQL POST /post / in-memory mesh, ${CHANNELS} channels`,
          value: onPostgres.many.requests.average / spread.requests.average,
        },
      );
    }
    const cpu = cpuRows([...ceiling.cpu, ...posts.cpu], [...ceiling.retrieveCpu, ...retrievals.cpu]);
    ratios.push(
      {
        name: 'CPU per request, all mesh processes / plain Fastify (POST /post)',
        value: cpuRatio(posts.cpu, ceiling.cpu),
      },
      {
        name: 'CPU per request, all mesh processes / plain Fastify (POST /retrieve)',
        value: cpuRatio(retrievals.cpu, ceiling.retrieveCpu),
      },
    );
    if (!quick) opts.progress('http: npm start readiness and memory at rest');
    const startup = quick
      ? undefined
      : await measureStartup().catch((err: unknown) => {
          opts.progress(`http: npm start not measured: ${err instanceof Error ? err.message : String(err)}`);
          return undefined;
        });
    return { rows, cpu, ratios, postgresCpu, startup };
  } finally {
    await stopAll(procs);
  }
}

/**
 * BENCH_HTTP_POSTGRES=1: /post on the in-memory mesh (one channel, then 64 in turn), then the same on
 * PostgreSQL; the rows' ratio is to the in-memory mesh's one-channel /post, and `cpu` holds the in-memory
 * mesh's CPU per post (one channel in `post`, 64 channels in `retrieve`).
 */
async function postgresAlone(procs: Proc[], opts: Required<HttpBenchOptions>): Promise<HttpBench> {
  try {
    const base = await startMesh(procs);
    const { one, many } = await prepare(base);
    opts.progress(`http: mesh POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    const oneRun = await loadMeasured(procs, `${base}/post`, one, POST_OK, opts);
    opts.progress(`http: mesh POST /post to ${CHANNELS} channels`);
    const manyRun = await loadMeasured(procs, `${base}/post`, many, POST_OK, opts);
    await stopAll(procs.splice(0));
    const onPostgres = await postOnPostgres(procs, opts);
    const memoryRps = oneRun.result.requests.average;
    const rows = [
      row('mesh: POST /post (one channel)', oneRun.result, memoryRps),
      row(`mesh: POST /post to ${CHANNELS} channels in turn`, manyRun.result, memoryRps),
    ];
    const ratios: Array<{ name: string; value: number }> = [];
    if (onPostgres !== undefined) {
      rows.push(row('mesh on PostgreSQL: POST /post (one channel)', onPostgres.one, memoryRps));
      rows.push(row(`mesh on PostgreSQL: POST /post to ${CHANNELS} channels in turn`, onPostgres.many, memoryRps));
      ratios.push(
        {
          name: 'PostgreSQL POST /post / in-memory mesh, one channel',
          value: onPostgres.one.requests.average / memoryRps,
        },
        {
          name: `PostgreSQL POST /post / in-memory mesh, ${CHANNELS} channels`,
          value: onPostgres.many.requests.average / manyRun.result.requests.average,
        },
      );
    }
    return { rows, cpu: cpuRows(oneRun.cpu, manyRun.cpu), ratios, postgresCpu: onPostgres?.cpu, startup: undefined };
  } finally {
    await stopAll(procs);
  }
}

/** The CPU time one process (or the PostgreSQL server) spent per POST /post on PostgreSQL. */
export interface PostgresCpuRow {
  name: string;
  /** µs per request to one channel; undefined where /proc cannot say. */
  one: number | undefined;
  /** µs per request to the 64 channels in turn. */
  many: number | undefined;
}

/**
 * POST /post through a mesh on a throwaway PostgreSQL server, to one channel then to many, with the CPU
 * each process and the server spent; undefined (said on progress) when it cannot run here.
 */
async function postOnPostgres(
  procs: Proc[],
  opts: Required<HttpBenchOptions>,
): Promise<{ one: AutocannonResult; many: AutocannonResult; cpu: PostgresCpuRow[] } | undefined> {
  const problem = postgresProblem();
  if (problem !== undefined) {
    opts.progress(`http: PostgreSQL rows skipped: ${problem}`);
    return undefined;
  }
  const pg = await launchPostgres();
  try {
    const url = await pg.newDatabase();
    const base = await startMesh(procs, { AGORA_DATABASE_URL: url });
    const server = await postmasterPid(url);
    const { one, many } = await prepare(base);
    const measured = async (bodies: Bodies): Promise<{ result: AutocannonResult; cpu: CpuRow[] }> => {
      const before = postgresCpuMicros(server);
      const { result, cpu } = await loadMeasured(procs, `${base}/post`, bodies, POST_OK, opts);
      const after = postgresCpuMicros(server);
      const used = before === undefined || after === undefined ? undefined : after - before;
      const usPerRequest = used === undefined ? undefined : used / Math.max(1, result.requests.total);
      return { result, cpu: [...cpu, { name: 'PostgreSQL server', usPerRequest }] };
    };
    opts.progress(`http: mesh on PostgreSQL POST /post, ${opts.connections} connections, ${opts.durationS} s`);
    const oneRun = await measured(one);
    opts.progress(`http: mesh on PostgreSQL POST /post to ${CHANNELS} channels`);
    const manyRun = await measured(many);
    const cpu = oneRun.cpu.map((c, i) => ({ name: c.name, one: c.usPerRequest, many: manyRun.cpu[i]?.usPerRequest }));
    return { one: oneRun.result, many: manyRun.result, cpu };
  } finally {
    await stopAll(procs.splice(0));
    await pg.close();
  }
}

/** The results as Markdown for docs/PERFORMANCE.md, with how they were taken. */
export function formatHttpTable(bench: HttpBench, connections = 64): string {
  const { rows } = bench;
  const lines = [
    `autocannon in the bench process keeps ${connections} HTTP/1.1 keep-alive connections busy (one request`,
    'in flight each) for the run; requests/s is the mean over the run, p50/p99 the latency',
    'percentiles. Every answer is compared with the expected body, so "bad answers" counts',
    'envelopes with `status: false` as well as errors and timeouts. The ceiling is one plain',
    'Fastify process (no logger) answering /post from an in-memory array, and /retrieve with the last',
    '100 of those messages; the mesh is broker, auth, channels, messages and gateway as the Procfile runs',
    'them (default config, log level info, so the gateway writes one access-log line per request). `/post`',
    'uses one session and one channel; `/retrieve` then asks for the whole channel, i.e. the 100 retained',
    `messages; the ${CHANNELS}-channel rows post to ${CHANNELS} channels in turn. The PostgreSQL rows are the same`,
    'posts with `AGORA_DATABASE_URL` set (users, sessions, channels and messages in a throwaway PostgreSQL',
    'server on loopback, started from the Debian package with fsync off, default pool of 10 per process);',
    'the appends that wait in a messages process go to PostgreSQL together, one call for any number of',
    'channels, each channel named once with its count (docs/STORAGE.md), so posts to one channel no longer',
    'take turns on its counter row one by one, and retention deletes what falls out in chunks of 32; that',
    'call, a prepared statement, also announces its posts to the message streams, as many in one NOTIFY',
    "as fit PostgreSQL's 8000-byte payload, when a listener of the topic is listed. Under a load on few channels",
    'a call waits up to 1 ms for 32 appends to join it; on many, until the messages process has read what its',
    'event loop has ready. No message stream is open during these runs, so no',
    'messages process listens to the topic (one listens only while it has streams open) and the calls notify',
    'nothing; with a stream open anywhere, every call announces its posts.',
    '',
    `| HTTP, ${connections} connections | requests/s | p50 ms | p99 ms | ratio to the /post ceiling | bad answers |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.bad} |`),
    '',
    '| ratio | value |',
    '|---|---:|',
    ...bench.ratios.map((r) => `| ${r.name} | ${Number.isFinite(r.value) ? r.value.toFixed(2) : '–'} |`),
    '',
    "CPU time per request of `POST /post` (one channel, in memory) and of `POST /retrieve`, from each process's",
    'utime + stime in `/proc/<pid>/stat` before and after the run, divided by the requests answered; steadier',
    'than requests/s on a loaded machine:',
    '',
    '| process | CPU µs per POST /post | CPU µs per POST /retrieve |',
    '|---|---:|---:|',
    ...bench.cpu.map((c) => `| ${c.name} | ${micros(c.post)} | ${micros(c.retrieve)} |`),
    '',
    "How a `/retrieve` of 100 messages travels: the messages process keeps each retained message's msgpack",
    'encoding, made the first time it is read (lib/rpc/packed.ts; on PostgreSQL, whose every read makes new',
    'objects, once per reply), and writes its reply, about 7 KB, as those encodings one after another behind',
    "the list's header; the broker forwards the reply's frames as they came;",
    "the gateway takes the result's bytes where they lie in its read buffer and writes the answer's JSON straight",
    "from them (gateway/legacy/retrieve-json.ts): each text's UTF-8 copied as it is, escaped where JSON.stringify",
    'escapes, and no object or string made per message (anything not of that plain shape is decoded as before).',
    'What that path still costs is mostly the system calls that move the reply and the answer, and collecting',
    'their buffers.',
  ];
  if (bench.postgresCpu !== undefined) {
    lines.push(
      '',
      'The same for the PostgreSQL rows, with the PostgreSQL server (the postmaster and every process it',
      'started) beside the mesh:',
      '',
      `| process | CPU µs per POST /post on PostgreSQL, one channel | ${CHANNELS} channels |`,
      '|---|---:|---:|',
      ...bench.postgresCpu.map((c) => `| ${c.name} | ${micros(c.one)} | ${micros(c.many)} |`),
    );
  }
  if (bench.startup !== undefined) lines.push('', formatStartup(bench.startup));
  return lines.join('\n');
}

/** BENCH_HTTP_POSTGRES=1's results as Markdown: the rows, the two ratios, and every process's CPU per post. */
export function formatPostgresAlone(bench: HttpBench, connections = 64): string {
  return [
    `| HTTP, ${connections} connections | requests/s | p50 ms | p99 ms | ratio to in-memory /post | bad answers |`,
    '|---|---:|---:|---:|---:|---:|',
    ...bench.rows.map((r) => `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.bad} |`),
    '',
    ...bench.ratios.map((r) => `| ${r.name} | ${r.value.toFixed(2)} |`),
    '',
    `| process | CPU µs per POST /post in memory, one channel | ${CHANNELS} channels | on PostgreSQL, one | ${CHANNELS} |`,
    '|---|---:|---:|---:|---:|',
    ...(bench.postgresCpu ?? []).map((c, i) => {
      const memory = bench.cpu[i];
      return `| ${c.name} | ${micros(memory?.post)} | ${micros(memory?.retrieve)} | ${micros(c.one)} | ${micros(c.many)} |`;
    }),
  ].join('\n');
}

function micros(us: number | undefined): string {
  return us === undefined ? '–' : us.toFixed(1);
}

/** The ceiling server: the same /post contract, answered from an in-memory array. */
async function ceilingServer(): Promise<void> {
  const app = fastify();
  const channels = new Map<string, Array<{ messageid: number; username: string; message: string }>>();
  let last = 0;
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
    list.push({ messageid: ++last, username: 'bench', message: body.message });
    if (list.length > 100) list.shift();
    return { status: true, data: true };
  });
  app.post('/retrieve', async (request) => {
    const body = request.body as { sesskey?: unknown; channel?: unknown; first?: unknown; last?: unknown } | null;
    if (
      body === null ||
      typeof body !== 'object' ||
      typeof body.sesskey !== 'number' ||
      typeof body.channel !== 'string' ||
      typeof body.first !== 'number' ||
      typeof body.last !== 'number'
    ) {
      return { status: false, data: 'Invalid parameters' };
    }
    const { first, last: upTo } = body;
    const list = (channels.get(body.channel) ?? []).filter((m) => m.messageid >= first && m.messageid <= upTo);
    return { status: true, data: list };
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
      (bench) => {
        const alone = process.env.BENCH_HTTP_POSTGRES === '1';
        process.stdout.write(
          `${alone ? formatPostgresAlone(bench, connections) : formatHttpTable(bench, connections)}\n`,
        );
      },
      (err: unknown) => {
        process.stderr.write(`bench/http: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  }
}
