/**
 * HTTP through the whole mesh (docs/ARCHITECTURE.md "Tests and measurement"): POST /post and POST
 * /retrieve at 64 connections with autocannon, against broker + auth + channels + messages
 * + gateway as the Procfile starts them, beside the ceiling: one plain Fastify process that
 * answers the same /post from memory, and beside the same mesh on a throwaway PostgreSQL server
 * (skipped, with a note, where PostgreSQL is not installed), all loaded side by side in turns
 * (bench/side-by-side.ts). Every answer is checked (`expectBody`): a run whose answers are failures
 * would measure nothing.
 *
 * `benchHttp()` is what bench/run.ts calls; `node dist/bench/http.js` runs it alone and
 * prints a Markdown table. `node dist/bench/http.js --ceiling` is the ceiling server itself.
 * BENCH_DURATION_S (measured seconds per row, default 10), BENCH_SLICES (the turns they are cut in, default 5)
 * and BENCH_CONNECTIONS (default 64) tune a run; BENCH_HTTP_QUICK=1 measures
 * only /post and /retrieve (no many-channel run, no PostgreSQL, no `npm start`), for comparing changes to the
 * hot path; BENCH_HTTP_POSTGRES=1 measures only /post on PostgreSQL (one channel and 64) beside the same on the
 * in-memory mesh, with the CPU each process spends (no ceiling, no /retrieve, no `npm start`);
 * BENCH_HTTP_RATE fixes the requests per second; BENCH_PROFILE_DIR runs every process under
 * `node --cpu-prof`, its profile written there.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fastify from 'fastify';
import { launchPostgres, postgresProblem } from '../test/helpers/backends';
import { call as httpCall } from '../test/helpers/v1';
import { machine, speedNote, speedProbeMs } from './machine';
import { postgresCpuMicros, postgresPids, postmasterPid } from './postgres-cpu';
import {
  SETTLE_S,
  WARMUP_S,
  sideBySide,
  type CpuRow,
  type Measured,
  type Meter,
  type SideBySideOptions,
} from './side-by-side';
import { launch as launchProc, launchServices, procfileNodeFlags, stopAll, type Proc } from './procs';
import { cpuMicros, formatStartup, measureStartup, type Startup } from './startup';

export interface HttpBenchOptions {
  /** Measured seconds per row, taken in `slices` turns (bench/side-by-side.ts). */
  durationS?: number;
  slices?: number;
  connections?: number;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

export interface HttpBenchRow {
  name: string;
  /** Mean requests per second over the row's turns. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** rps / the ceiling's rps. */
  ratio: number;
  /** Requests whose answer was not the expected body, errors and timeouts. */
  bad: number;
  /** Requests/s of each measured turn (bench/side-by-side.ts). */
  turns: number[];
}

/** The legacy API's answer to a post that succeeded. */
export const POST_OK = '{"status":true,"data":true}';

/**
 * Start a compiled entry point (bench/procs.ts) with the Node options the Procfile gives it, and with
 * BENCH_PROFILE_DIR every process under `node --cpu-prof`, its profile written there when it stops.
 */
