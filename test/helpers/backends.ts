/**
 * Throwaway PostgreSQL and Redis servers for tests, from the Debian packages (`postgresql`,
 * `redis-server`), each on a free loopback port with its data in a temporary folder that is
 * removed at the end. PostgreSQL refuses to run as root: when the tests run as root (CI),
 * the folder is handed to the `postgres` user the package creates, and initdb and postgres
 * run under its uid. A machine without them makes the test say
 * "skipped: <why>"; with CI=true that fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from 'pg';
import { until as pollUntil } from './bus';
import { freePort, skipOrFail, start, type Started } from './proc';

/**
 * Resolve once `probe` answers true (asked every `everyMs`; a probe that throws counts as false), or fail naming
 * `what` at the deadline.
 */
export function until(probe: () => Promise<boolean>, what: string, deadlineMs = 15_000, everyMs = 50): Promise<void> {
  return pollUntil(() => probe().catch(() => false), deadlineMs, what, everyMs);
}

/** Skip (or, with CI=true, fail) the test with `why`. */
export { skipOrFail };

/** The directory holding initdb and postgres: the newest /usr/lib/postgresql/<ver>/bin, else pg_config's. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (existsSync(path.join(dir, 'postgres')) && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir !== '' && existsSync(path.join(dir, 'postgres')) ? dir : undefined;
}

export interface Postgres {
  /** URL of a new, empty database on this server. */
  newDatabase(): Promise<string>;
  /** Stop (SIGINT: fast shutdown, clean) and wait for the exit. */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  restart(): Promise<void>;
  port: number;
}

/** Why PostgreSQL cannot run here, or undefined when it can. */
export function postgresProblem(): string | undefined {
  if (postgresBin() === undefined) return 'PostgreSQL is not installed (no /usr/lib/postgresql/<ver>/bin/postgres)';
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return 'running as root and there is no postgres user to run PostgreSQL as';
  return undefined;
}

/** Spawn options running a child as the postgres user when we are root (PostgreSQL refuses root). */
function asPostgres(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout);
  return { uid: id('-u'), gid: id('-g') };
}

/** A PostgreSQL server for the duration of the test `t`, or undefined (skipped). */
export async function startPostgres(t: TestContext): Promise<Postgres | undefined> {
  const problem = postgresProblem();
  if (problem !== undefined) {
    skipOrFail(t, problem, 'postgresql');
    return undefined;
  }
  const pg = await launchPostgres();
  t.after(() => pg.close());
  return pg;
}

/** A PostgreSQL server in a new temporary folder, until `close()` stops it and removes the folder. */
export async function launchPostgres(): Promise<Postgres & { close(): Promise<void> }> {
  const bin = postgresBin()!;
  // As root the folder goes under /tmp, which the postgres user can reach whatever TMPDIR says
  // (and the socket path stays short).
  const dir = mkdtempSync(path.join(process.getuid?.() === 0 ? '/tmp' : os.tmpdir(), 'agora-pg-'));
  const user = asPostgres();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = path.join(dir, 'data');
  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'agora', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    { encoding: 'utf8', cwd: dir, ...user },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  let databases = 0;
  const url = (db: string): string => `postgres://agora@127.0.0.1:${port}/${db}`;

  const launch = async (): Promise<void> => {
    // fsync off: a throwaway server; a clean stop still writes everything out.
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ];
    const proc = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...user });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
    child = proc;
    await until(async () => {
      if (proc.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
      const client = new Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    }, `PostgreSQL on port ${port}`).catch((e: Error) => {
      throw new Error(`${e.message}\n${stderr}`);
    });
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGINT');
    await exited;
  };
  await launch();
  return {
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    port,
    stop,
    restart: launch,
    newDatabase: async () => {
      const name = `t${process.pid}_${++databases}`;
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
  };
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  /** Start again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

/** A Redis server (no persistence) for the duration of `t`, or undefined (skipped). */
export async function startRedis(t: TestContext): Promise<RedisServer | undefined> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    skipOrFail(t, 'redis-server is not installed', 'redis-server');
    return undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-redis-'));
  const port = await freePort();
  let proc: Started | undefined;
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    proc = await start(which.stdout.trim(), args, {
      parse: (raw) => ({ raw }),
      isReady: (l) => String(l.raw).includes('Ready to accept connections'),
    });
  };
  const stop = async (): Promise<void> => {
    const started = proc;
    proc = undefined;
    await started?.stop('SIGTERM');
  };
  t.after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await launch();
  return { url: `redis://127.0.0.1:${port}/0`, stop, restart: launch };
}
