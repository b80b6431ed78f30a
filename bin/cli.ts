/**
 * The program of `agora`, the command (README.md "The agora command"): `start` runs the mesh from its Procfile,
 * foreman-style, with the broker first (bin/launcher.ts); `status`, `call` and `tail` ask the
 * broker (bin/cli-bus.ts); `routes` and `nodes` list through the gateway (bin/cli-http.ts);
 * `keys` writes the bus's CURVE certificates (bin/keys.ts). `npm start` runs `agora start`.
 * bin/agora.ts runs it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config } from '../lib/config';
import { isAgoraError } from '../lib/errors';
import { parseFormation, parseProcfile, planProcesses } from '../lib/procfile';
import { prettyLine, wantsPretty } from '../lib/pretty-log';
import { callCommand, statusCommand, tailCommand, type Output } from './cli-bus';
import { CliError, EXIT, EXIT_HELP, parseDuration, parseParams, useColor } from './cli-format';
import { httpListCommand } from './cli-http';
import { KEYS_USAGE, keysCommand } from './keys';
import { Launcher } from './launcher';

/** How long the broker gets to print its ready line. */
const BROKER_READY_MS = 30_000;

function duration(raw: string): number {
  try {
    return parseDuration(raw);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The configuration, or a CliError with exit code 78 naming every bad variable. */
function config(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (e) {
    throw new CliError(isAgoraError(e) || e instanceof Error ? e.message : String(e), EXIT.CONFIG);
  }
}

function output(): Output {
  return { out: process.stdout, err: process.stderr, color: useColor(process.stdout) };
}

/** An AbortSignal that fires on SIGINT or SIGTERM (for `--watch` and `tail`). */
function untilInterrupted(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  return ac.signal;
}

interface StartOptions {
  procfile: string;
  formation?: string;
  timeout: string;
  restart: boolean;
}

async function start(o: StartOptions): Promise<number> {
  if (!/^\d+(\.\d+)?$/.test(o.timeout))
    throw new CliError(`--timeout must be a number of seconds, got ${JSON.stringify(o.timeout)}`, EXIT.USAGE);
  const procfile = path.resolve(o.procfile);
  let processes;
  try {
    const entries = parseProcfile(readFileSync(procfile, 'utf8'));
    processes = planProcesses(
      entries,
      parseFormation(
        o.formation,
        entries.map((e) => e.name),
      ),
    );
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.USAGE);
  }
  if (processes.length === 0) throw new CliError(`nothing to run in ${procfile} with this formation`, EXIT.USAGE);
  const color = useColor(process.stdout);
  const pretty = wantsPretty(config().logFormat, process.stdout.isTTY === true);
  const launcher = new Launcher({
    processes,
    cwd: path.dirname(procfile),
    out: process.stdout,
    color,
    graceMs: Number(o.timeout) * 1000,
    readyMs: BROKER_READY_MS,
    restart: o.restart,
    format: pretty ? (line) => prettyLine(line, color) : undefined,
  });
  process.on('SIGINT', () => launcher.stop('SIGINT'));
  process.on('SIGTERM', () => launcher.stop('SIGTERM'));
  // The terminal went away: the children, in their own process groups, would not hear of it.
  process.on('SIGHUP', () => launcher.stop('SIGTERM'));
  return launcher.run();
}

/** The program; `run` sets the exit code its actions resolve with. */
export function program(run: (code: Promise<number>) => void): Command {
  const timeout = (def: string): Option =>
    new Option('--timeout <duration>', 'how long to wait for the broker and the answer (5s, 500ms)')
      .default(duration(def), def)
      .argParser(duration);
  const cli = new Command('agora')
    .description('Run and inspect an Agora mesh.')
    .addHelpText('after', `\n${EXIT_HELP}\n\nThe broker is AGORA_BUS_URL (README.md "Configuration").`)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  cli
    .command('start')
    .description('run the Procfile, broker first; stops all when one process exits, unless --restart')
    .option('-f, --procfile <file>', 'the Procfile to run; commands run in its directory', 'Procfile')
    .option('-m, --formation <spec>', 'instances per entry, as foreman: all=1,echo=2 (unlisted: "all" times)')
    .option('-t, --timeout <seconds>', 'seconds processes get to stop before SIGKILL', '10')
    .option('--restart', 'start a process that exits on its own again (backoff 0.5 s doubling to 30 s)', false)
    .addHelpText(
      'after',
      '\nOn a terminal the JSON log lines are shown readable; AGORA_LOG_FORMAT=json|pretty decides.',
    )
    .action((o: StartOptions) => run(start(o)));

  cli
    .command('status')
    .description('services, workers, busy slots, queues, calls per second and latency, from the broker')
    .option('--json', 'print the broker’s answer as JSON', false)
    .option('-w, --watch', 'refresh in place like top (Ctrl-C stops)', false)
    .option('-n, --interval <duration>', 'refresh interval of --watch', duration, 2000)
    .addOption(timeout('5s'))
    .action((o: { json: boolean; watch: boolean; interval: number; timeout: number }) =>
      run(
        statusCommand(
          config(),
          { json: o.json, watch: o.watch, intervalMs: o.interval, timeoutMs: o.timeout, signal: untilInterrupted() },
          output(),
        ),
      ),
    );

  cli
    .command('call')
    .description('make one bus call and print its result')
    .argument('<service>', 'the service, e.g. echo')
    .argument('<method>', 'the method, e.g. echo')
    .argument('[params...]', 'each one JSON value: \'"text"\' 42 \'{"a":1}\' (a bare word is a string)')
    .option('--json', 'print the result on one line', false)
    .option('--req-id <id>', 'request id to carry to the logs (default: a new UUID)')
    .addOption(timeout('5s'))
    .addHelpText('after', '\nOn failure the error goes to stderr as {code, errno, error, message, agoraCode}.')
    .action((service: string, method: string, raw: string[], o: { json: boolean; timeout: number; reqId?: string }) => {
      let params: unknown[];
      try {
        params = parseParams(raw);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.USAGE);
      }
      run(
        callCommand(
          config(),
          service,
          method,
          params,
          { json: o.json, timeoutMs: o.timeout, reqId: o.reqId },
          output(),
        ),
      );
    });

  cli
    .command('tail')
    .description('a line per call through the broker: time, service.method, caller, ms, outcome, request id')
    .argument('[service]', 'only this service')
    .option('--json', 'one JSON object per call', false)
    .addOption(timeout('5s'))
    .action((service: string | undefined, o: { json: boolean; timeout: number }) =>
      run(tailCommand(config(), service, { json: o.json, timeoutMs: o.timeout, signal: untilInterrupted() }, output())),
    );

  httpCommands(cli, run);
  keys(cli, run);
  return cli;
}