async function launch(
  procs: Proc[],
  name: string,
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<Proc> {
  const dir = process.env.BENCH_PROFILE_DIR;
  const prof = dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`];
  return launchProc(procs, name, entry, env, [...procfileNodeFlags(entry), ...prof], args);
}

/**
 * broker, auth, channels, messages, gateway: the Procfile's processes on free loopback ports; `env` goes to
 * every one.
 */
async function startMesh(procs: Proc[], env: Record<string, string> = {}): Promise<string> {
  const services = await launchServices((name, entry, vars) => launch(procs, name, entry, vars), env);
  const gateway = await launch(procs, 'gateway', 'gateway/main.js', {
    ...env,
    AGORA_BUS_URL: services.bus,
    AGORA_HTTP_PORT: '0',
  });
  return gateway.endpoints.http;
}

/**
 * One set-up request (log on, create, the expected answers), which must succeed: the loads that follow would
 * otherwise measure its failure. test/helpers/v1.ts `call` sends it, with its deadline.
 */
async function call(base: string, route: string, body: unknown): Promise<{ status: boolean; data: unknown }> {
  const answer = await httpCall(base, 'POST', route, { body });
  const envelope = answer.body as { status?: unknown; data?: unknown } | null;
  if (answer.status < 200 || answer.status > 299 || envelope?.status !== true)
    throw new Error(`${base}${route} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return { status: true, data: envelope.data };
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

/** Each process's CPU clock (bench/startup.ts cpuMicros). */
function meters(procs: readonly Proc[]): Meter[] {
  return procs.map((p) => ({ name: p.name, read: () => cpuMicros(p.child.pid) }));
}

function row(name: string, r: Measured, baselineRps: number): HttpBenchRow {
  return {
    name,
    turns: r.turnRps,
    rps: Math.round(r.rps),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    ratio: baselineRps > 0 ? r.rps / baselineRps : 1,
    bad: r.bad,
  };
}

/** Everything bench/http.ts measures. */
export interface HttpBench {
  rows: HttpBenchRow[];
  /** CPU per request of POST /post and /retrieve: plain Fastify's first, then each mesh process's. */
  cpu: CpuRows[];
  /** The target ratios, by name; with `rounds`, the same ratio in each round (bench/side-by-side.ts). */
  ratios: Ratio[];
  /** CPU per request of POST /post on PostgreSQL: each mesh process's, then the PostgreSQL server's. */
  postgresCpu?: PostgresCpuRow[];
  startup: Startup | undefined;
  /** How the comparisons were cut (bench/side-by-side.ts): rounds of `measuredS` seconds each. */
  rounds: number;
  measuredS: number;
}

const CHANNELS = 64;
const channelName = (i: number): string => `bench-${i}`;

/** A mesh the bench loads: its gateway's base URL, its processes, and the bodies of its posts. */
interface Mesh {
  base: string;
  meters: Meter[];
  /** Its processes (and its PostgreSQL server's), stopped while another is measured (bench/side-by-side.ts). */
  pids: () => number[];
  sesskey: number;
  /** A post to the channel `bench`. */
  one: string;
  /** A post to each of the 64 channels. */
  many: string[];
}

/** Start a mesh (`env` to every process), log on and make its channels (`bench`, and bench-0…). */
async function readyMesh(procs: Proc[], env: Record<string, string> = {}): Promise<Mesh> {
  const own: Proc[] = [];
  try {
    // Its processes are stopped while another is measured (bench/side-by-side.ts): the gateway would read
    // the jump of its clocks at each turn as an event-loop delay, and shed load for the next second.
    const base = await startMesh(own, { AGORA_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
    const sesskey = (await call(base, '/logon', { username: 'bench', password: 'bench-pw' })).data as number;
    await call(base, '/create', { sesskey, channel: 'bench' });
    for (let i = 0; i < CHANNELS; i++) await call(base, '/create', { sesskey, channel: channelName(i) });
    const post = (channel: string): string => JSON.stringify({ sesskey, channel, message: 'hello, bench' });
    const many = Array.from({ length: CHANNELS }, (_, i) => post(channelName(i)));
    const pids = (): number[] => own.flatMap((p) => (p.child.pid === undefined ? [] : [p.child.pid]));
    return { base, meters: meters(own), pids, sesskey, one: post('bench'), many };
  } finally {
    procs.push(...own);
  }
}

/** The PostgreSQL server the mesh on PostgreSQL uses, counted as one more process of that mesh. */
async function readyMeshOnPostgres(
  procs: Proc[],
  progress: (line: string) => void,
): Promise<{ mesh: Mesh; close: () => Promise<void> } | undefined> {
  const problem = postgresProblem();
  if (problem !== undefined) {
    progress(`http: PostgreSQL rows skipped: ${problem}`);
    return undefined;
  }
  const pg = await launchPostgres();
  try {
    const url = await pg.newDatabase();
    const mesh = await readyMesh(procs, { AGORA_DATABASE_URL: url });
    const server = await postmasterPid(url);
    const withServer: Mesh = {
      ...mesh,
      meters: [...mesh.meters, { name: 'PostgreSQL server', read: () => postgresCpuMicros(server) }],
      pids: () => [...mesh.pids(), ...postgresPids(server)],
    };
    return { mesh: withServer, close: () => pg.close() };
  } catch (err) {
    await stopAll(procs.splice(0));
    await pg.close();
    throw err;
  }
}

/** What a comparison loads: a server's base URL, its CPU clocks, and its processes. */
type Deployment = Pick<Mesh, 'base' | 'meters' | 'pids'>;

/** What the three comparisons measured; a part left out by BENCH_HTTP_QUICK or BENCH_HTTP_POSTGRES is undefined. */
interface Measurements {
  ceilingPosts: Measured | undefined;
  posts: Measured;
  pgPosts: Measured | undefined;
  retrieves: { ceiling: Measured; mesh: Measured; count: number } | undefined;
  spread: { mesh: Measured; pg: Measured | undefined } | undefined;
}

interface Run {
  opts: Required<HttpBenchOptions>;
  slicing: SideBySideOptions;
  /** How each comparison is cut, for the progress lines. */
  turns: string;
}

const present = <T>(items: ReadonlyArray<T | undefined>): T[] => items.filter((i): i is T => i !== undefined);

/** 1. POST /post to one channel: plain Fastify, the mesh and the mesh on PostgreSQL, whichever run. */
async function postOneChannel(
  run: Run,
  ceiling: Deployment | undefined,
  memory: Mesh,
  pgMesh: Mesh | undefined,
): Promise<Pick<Measurements, 'ceilingPosts' | 'posts' | 'pgPosts'> & { lastId: number }> {
  const ceilingPost = JSON.stringify({ sesskey: 1, channel: 'bench', message: 'hello, bench' });
  const last = async (): Promise<number> =>
    (await call(memory.base, '/lastmessage', { sesskey: memory.sesskey, channel: 'bench' })).data as number;
  const before = await last();
  run.opts.progress(`http: POST /post to one channel, side by side, ${run.turns}`);
  const measured = await sideBySide(
    present([
      ceiling && { ...ceiling, url: `${ceiling.base}/post`, bodies: ceilingPost, expectBody: POST_OK },
      { ...memory, url: `${memory.base}/post`, bodies: memory.one, expectBody: POST_OK },
      pgMesh && { ...pgMesh, url: `${pgMesh.base}/post`, bodies: pgMesh.one, expectBody: POST_OK },
    ]),
    run.slicing,
    run.opts.progress,
  );
  const ceilingPosts = ceiling === undefined ? undefined : measured.shift();
  const [posts, pgPosts] = measured;
  // Requests still in flight when a run ends are served but not counted: at most one per connection.
  const lastId = await last();
  const uncounted = lastId - before - posts.served;
  if (uncounted < 0 || uncounted > run.opts.connections * posts.runs) {
    run.opts.progress(`http: warning: ${lastId - before} ids given for ${posts.served} requests answered`);
  }
  return { ceilingPosts, posts, pgPosts, lastId };
}

/** 2. POST /retrieve of the whole channel: plain Fastify and the mesh (the mesh on PostgreSQL stopped). */
async function retrieveBoth(
  run: Run,
  ceiling: Deployment,
  memory: Mesh,
  lastId: number,
  bystanders: ReadonlyArray<() => number[]>,
): Promise<Measurements['retrieves']> {
  const meshBody = JSON.stringify({ sesskey: memory.sesskey, channel: 'bench', first: 1, last: lastId });
  const meshExpected = JSON.stringify(await call(memory.base, '/retrieve', JSON.parse(meshBody)));
  const count = (JSON.parse(meshExpected) as { data: unknown[] }).data.length;
  const ceilingBody = JSON.stringify({ sesskey: 1, channel: 'bench', first: 1, last: Number.MAX_SAFE_INTEGER });
  const ceilingExpected = JSON.stringify(await call(ceiling.base, '/retrieve', JSON.parse(ceilingBody)));
  if (!ceilingExpected.startsWith('{"status":true'))
    throw new Error(`the ceiling's /retrieve answered ${ceilingExpected}`);
  run.opts.progress(`http: POST /retrieve (${count} messages per answer), side by side, ${run.turns}`);
  const [c, m] = await sideBySide(
    [
      { ...ceiling, url: `${ceiling.base}/retrieve`, bodies: ceilingBody, expectBody: ceilingExpected },
      { ...memory, url: `${memory.base}/retrieve`, bodies: meshBody, expectBody: meshExpected },
    ],
    run.slicing,
    run.opts.progress,
    bystanders,
  );
  return { ceiling: c, mesh: m, count };
}

/** 3. POST /post to 64 channels in turn: the mesh and the mesh on PostgreSQL (plain Fastify stopped). */
async function postManyChannels(
  run: Run,
  memory: Mesh,
  pgMesh: Mesh | undefined,
  bystanders: ReadonlyArray<() => number[]>,
): Promise<Measurements['spread']> {
  run.opts.progress(`http: POST /post to ${CHANNELS} channels in turn, side by side, ${run.turns}`);
  const [mesh, pg] = await sideBySide(
    present([
      { ...memory, url: `${memory.base}/post`, bodies: memory.many, expectBody: POST_OK },
      pgMesh && { ...pgMesh, url: `${pgMesh.base}/post`, bodies: pgMesh.many, expectBody: POST_OK },
    ]),
    run.slicing,
    run.opts.progress,
    bystanders,
  );
  return { mesh, pg };
}

/** A target ratio; the throughput ratios also give it round by round, each from two turns taken one after the other. */
export interface Ratio {
  name: string;
  value: number;
  rounds?: number[];
}

/** `a`'s throughput over `b`'s, over all their turns and round by round. */
export function throughputRatio(name: string, a: Measured, b: Measured): Ratio {
  const rounds = a.turnRps.map((rps, i) => rps / b.turnRps[i]);
  return { name, value: a.rps / b.rps, rounds };
}

/** A ratio as the tables show it: two decimals, – where it could not be taken. */
function ratioText(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : '–';
}

/** A ratio's rounds as the table shows them: "0.58 · 0.61 · …" (– for none). */
export function roundsCell(ratio: Ratio): string {
  const { rounds } = ratio;
  return rounds === undefined || rounds.length === 0 ? '–' : rounds.map(ratioText).join(' · ');
}

/** A ratio's row: its name, its value, its rounds. */
function ratioRow(ratio: Ratio): string {
  return `| ${ratio.name} | ${ratioText(ratio.value)} | ${roundsCell(ratio)} |`;
}

/** The table's rows, in the document's order. */
function rowsOf(m: Measurements, postgresOnly: boolean): HttpBenchRow[] {
  const baseline = m.ceilingPosts?.rps ?? m.posts.rps;
  const { retrieves, spread } = m;
  const named = (name: string, r: Measured | undefined): HttpBenchRow | undefined =>
    r === undefined ? undefined : row(name, r, baseline);
  return present([
    named('ceiling: plain Fastify, POST /post from memory (1 process)', m.ceilingPosts),
    named(`ceiling: plain Fastify, POST /retrieve (${retrieves?.count} messages from memory)`, retrieves?.ceiling),
    named(
      postgresOnly
        ? 'mesh: POST /post (one channel)'
        : 'mesh: POST /post (gateway → broker → messages, session cached)',
      m.posts,
    ),
    named(`mesh: POST /retrieve (${retrieves?.count} messages per answer)`, retrieves?.mesh),
    named(`mesh: POST /post to ${CHANNELS} channels in turn`, spread?.mesh),
    // Both or neither: the mesh on PostgreSQL runs only where the 64 channels do.
    named('mesh on PostgreSQL: POST /post (one channel)', m.pgPosts),
    named(`mesh on PostgreSQL: POST /post to ${CHANNELS} channels in turn`, spread?.pg),
  ]);
}

/** The target ratios, the CPU tables. */
function ratiosOf(m: Measurements): Pick<HttpBench, 'ratios' | 'cpu' | 'postgresCpu'> {
  const { ceilingPosts, posts, pgPosts, retrieves, spread } = m;
  const ratios: Ratio[] = [];
  if (ceilingPosts !== undefined && retrieves !== undefined) {
    ratios.push(
      throughputRatio('mesh POST /post / plain Fastify', posts, ceilingPosts),
      throughputRatio(
        `mesh POST /retrieve / plain Fastify answering the same ${retrieves.count}`,
        retrieves.mesh,
        retrieves.ceiling,
      ),
    );
  }
  let postgresCpu: PostgresCpuRow[] | undefined;
  if (pgPosts !== undefined && spread?.pg !== undefined) {
    ratios.push(
      throughputRatio('PostgreSQL POST /post / in-memory mesh, one channel', pgPosts, posts),
      throughputRatio(`PostgreSQL POST /post / in-memory mesh, ${CHANNELS} channels`, spread.pg, spread.mesh),
    );
    const many = spread.pg.cpu;
    postgresCpu = pgPosts.cpu.map((c, i) => ({ name: c.name, one: c.usPerRequest, many: many[i]?.usPerRequest }));
  }
  if (ceilingPosts === undefined || retrieves === undefined) {
    // BENCH_HTTP_POSTGRES=1: the in-memory mesh's CPU per post, one channel in `post`, 64 in `retrieve`.
    return { ratios, cpu: cpuRows(posts.cpu, spread?.mesh.cpu ?? []), postgresCpu };
  }
  ratios.push(
    {
      name: 'CPU per request, all mesh processes / plain Fastify (POST /post)',
      value: cpuRatio(posts.cpu, ceilingPosts.cpu),
    },
    {
      name: 'CPU per request, all mesh processes / plain Fastify (POST /retrieve)',
      value: cpuRatio(retrieves.mesh.cpu, retrieves.ceiling.cpu),
    },
  );
  const cpu = cpuRows([...ceilingPosts.cpu, ...posts.cpu], [...retrieves.ceiling.cpu, ...retrieves.mesh.cpu]);
  return { ratios, cpu, postgresCpu };
}

/** The ceiling: plain Fastify answering /post and /retrieve from memory, in its own process. */
async function readyCeiling(procs: Proc[]): Promise<Deployment> {
  const proc = await launch(procs, 'plain Fastify', 'bench/http.js', {}, ['--ceiling']);
  const pid = proc.child.pid;
  return { base: proc.endpoints.http, meters: meters([proc]), pids: () => (pid === undefined ? [] : [pid]) };
}

/**
 * Run every measurement on the same machine: plain Fastify, the in-memory mesh and the mesh on
 * PostgreSQL are all started first, then each comparison is loaded side by side (bench/side-by-side.ts):
 * /post to one channel (all three), /retrieve (plain Fastify and the mesh), /post to 64 channels (the
 * two meshes). BENCH_HTTP_QUICK=1 leaves out PostgreSQL, the 64 channels and `npm start`;
 * BENCH_HTTP_POSTGRES=1 leaves out plain Fastify, /retrieve and `npm start`.
 */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBench> {
  const opts: Required<HttpBenchOptions> = {
    durationS: options.durationS ?? Number(process.env.BENCH_DURATION_S ?? 10),
    slices: options.slices ?? Number(process.env.BENCH_SLICES ?? 5),
    connections: options.connections ?? Number(process.env.BENCH_CONNECTIONS ?? 64),
    progress: options.progress ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const quick = process.env.BENCH_HTTP_QUICK === '1';
  const postgresOnly = process.env.BENCH_HTTP_POSTGRES === '1';
  const run: Run = {
    opts,
    slicing: {
      durationS: opts.durationS,
      slices: opts.slices,
      connections: opts.connections,
      overallRate: Number(process.env.BENCH_HTTP_RATE ?? 0),
    },
    turns: `${opts.slices} turns of ${SETTLE_S} s settling + ${opts.durationS / opts.slices} s measured, ${opts.connections} connections`,
  };
  const procs: Proc[] = [];
  let closePostgres: (() => Promise<void>) | undefined;
  try {
    opts.progress('http: starting what is compared (plain Fastify, the mesh, the mesh on PostgreSQL)');
    const ceiling = postgresOnly ? undefined : await readyCeiling(procs);
    const memory = await readyMesh(procs);
    const onPostgres = quick ? undefined : await readyMeshOnPostgres(procs, opts.progress);
    closePostgres = onPostgres?.close;
    const pgMesh = onPostgres?.mesh;
    const { lastId, ...one } = await postOneChannel(run, ceiling, memory, pgMesh);
    const retrieves =
      ceiling === undefined ? undefined : await retrieveBoth(run, ceiling, memory, lastId, present([pgMesh?.pids]));
    const spread = quick ? undefined : await postManyChannels(run, memory, pgMesh, present([ceiling?.pids]));
    await stopAll(procs.splice(0));
    await closePostgres?.();
    closePostgres = undefined;
    const measurements: Measurements = { ...one, retrieves, spread };
    let startup: Startup | undefined;
    if (!quick && !postgresOnly) {
      opts.progress('http: npm start readiness and memory at rest');
      startup = await measureStartup().catch((err: unknown) => {
        opts.progress(`http: npm start not measured: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
    }
    const cut = { rounds: opts.slices, measuredS: opts.durationS / opts.slices };
    return { rows: rowsOf(measurements, postgresOnly), ...ratiosOf(measurements), startup, ...cut };
  } finally {
    await stopAll(procs);
    await closePostgres?.();
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

/** The results as Markdown for docs/PERFORMANCE.md, with how they were taken. */
export function formatHttpTable(bench: HttpBench, connections = 64): string {
  const { rows } = bench;
  const lines = [
    `autocannon in the bench process keeps ${connections} HTTP/1.1 keep-alive connections busy (one request`,
    'in flight each). What a ratio compares is started together and loaded side by side (bench/side-by-side.ts):',
    `in turns, after ${WARMUP_S} s of warm-up each, ${bench.rounds} rounds of ${bench.measuredS} s measured each after ${SETTLE_S} s settling, each running alone while the processes of`,
    "the others are stopped (SIGSTOP), so that a drift of the machine's speed falls on both sides alike and",
    "no one's idle timers take from another's turn (the meshes run with the gateway's load shedding on",
    'event-loop delay off, as a stopped process reads its stop as one). requests/s is over the measured',
    "seconds (each turn's in the last column), p50/p99 the median of the turns' own. Every answer is compared",
    'with the expected body, so "bad answers" counts',
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
    'take turns on its counter row one by one, and each message takes over the row of the one its channel no',
    'longer retains (a ring of rows per channel: nothing deleted, the table does not grow); that',
    'call, a prepared statement, also announces its posts to the message streams, as many in one NOTIFY',
    "as fit PostgreSQL's 8000-byte payload, when a listener of the topic is listed. Under a load on few channels",
    'a call waits up to 1 ms for 32 appends to join it; on many, until the messages process has read what its',
    'event loop has ready. No message stream is open during these runs, so no',
    'messages process listens to the topic (one listens only while it has streams open) and the calls notify',
    'nothing; with a stream open anywhere, every call announces its posts.',
    '',
    `| HTTP, ${connections} connections | requests/s | p50 ms | p99 ms | ratio to the /post ceiling | bad answers | requests/s of each turn |`,
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.bad} | ${r.turns.join(' · ')} |`,
    ),
    '',
    "A throughput ratio's value is over all the measured turns of both sides; the last column gives it round",
    'by round, from the two turns each round took one after the other: their spread is the noise within this',
    'run (runs on other days, the machine busier or quieter, have landed further apart).',
    '',
    '| ratio | value | in each round |',
    '|---|---:|---|',
    ...bench.ratios.map(ratioRow),
    '',
    "CPU time per request of `POST /post` (one channel, in memory) and of `POST /retrieve`, from each process's",
    'utime + stime in `/proc/<pid>/stat` before and after each measured turn, divided by the requests answered;',
    'steadier than requests/s on a loaded machine:',
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
    `| HTTP, ${connections} connections | requests/s | p50 ms | p99 ms | ratio to in-memory /post | bad answers | requests/s of each turn |`,
    '|---|---:|---:|---:|---:|---:|---|',
    ...bench.rows.map(
      (r) =>
        `| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.ratio.toFixed(2)} | ${r.bad} | ${r.turns.join(' · ')} |`,
    ),
    '',
    ...bench.ratios.map(ratioRow),
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
    const speedAtStart = speedProbeMs();
    benchHttp({ connections }).then(
      (bench) => {
        const alone = process.env.BENCH_HTTP_POSTGRES === '1';
        process.stdout.write(
          `${machine()}; ${speedNote(speedAtStart, speedProbeMs())}\n\n` +
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
