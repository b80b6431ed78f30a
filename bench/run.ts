/**
 * `npm run bench` (docs/ARCHITECTURE.md "Tests and measurement"): one echo call, side by side in one run,
 * at 1 and at 64 calls in flight, through
 *   - raw ZeroMQ DEALER↔ROUTER between two processes: the transport ceiling;
 *   - Moleculer's TCP transporter between two processes;
 *   - Agora: client process → broker process → echo service process;
 *   - the same with CURVE on (docs/SECURITY.md), keys made by `agora keys init` in a temporary directory.
 * Every server is its own process, started and awaited on its ready line; every load
 * generator is its own process (bench/load.ts). Prints a Markdown table and writes
 * docs/PERFORMANCE.md.
 *
 * Knobs: BENCH_WARMUP_S (1), BENCH_DURATION_S (3), BENCH_TURNS (3), BENCH_IN_FLIGHT ("1,64"),
 * BENCH_ONLY ("raw,moleculer,agora,agora-curve"), BENCH_PROFILE_DIR (runs Agora's three
 * processes, with and without CURVE, under `node --cpu-prof` into that folder's agora/ and
 * agora-curve/). Only a full default run writes the doc.
 * Then bench/http.ts runs (HTTP through the whole mesh against plain Fastify and on PostgreSQL, side by side,
 * BENCH_HTTP_DURATION_S measured seconds per row, default 10, in 5 turns) and adds its table; BENCH_HTTP=0 skips it,
 * BENCH_HTTP_QUICK=1 keeps only its /post and /retrieve runs, BENCH_HTTP_RATE fixes their requests per
 * second (bench/http.ts runs alone too: `node dist/bench/http.js`).
 * Then bench/proxy.ts runs (a GET direct, through nginx and through the proxy,
 * BENCH_PROXY_DURATION_S seconds per run, default 5) and adds its table; BENCH_PROXY=0 skips it.
 * Last bench/sse.ts opens 1,000 message streams on one gateway and adds what they cost; BENCH_SSE=0
 * skips it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { combineTurns, type CellResult, type Turn } from './load';
import { machine, speedNote, speedProbeMs } from './machine';
import { launch, ROOT, startClient, stopAll, type Client, type Proc } from './procs';

interface System {
  key: string;
  label: string;
  /** Start the servers; resolve with the endpoint the client connects to. */
  start: (procs: Proc[], nodeArgs: string[]) => Promise<string>;
  client: string;
  /** The load client's environment. */
  clientEnv?: () => Record<string, string>;
}

interface Row extends CellResult {
  key: string;
  label: string;
}

const SYSTEMS: readonly System[] = [
  {
    key: 'raw',
    label: 'raw ZeroMQ DEALER↔ROUTER (ceiling)',
    start: async (procs) => (await launch(procs, 'raw-zmq-server', 'bench/raw-zmq-server.js')).endpoints.zmq,
    client: 'bench/raw-zmq-client.js',
  },
  {
    key: 'moleculer',
    label: 'Moleculer, TCP transporter',
    start: async (procs) => (await launch(procs, 'moleculer-server', 'bench/moleculer-server.js')).endpoints.tcp,
    client: 'bench/moleculer-client.js',
  },
  {
    key: 'agora',
    label: 'Agora: client → broker → echo',
    start: async (procs, nodeArgs) => {
      const broker = await launch(
        procs,
        'broker',
        'services/broker/main.js',
        { AGORA_BUS_URL: 'tcp://127.0.0.1:0' },
        nodeArgs,
      );
      await launch(procs, 'echo', 'services/echo/main.js', { AGORA_BUS_URL: broker.endpoints.bus }, nodeArgs);
      return broker.endpoints.bus; // the client waits for mmi.service('echo') = 200 itself
    },
    client: 'bench/agora-client.js',
  },
  {
    key: 'agora-curve',
    label: 'Agora with CURVE: client → broker → echo',
    start: async (procs, nodeArgs) => {
      const keys = curveKeys();
      const broker = await launch(
        procs,
        'broker',
        'services/broker/main.js',
        {
          AGORA_BUS_URL: 'tcp://127.0.0.1:0',
          AGORA_BUS_CURVE: 'on',
          AGORA_BUS_SERVER_CERT: path.join(keys, 'broker.key_secret'),
          AGORA_BUS_ALLOW: path.join(keys, 'allow'),
        },
        nodeArgs,
      );
      const echoEnv = { AGORA_BUS_URL: broker.endpoints.bus, ...curvePeer('echo') };
      await launch(procs, 'echo', 'services/echo/main.js', echoEnv, nodeArgs);
      return broker.endpoints.bus;
    },
    client: 'bench/agora-client.js',
    clientEnv: () => curvePeer('client'),
  },
];

let keysDir: string | undefined;

