/**
 * `agora start [-f Procfile] [-m name=N,…] [-t seconds]`: run the mesh from its Procfile,
 * foreman-style, with the broker first (bin/launcher.ts). `npm start` runs this.
 * `agora keys new|init …`: the bus's CURVE certificates (bin/keys.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseFormation, parseProcfile, planProcesses, type PlannedProcess } from '../lib/procfile';
import { KEYS_USAGE, keysCommand } from './keys';
import { Launcher } from './launcher';

const USAGE = `usage: agora start [-f Procfile] [-m name=N,...] [-t seconds]
  -f, --procfile   the Procfile to run (default ./Procfile); commands run in its directory
  -m, --formation  instances per entry, as foreman: all=1,echo=2 (entries not listed run "all" times, 0 if unset)
  -t, --timeout    seconds processes get to stop before SIGKILL (default 10)
`;

/** How long the broker gets to print its ready line. */
const BROKER_READY_MS = 30_000;

interface StartArgs {
  procfile: string;
  processes: PlannedProcess[];
  graceMs: number;
}

/** The `start` command's arguments, read and checked; throws with a message for the user. */
function parseStartArgs(argv: string[]): StartArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      procfile: { type: 'string', short: 'f', default: 'Procfile' },
      formation: { type: 'string', short: 'm' },
      timeout: { type: 'string', short: 't', default: '10' },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== 'start') throw new Error(`expected the command "start"`);
  if (!/^\d+(\.\d+)?$/.test(values.timeout))
    throw new Error(`--timeout must be a number of seconds, got ${JSON.stringify(values.timeout)}`);
  const procfile = path.resolve(values.procfile);
  const entries = parseProcfile(readFileSync(procfile, 'utf8'));
  const formation = parseFormation(
    values.formation,
    entries.map((e) => e.name),
  );
  const processes = planProcesses(entries, formation);
  if (processes.length === 0) throw new Error(`nothing to run in ${procfile} with this formation`);
  return { procfile, processes, graceMs: Number(values.timeout) * 1000 };
}

async function main(): Promise<number> {
  if (process.argv[2] === 'keys') {
    try {
      return await keysCommand(process.argv.slice(3), process.stdout);
    } catch (e) {
      process.stderr.write(`agora: ${e instanceof Error ? e.message : String(e)}\n${KEYS_USAGE}`);
      return 64; // EX_USAGE
    }
  }
  let args: StartArgs;
  try {
    args = parseStartArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`agora: ${e instanceof Error ? e.message : String(e)}\n${USAGE}${KEYS_USAGE}`);
    return 64; // EX_USAGE
  }
  const launcher = new Launcher({
    processes: args.processes,
    cwd: path.dirname(args.procfile),
    out: process.stdout,
    color: process.stdout.isTTY === true,
    graceMs: args.graceMs,
    readyMs: BROKER_READY_MS,
  });
  process.on('SIGINT', () => launcher.stop('SIGINT'));
  process.on('SIGTERM', () => launcher.stop('SIGTERM'));
  // The terminal went away: the children, in their own process groups, would not hear of it.
  process.on('SIGHUP', () => launcher.stop('SIGTERM'));
  return launcher.run();
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`agora: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
