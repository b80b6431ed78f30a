/**
 * What every process's main.ts shares: read the config or exit with a clear message,
 * announce readiness with one `{"ready":true,"endpoints":…}` log line, and drain on
 * SIGTERM/SIGINT before exiting. A process that read its config here and announces readiness
 * logs its own figures every `AGORA_PROCESS_FIGURES_MS` from then on (lib/process-figures.ts).
 * Reading the config is the first thing every process does, so it also keeps the tick object that
 * holds `process.nextTick` on V8's fast path (lib/tick-shape.ts).
 */
import { loadConfig, type Config } from './config';
import { errorMessage, isAgoraError } from './errors';
import { afterLogsWritten, type Logger } from './log';
import { startProcessFigures } from './process-figures';
import { keepTickShape } from './tick-shape';

/** The config configOrExit read, for announceReady. */
let loaded: Readonly<Config> | undefined;

/** The config, or exit 78 (EX_CONFIG) with every bad variable named on stderr. */
export function configOrExit(svc: string): Readonly<Config> {
  keepTickShape();
  try {
    loaded = loadConfig();
    return loaded;
  } catch (e) {
    return exitInvalid(svc, e);
  }
}

/**
 * What `load` resolves with (settings read from files: the bus's certificates,
 * lib/bus/security.ts), or exit 78 as configOrExit does when it fails.
 */
export async function settingOrExit<T>(svc: string, load: Promise<T>): Promise<T> {
  try {
    return await load;
  } catch (e) {
    return exitInvalid(svc, e);
  }
}

function exitInvalid(svc: string, e: unknown): never {
  const problems =
    isAgoraError(e) && Array.isArray((e.data as { problems?: unknown })?.problems)
      ? (e.data as { problems: string[] }).problems
      : [errorMessage(e)];
  return exitConfig(svc, problems);
}

/** Exit 78 (EX_CONFIG) with each problem of the configuration on its own line of stderr. */
export function exitConfig(svc: string, problems: readonly string[]): never {
  process.stderr.write(`${svc}: invalid configuration\n${problems.map((p) => `  ${p}\n`).join('')}`);
  process.exit(78);
}

/**
 * What to tell a person whose process could not listen because `address` is taken: undefined unless `err` is
 * that failure (EADDRINUSE, from Node's listen or within grpc-js's bind error); `variable` is the setting
 * that moves the address.
 */
export function addressInUse(err: unknown, address: string, variable: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'EADDRINUSE' && !errorMessage(err).includes('EADDRINUSE')) return undefined;
  return `${address} is already in use by another program: stop that program (\`ss -ltnp\` names it), or set ${variable} to a free address`;
}

/**
 * What `listen` resolves with; when the address it listens on is taken, addressInUse's line is logged as fatal
 * and the process exits 1 (the promise then never settles). Any other failure rejects, as `listen`'s.
 */
export async function listenOrExit<T>(
  log: Logger,
  listen: () => Promise<T>,
  address: string,
  variable: string,
): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const inUse = addressInUse(err, address, variable);
    if (inUse === undefined) throw err;
    log.fatal({ err }, inUse);
    exitFlushed(log, 1);
    return new Promise<never>(() => undefined);
  }
}

/** Exit once `log`'s lines are written (in order; `afterLogsWritten`), or after `ms` at most. */
export function exitFlushed(log: Logger, code: number, ms = 1000): void {
  setTimeout(() => process.exit(code), ms).unref();
  afterLogsWritten(log, () => process.exit(code));
}

/**
 * The line test helpers and launchers wait for; from then on, with `AGORA_PROCESS_FIGURES_MS` set
 * (read by configOrExit, or `figuresMs`), a `process figures` line at that interval.
 */
export function announceReady(
  log: Logger,
  endpoints: Record<string, string | number>,
  figuresMs = loaded?.processFiguresMs ?? 0,
): void {
  log.info({ ready: true, endpoints }, 'ready');
  startProcessFigures(log, figuresMs);
}

/**
 * On the first SIGTERM/SIGINT run `drain` (stop taking work, finish what is in flight),
 * then exit 0; a second signal, or `graceMs` passing, exits at once.
 */
export function onShutdown(log: Logger, drain: () => Promise<void> | void, graceMs = 10_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'draining');
    const timer = setTimeout(() => {
      log.warn({ graceMs }, 'drain took too long, exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    Promise.resolve()
      .then(drain)
      .then(
        () => {
          log.info('stopped');
          exitFlushed(log, 0);
        },
        (err: unknown) => {
          log.error({ err }, 'drain failed');
          exitFlushed(log, 1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