/** CURVE keys for the bench, made once by `agora keys init` (removed at exit). */
function curveKeys(): string {
  if (keysDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-bench-keys-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'bin', 'agora.js'), 'keys', 'init', dir], { cwd: ROOT });
    keysDir = dir;
  }
  return keysDir;
}

/** The CURVE settings of the process holding the key `name`. */
function curvePeer(name: string): Record<string, string> {
  const keys = curveKeys();
  return {
    AGORA_BUS_CURVE: 'on',
    AGORA_BUS_CERT: path.join(keys, `${name}.key_secret`),
    AGORA_BUS_SERVER_KEY: path.join(keys, 'broker.key'),
  };
}

/**
 * What the echo table measures: each in-flight level `durationMs` per system after a `warmupMs` warm-up, in
 * `turns` turns, the systems loaded one after another in each (a later turn warms up for TURN_WARMUP_MS).
 */
interface Plan {
  inFlight: number[];
  warmupMs: number;
  durationMs: number;
  turns: number;
}

/** The warm-up of a system's later turns at one level: it has run that load before, then waited. */
const TURN_WARMUP_MS = 250;

function settings(): {
  plan: Plan;
  only: string[];
  profileDir: string | undefined;
  full: boolean;
} {
  const env = process.env;
  const inFlight = (env.BENCH_IN_FLIGHT ?? '1,64')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n <= 4096);
  const only = (env.BENCH_ONLY ?? SYSTEMS.map((s) => s.key).join(',')).split(',');
  const plan = {
    inFlight,
    warmupMs: Number(env.BENCH_WARMUP_S ?? 1) * 1000,
    durationMs: Number(env.BENCH_DURATION_S ?? 3) * 1000,
    turns: Math.max(1, Math.floor(Number(env.BENCH_TURNS ?? 3)) || 1),
  };
  const profileDir =
    env.BENCH_PROFILE_DIR === undefined || env.BENCH_PROFILE_DIR === ''
      ? undefined
      : path.resolve(env.BENCH_PROFILE_DIR);
  const full =
    env.BENCH_ONLY === undefined &&
    env.BENCH_IN_FLIGHT === undefined &&
    profileDir === undefined &&
    env.BENCH_HTTP !== '0' &&
    env.BENCH_HTTP_QUICK === undefined &&
    env.BENCH_HTTP_POSTGRES === undefined &&
    env.BENCH_HTTP_RATE === undefined &&
    env.BENCH_PROXY !== '0' &&
    env.BENCH_SSE !== '0';
  return { plan, only, profileDir, full };
}

/**
 * Every system started at once, each with its load client connected; then, for each in-flight level, the
 * systems take turns (one loaded while the others wait, in another order each turn) and each one's turns
 * make its row (bench/load.ts `combineTurns`). Rows in the order of `systems`, each system's levels in order.
 */
async function measureAll(systems: readonly System[], plan: Plan, profileDir: string | undefined): Promise<Row[]> {
  const procs: Proc[] = [];
  try {
    // Each client's cells: one list of turns per in-flight level, in the order of plan.inFlight.
    const clients: Array<{ system: System; client: Client<Turn, CellResult>; cells: CellResult[][] }> = [];
    for (const system of systems) {
      process.stderr.write(`bench: starting ${system.label}\n`);
      const nodeArgs =
        profileDir !== undefined && system.key.startsWith('agora')
          ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, system.key)}`]
          : [];
      const endpoint = await system.start(procs, nodeArgs);
      const env = system.clientEnv?.() ?? {};
      const client = await startClient<Turn, CellResult>(procs, system.client, { endpoint }, 20_000, nodeArgs, env);
      clients.push({ system, client, cells: plan.inFlight.map(() => []) });
    }
    const turnMs = plan.durationMs / plan.turns;
    for (const [level, n] of plan.inFlight.entries())
      for (let t = 0; t < plan.turns; t++) {
        process.stderr.write(`bench: ${n} in flight, turn ${t + 1} of ${plan.turns}\n`);
        const warmupMs = t === 0 ? plan.warmupMs : Math.min(plan.warmupMs, TURN_WARMUP_MS);
        for (let i = 0; i < clients.length; i++) {
          const { client, cells } = clients[(i + t) % clients.length];
          const turn = { inFlight: n, warmupMs, durationMs: turnMs };
          cells[level].push(await client.turn(turn, 20_000 + warmupMs + turnMs));
        }
      }
    await Promise.all(clients.map(({ client }) => client.end(10_000)));
    return clients.flatMap(({ system, cells }) =>
      cells.map((turns) => ({
        ...combineTurns(turns, plan.durationMs),
        key: system.key,
        label: system.label,
      })),
    );
  } finally {
    await stopAll(procs);
  }
}

function table(rows: readonly Row[]): string {
  return [
    '| system | in flight | calls/s | p50 µs | p99 µs | bad answers |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.inFlight} | ${r.perSecond} | ${r.p50Us} | ${r.p99Us} | ${r.bad} |`),
  ].join('\n');
}