/** `agora routes` and `agora nodes`. */
function httpCommands(cli: Command, run: (code: Promise<number>) => void): void {
  const timeout = new Option('--timeout <duration>', 'how long to wait for the gateway (10s, 500ms)')
    .default(10_000, '10s')
    .argParser(duration);
  for (const [name, what] of [
    ['routes', 'your routes (docs/ROUTING.md)'],
    ['nodes', 'your compute nodes (docs/COMPUTE.md)'],
  ] as const) {
    cli
      .command(name)
      .description(`list ${what} through the gateway, or show one`)
      .argument('[id]', 'show this one')
      .option('--url <url>', 'the gateway', 'http://127.0.0.1:8080')
      .option('--key <session>', 'a session key (POST /v1/sessions); default: AGORA_SESSION')
      .option('--json', 'print the JSON answer', false)
      .addOption(timeout)
      .action((id: string | undefined, o: { url: string; key?: string; json: boolean; timeout: number }) =>
        run(httpListCommand(name, id, { ...o, key: o.key ?? sessionFromEnv() }, output())),
      );
  }
}

/** `agora keys`, bin/keys.ts's arguments as they are. */
function keys(cli: Command, run: (code: Promise<number>) => void): void {
  cli
    .command('keys')
    .description('CURVE certificates for the bus (docs/SECURITY.md)')
    .argument('<args...>', 'new NAME [DIR] … | init DIR …')
    .allowUnknownOption()
    .helpOption('-h, --help', 'show the usage of keys')
    .addHelpText('after', `\n${KEYS_USAGE}`)
    .action((args: string[]) =>
      run(
        keysCommand(args, process.stdout).catch((e: unknown) => {
          throw new CliError(`${e instanceof Error ? e.message : String(e)}\n${KEYS_USAGE}`, EXIT.USAGE);
        }),
      ),
    );
}

/** The session of `--key`'s default (the one place this command reads the environment beyond lib/config.ts). */
function sessionFromEnv(): string | undefined {
  const key = process.env.AGORA_SESSION;
  return key === undefined || key === '' ? undefined : key;
}

export function failed(e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`agora: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`agora: ${e instanceof Error ? e.stack : String(e)}\n`);
  return EXIT.FAILURE;
}
