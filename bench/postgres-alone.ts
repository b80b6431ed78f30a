/**
 * The PostgreSQL message store's own cost per append, apart from the mesh: `node dist/bench/postgres-alone.js`
 * starts a throwaway PostgreSQL server (as bench/http.ts does), opens the store as the messages process does
 * (lib/store/messages-postgres.ts over lib/store/postgres-pool.ts, migrations applied, announcing on the
 * messages topic with no listener listed, the mesh's default), and keeps 64 appenders busy in a closed loop
 * in this process: all on one channel, then each append on the next of 64 channels (as the bench's
 * "64 channels in turn" posts), run after run. Each run prints appends/s, how many appends a call carried,
 * and the CPU per append of this process (the store and the driver, plus the loop's own promise per append)
 * and of the PostgreSQL server (the postmaster and every process it started, bench/postgres-cpu.ts).
 *
 * Those CPU figures move much less between runs than the mesh's PostgreSQL row in bench/http.ts, which
 * compares two meshes of six processes each: alternate runs of the trees compared, and read a change in the
 * store's SQL or its grouping of appends here first.
 *
 * Knobs: BENCH_RUNS (3 of each load), BENCH_DURATION_S (5 per run; each load first runs 1 s unmeasured),
 * BENCH_CONNECTIONS (64 appenders). Retention is the configuration's default (AGORA_MESSAGES_RETAINED, 100).
 * Not part of `npm run bench`.
 */
import { launchPostgres, postgresProblem } from '../test/helpers/backends';
import { createLogger } from '../lib/log';
import { PgMessageStore } from '../lib/store/messages-postgres';
import { PgDatabase } from '../lib/store/postgres-pool';
import { machine, speedNote, speedProbeMs } from './machine';
import { postgresCpuMicros, postmasterPid } from './postgres-cpu';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const APPENDERS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const CHANNELS = 64;
const RETAIN = 100;
/** The NOTIFY channel of the messages topic, as lib/store/index.ts gives the messages process. */
const TOPIC = 'agora_messages';
const MESSAGE = 'hello, bench';

/** A load: the channel of each append, in turn. */
interface Load {
  name: string;
  channel: (n: number) => string;
}

const LOADS: readonly Load[] = [
  { name: 'one channel', channel: () => 'bench' },
  { name: `${CHANNELS} channels in turn`, channel: (n) => `bench-${n % CHANNELS}` },
];

/** What one run measured. */
interface Run {
  appends: number;
  calls: number;
  seconds: number;
  /** µs of CPU, this process's and the PostgreSQL server's. */
  ownUs: number;
  serverUs: number;
}

/** `APPENDERS` loops appending until `until`, each append to the load's next channel; resolves with how many. */
async function load(store: PgMessageStore, l: Load, until: number): Promise<number> {
  let n = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < until) await store.append(l.channel(n++), 'bench', MESSAGE, RETAIN);
  };
  await Promise.all(Array.from({ length: APPENDERS }, loop));
  return n;
}

function cpuUs(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

function line(l: Load, run: number, r: Run): string {
  const per = (us: number): string => (us / Math.max(1, r.appends)).toFixed(1);
  return (
    `run ${run}, ${l.name}: ${Math.round(r.appends / r.seconds)} appends/s, ` +
    `${(r.appends / Math.max(1, r.calls)).toFixed(1)} appends a call; CPU per append: this process ${per(r.ownUs)} µs, ` +
    `PostgreSQL ${per(r.serverUs)} µs`
  );
}

async function measure(): Promise<void> {
  const problem = postgresProblem();
  if (problem !== undefined) throw new Error(`PostgreSQL is needed: ${problem}`);
  const speedAtStart = speedProbeMs();
  const pg = await launchPostgres();
  try {
    const url = await pg.newDatabase();
    const db = new PgDatabase({ url, poolMax: 10, timeoutMs: 5000, log: createLogger('bench', 'warn') });
    try {
      await db.migrate();
      const server = await postmasterPid(url);
      // Every call the store makes, counted: how many appends a call carries is what its grouping decides.
      let calls = 0;
      const counted = Object.create(db) as PgDatabase;
      counted.query = (...args) => {
        calls++;
        return db.query(...args);
      };
      const store = new PgMessageStore(counted, TOPIC);
      for (const l of LOADS) await load(store, l, Date.now() + 1000);
      for (let run = 1; run <= RUNS; run++)
        for (const l of LOADS) {
          calls = 0;
          const [own, serverBefore, start] = [process.cpuUsage(), postgresCpuMicros(server), Date.now()];
          const appends = await load(store, l, start + DURATION_S * 1000);
          const seconds = (Date.now() - start) / 1000;
          const serverUs = (postgresCpuMicros(server) ?? NaN) - (serverBefore ?? NaN);
          console.log(line(l, run, { appends, calls, seconds, ownUs: cpuUs(process.cpuUsage(own)), serverUs }));
        }
    } finally {
      await db.close();
    }
  } finally {
    await pg.close();
  }
  console.log(`${machine()}; ${speedNote(speedAtStart, speedProbeMs())}`);
}

measure().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