function ratios(rows: readonly Row[], inFlight: number[]): string {
  const find = (key: string, n: number): Row | undefined => rows.find((r) => r.key === key && r.inFlight === n);
  const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
  const line = (label: string, base: string, of = 'agora'): string => {
    const cells = inFlight.map((n) => {
      const a = find(of, n);
      const b = find(base, n);
      return a === undefined || b === undefined
        ? '– | –'
        : `${fmt(a.perSecond / b.perSecond)} | ${fmt(a.p50Us / b.p50Us)}`;
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  };
  return [
    `| ratio | ${inFlight.map((n) => `calls/s at ${n} | p50 at ${n}`).join(' | ')} |`,
    `|---|${inFlight.map(() => '---:|---:').join('|')}|`,
    line('Agora / raw ZeroMQ', 'raw'),
    line('Agora / Moleculer', 'moleculer'),
    line('Agora with CURVE / Agora', 'agora', 'agora-curve'),
  ].join('\n');
}

function moleculerVersion(): string {
  const file = path.join(ROOT, 'node_modules', 'moleculer', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The load average when the run began, and whether other work shared the machine. */
function loadNote(load: number): string {
  const cores = os.cpus().length;
  const shared = load > cores / 2 ? 'the machine was loaded by other work, so throughput moved a lot' : 'no other load';
  return `load average ${load.toFixed(1)} on ${cores} cores when the run began (${shared})`;
}

const loadAtStart = os.loadavg()[0];
const speedAtStart = speedProbeMs();

function doc(rows: readonly Row[], plan: Plan, extra: string, speed: string): string {
  return `# Performance

What is measured: one echo call carrying the same payload (a msgpack/JSON map of a
100-character string and a number), by a load process that keeps 1 or 64 calls in flight
(closed loop) for a ${plan.warmupMs / 1000} s warm-up and then ${plan.durationMs / 1000} s measured, in ${plan.turns} turns of
${plan.durationMs / plan.turns / 1000} s: every system is started and its load process connected first, then at each level
the systems take turns, one loaded while the others wait, in another order each turn (a later
turn warms up for ${TURN_WARMUP_MS} ms), so that a change in the host's load falls on all of them.
calls/s counts the calls answered in the measured windows; p50/p99 come from every call's latency
on the monotonic clock, each the median of the turns' own. Every server and every load generator
is its own process, on loopback.

- **raw ZeroMQ**: a DEALER sends [id][payload bytes, encoded once], a ROUTER process sends
  each message back, both with zeromq.js (libzmq). No encoding, routing or deadlines: the
  transport ceiling.
- **Moleculer** ${moleculerVersion()}: two brokers on the TCP transporter (static url, UDP discovery
  off, default JSON serializer, requestTimeout 5 s), calling ${'`'}echo.echo${'`'}.
- **Agora**: ${'`'}createClient().call('echo', 'echo', [payload])${'`'} → broker process → echo
  service process, default config (the echo process offers 32 slots on one worker socket, so
  at 64 in flight the broker queues the rest). Every call is a full MDP exchange with
  msgpack-RPC bodies, a metadata frame and a deadline. Three processes where the others have
  two: the broker hop is the design.
- **Agora with CURVE**: the same three processes with ${'`'}AGORA_BUS_CURVE=on${'`'} (docs/SECURITY.md),
  keys from ${'`'}agora keys init${'`'}. CURVE boxes every frame on its own (ZeroMQ RFC 26 MESSAGE): an
  MDP call is 22 boxes sealed or opened at the broker, 9 at the client and 13 at the worker, 44
  XSalsa20-Poly1305 boxes in all, each 0.2 to 0.5 µs in libsodium's WebAssembly build
  (lib/bus/sodium.ts; opening costs more than sealing, the body more than an empty frame). That
  cipher alone, some 14 µs of CPU per call, is about what the three processes spend on
  everything else for a call without CURVE (16 to 18 µs), so where the CPU is the limit, at 64
  in flight, CURVE cannot pass about half the calls/s; measured, the three processes spent
  40 µs per call with CURVE and 18 µs without. The codec around the cipher
  (lib/bus/curve.ts) seals a whole message in one pass over libsodium's heap and opens each
  frame in place there, with one copy in and one copy out.

Why Agora, with three processes and a broker hop, comes close to the two-process ceiling (and
in some runs passes it and Moleculer): its processes speak ZMTP 3.0 through their own
transport in ${'`'}lib/bus/${'`'} (TypeScript over node:net, byte-compatible with libzmq) rather than through
the native binding. Profiling the broker on zeromq.js showed where its time went: one heap
allocation (an ArrayBuffer backing store, freed on another thread) per received frame, and
two or three system calls per send and per receive (zeromq.js probes ${'`'}ZMQ_EVENTS${'`'} around
each); the broker receives 13 frames and sends 14 per call. The TypeScript transport parses
every message a read returns and hands out its frames where they lie in the read buffer: the
broker copies, into one buffer, only the body of a request it holds; clients and workers read
every chunk into one buffer per connection, reused (no allocation per read), and copy the frames
they keep. It writes everything one turn of the event loop sends in one system call. Workers offering slots (docs/PROTOCOL.md §3)
keep one connection per process instead of one per concurrent request.

Rerun with ${'`'}npm run bench${'`'} (about two minutes; knobs are listed at the top of ${'`'}bench/run.ts${'`'}).
Numbers are only comparable within one run on one machine; on a shared 2-vCPU VM repeated
runs moved by about ±20 %, the ratios less, and on a loaded machine far more: there the CPU
time per request (in the HTTP section) is the steadier measure.

Run of ${new Date().toISOString().slice(0, 10)} on ${machine()}; ${loadNote(loadAtStart)}; ${speed}.

${table(rows)}

${ratios(rows, plan.inFlight)}

calls/s ratio: higher is better (1.00 = as fast as the baseline); p50 ratio: lower is better.
${extra}`;
}

/** The HTTP section (bench/http.ts), loaded only when it runs. */
async function http(): Promise<string> {
  const { benchHttp, formatHttpTable } = await import('./http');
  const connections = 64;
  process.stderr.write('bench: HTTP through the mesh\n');
  const bench = await benchHttp({ durationS: Number(process.env.BENCH_HTTP_DURATION_S ?? 10), connections });
  return `\n## HTTP\n\n${formatHttpTable(bench, connections)}\n`;
}

/** The proxy section (bench/proxy.ts), loaded only when it runs. */
async function proxy(): Promise<string> {
  const { benchProxy, formatProxyTable } = await import('./proxy');
  const connections = 64;
  process.stderr.write('bench: the proxy\n');
  const rows = await benchProxy({
    durationS: Number(process.env.BENCH_PROXY_DURATION_S ?? 5),
    warmupS: 1,
    connections,
  });
  const intro = [
    'A GET of a short text from one target process (bench/proxy-backend.ts), direct, through nginx (one',
    'worker, upstream keep-alive) and through the proxy process (services/proxy, the target a node route',
    "of its table), and through the same forwarding on node's http.Agent for comparison. The proxy's",
    'table here is a fixed file (AGORA_PROXY_ROUTES_FILE): a request whose route is known and whose node',
    'is ACTIVE costs the proxy no call to Routes, the bus or a store, so following Routes changes nothing',
    "on this path. On a shared 2-core machine throughput moves with the machine's other work; the CPU",
    'time per request moves less.',
  ].join('\n');
  return `\n## The proxy\n\n${intro}\n\n${formatProxyTable(rows, connections)}\n`;
}

/** The live messages section (bench/sse.ts), loaded only when it runs. */
async function sse(): Promise<string> {
  const { benchSse } = await import('./sse');
  process.stderr.write('bench: open message streams\n');
  const intro = [
    'What open message streams (GET /v1/channels/{name}/messages/stream) cost the gateway: its resident',
    'memory before and after opening them (bar: 1,000 streams within 30 MB), and the time from a post',
    'to its delivery on the last of them. Memory backend, one gateway, the streams opened by the bench.',
    '"Before" is read after 5,000 requests: the gateway starts with a small young generation (README.md',
    '"The parts"), which the first load grows by some 30 MB whatever it is; the growth shown is the',
    "streams' own. The resident memory at rest, before those requests, is shown too.",
  ].join('\n');
  return `\n## Live messages\n\n${intro}\n\n${await benchSse()}`;
}

async function main(): Promise<void> {
  const { plan, only, profileDir, full } = settings();
  const rows = await measureAll(
    SYSTEMS.filter((s) => only.includes(s.key)),
    plan,
    profileDir,
  );
  const extra =
    (process.env.BENCH_HTTP === '0' ? '' : await http()) +
    (process.env.BENCH_PROXY === '0' ? '' : await proxy()) +
    (process.env.BENCH_SSE === '0' ? '' : await sse());
  const speed = speedNote(speedAtStart, speedProbeMs());
  process.stdout.write(`\n${machine()}; ${speed}\n\n${table(rows)}\n\n${ratios(rows, plan.inFlight)}\n${extra}`);
  if (full) {
    writeFileSync(path.join(ROOT, 'docs', 'PERFORMANCE.md'), doc(rows, plan, extra, speed));
    process.stderr.write('bench: wrote docs/PERFORMANCE.md\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
