/**
 * The mesh the fault suite and the soak run against (docs/RELIABILITY.md): a throwaway PostgreSQL
 * and Redis (with its append-only file, as a Redis that keeps sessions across a restart runs), two
 * brokers, two auth, one channels, two messages, one echo and two gateways, each its own process
 * from the Procfile's entry point. Every address is fixed when the mesh starts, so a process the
 * suite kills is started again on the same ports with the same environment, as systemd would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseFigures, type ProcessFigures } from '../lib/process-figures';
import { launchPostgres, postgresProblem, type Postgres } from '../test/helpers/backends';
import { freePort } from '../test/helpers/proc';
import { procfileNodeFlags, ROOT } from './procs';

/** One process of the mesh, restartable. */
export interface MeshProc {
  name: string;
  child: ChildProcess;
  /** Its last output lines, for an error that must say what it said. */
  tail: string[];
  /** The figures of its last `process figures` line (with AGORA_PROCESS_FIGURES_MS set), lib/process-figures.ts. */
  figures?: ProcessFigures;
}

export interface FaultMesh {
  /** The gateways' base URLs, in order (`gateway.1`, `gateway.2`). */
  gateways: string[];
  /** `AGORA_BUS_URL`: both brokers. */
  busUrl: string;
  /** Every Agora process by name (`broker.1`, `messages.2`, …). */
  procs: Map<string, MeshProc>;
  postgres: Postgres;
  redis: { pid(): number | undefined; restart(): Promise<void> };
  /** Start `name` again (after it died) with its environment; resolves on its ready line. */
  restart(name: string): Promise<MeshProc>;
  /** Every pid to sample: Agora's processes, Redis and PostgreSQL's postmaster, by name. */
  pids(): Map<string, number>;
  stop(): Promise<void>;
}

/** What the machine lacks to run the mesh, or undefined. */
export function meshProblem(): string | undefined {
  const pg = postgresProblem();
  if (pg !== undefined) return pg;
  if (redisServer() === undefined) return 'redis-server is not installed';
  return undefined;
}

