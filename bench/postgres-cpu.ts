/**
 * The CPU time of a PostgreSQL server for the bench's PostgreSQL rows (bench/http.ts): the postmaster,
 * every process it started that is still alive (backends, WAL writer, checkpointer…), and those that
 * ended (the postmaster's children's time), from /proc/<pid>/stat.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

let ticksPerSecond: number | undefined;

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The postmaster's pid: the parent of the backend that serves a connection to `url`. */
export async function postmasterPid(url: string): Promise<number | undefined> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ppid = Number(statFields(rows[0].pid)?.[1]);
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
  } finally {
    await client.end();
  }
}

/** The /proc/<pid>/stat fields of every process `postmaster` started that is still alive, by pid. */
function children(postmaster: number): Array<[number, string[]]> {
  const found: Array<[number, string[]]> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined && Number(fields[1]) === postmaster) found.push([Number(entry), fields]);
  }
  return found;
}

/** The postmaster and every process it started that is still alive. */
export function postgresPids(postmaster: number | undefined): number[] {
  return postmaster === undefined ? [] : [postmaster, ...children(postmaster).map(([pid]) => pid)];
}

/** CPU time (user + system) the server of `postmaster` has used so far, in µs; undefined where /proc cannot say. */
export function postgresCpuMicros(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const own = statFields(postmaster);
  if (own === undefined) return undefined;
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // utime, stime, cutime, cstime
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const [, fields] of children(postmaster)) ticks += Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerSecond;
}