function redisServer(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** Spawn `node dist/<entry>` and resolve once it prints its ready line (or reject on exit or after 30 s). */
async function launch(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: readonly string[],
): Promise<MeshProc> {
  const args = [...procfileNodeFlags(entry), ...nodeArgs, path.join(ROOT, 'dist', entry)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: MeshProc = { name, child, tail: [] };
  const keep = (line: string): void => {
    proc.tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
    if (proc.tail.length > 20) proc.tail.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${name}: no ready line within 30 s\n${proc.tail.join('\n')}`)),
      30_000,
    );
    const onExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`${name} exited (${code ?? signal}) before its ready line\n${proc.tail.join('\n')}`));
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const figures = parseFigures(line);
      if (figures !== undefined) {
        proc.figures = figures;
        return;
      }
      keep(line);
      if (!line.includes('"ready":true')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve();
    });
  });
  return proc;
}

/** A Redis server on `port` keeping its data in `dir` (append-only file, fsync every second). */
async function launchRedis(bin: string, port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server: not ready within 15 s\n${said}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before ready\n${said}`)));
    child.stdout.on('data', (d: Buffer) => {
      said = (said + d.toString()).slice(-4000);
      if (said.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The fixed ports of one mesh. */
async function ports(): Promise<Record<string, number>> {
  const names = ['broker.1', 'broker.2', 'auth.1', 'auth.2', 'channels.1', 'messages.1', 'messages.2', 'redis'];
  const out: Record<string, number> = {};
  for (const n of [...names, 'gateway.1', 'gateway.2']) out[n] = await freePort();
  return out;
}

/**
 * Start the mesh; `env` goes to every Agora process (over the mesh's own settings), and `nodeArgs` to
 * every `node` that runs one, after the Procfile's flags (V8 flags that NODE_OPTIONS does not take).
 */
export async function startFaultMesh(
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<FaultMesh> {
  const port = await ports();
  const hostPort = (n: string): string => `127.0.0.1:${port[n]}`;
  const busUrls = ['broker.1', 'broker.2'].map((n) => `tcp://${hostPort(n)}`);
  const postgres = await launchPostgres();
  const redisDir = mkdtempSync(path.join(os.tmpdir(), 'agora-faults-redis-'));
  const redisBin = redisServer()!;
  let redis = await launchRedis(redisBin, port.redis, redisDir);
  const common: Record<string, string> = {
    AGORA_BUS_URL: busUrls.join(','),
    AGORA_AUTH_GRPC_URL: ['auth.1', 'auth.2'].map(hostPort).join(','),
    AGORA_CHANNELS_GRPC_URL: hostPort('channels.1'),
    AGORA_MESSAGES_GRPC_URL: ['messages.1', 'messages.2'].map(hostPort).join(','),
    AGORA_DATABASE_URL: await postgres.newDatabase(),
    AGORA_REDIS_URL: `redis://${hostPort('redis')}/0`,
    // Every acknowledged post must be readable at the end: keep them all.
    AGORA_MESSAGES_RETAINED: '1000000',
    ...env,
  };
  const envs = new Map<string, { entry: string; env: Record<string, string> }>();
  const procs = new Map<string, MeshProc>();
  const start = async (name: string, entry: string, own: Record<string, string>): Promise<void> => {
    envs.set(name, { entry, env: { ...common, ...own } });
    procs.set(name, await launch(name, entry, { ...common, ...own }, nodeArgs));
  };
  const service = (svc: string) => (name: string) =>
    start(name, `services/${svc}/main.js`, { AGORA_GRPC_BIND: hostPort(name) });
  const mesh: FaultMesh = {
    gateways: ['gateway.1', 'gateway.2'].map((n) => `http://${hostPort(n)}`),
    busUrl: common.AGORA_BUS_URL,
    procs,
    postgres,
    redis: {
      pid: () => redis.pid,
      restart: async () => {
        await stopChild(redis);
        redis = await launchRedis(redisBin, port.redis, redisDir);
      },
    },
    restart: async (name) => {
      const spec = envs.get(name);
      if (spec === undefined) throw new Error(`no process named ${name}`);
      const proc = await launch(name, spec.entry, spec.env, nodeArgs);
      procs.set(name, proc);
      return proc;
    },
    pids: () => {
      const out = new Map<string, number>();
      for (const [name, p] of procs) if (p.child.pid !== undefined) out.set(name, p.child.pid);
      if (redis.pid !== undefined) out.set('redis', redis.pid);
      const pg = postmasterPid(postgres.port);
      if (pg !== undefined) out.set('postgresql (all its processes)', pg);
      return out;
    },
    stop: async () => {
      const order = ['gateway', 'echo', 'messages', 'channels', 'auth', 'broker'];
      for (const kind of order)
        await Promise.all([...procs.values()].filter((p) => p.name.startsWith(kind)).map((p) => stopChild(p.child)));
      await stopChild(redis);
      rmSync(redisDir, { recursive: true, force: true });
      await postgres.close();
    },
  };
  try {
    await Promise.all(['broker.1', 'broker.2'].map((n, i) => start(n, 'services/broker/main.js', bind(busUrls[i]))));
    await Promise.all(['auth.1', 'auth.2'].map(service('auth')));
    await service('channels')('channels.1');
    await Promise.all(['messages.1', 'messages.2'].map(service('messages')));
    await start('echo.1', 'services/echo/main.js', {});
    await Promise.all(
      ['gateway.1', 'gateway.2'].map((n) => start(n, 'gateway/main.js', { AGORA_HTTP_PORT: String(port[n]) })),
    );
  } catch (e) {
    await mesh.stop();
    throw e;
  }
  return mesh;
}

function bind(url: string): Record<string, string> {
  return { AGORA_BROKER_BIND: url };
}

/** The pid of the postmaster listening on `port` (its postmaster.pid names it), if running. */
function postmasterPid(port: number): number | undefined {
  const tmp = process.getuid?.() === 0 ? '/tmp' : os.tmpdir();
  for (const dir of readdirSync(tmp).filter((d) => d.startsWith('agora-pg-'))) {
    try {
      const lines = readFileSync(path.join(tmp, dir, 'data', 'postmaster.pid'), 'utf8').split('\n');
      if (Number(lines[3]) === port) return Number(lines[0]);
    } catch {
      // another server's folder, or one being removed
    }
  }
  return undefined;
}
