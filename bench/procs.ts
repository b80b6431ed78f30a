/**
 * Child processes for the bus bench: servers are started and awaited on their
 * `{"ready":true,"endpoints":…}` line (racing their exit, with a deadline); load clients
 * are started, then asked for one measured cell at a time (`startClient`). After the ready line
 * a server's output is drained unparsed, so the bench spends no CPU reading logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parseProcfile } from '../lib/procfile';

/** The repository root (this file runs from dist/bench). */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The node flags the Procfile runs `dist/<entry>` with (`node --min-semi-space-size=16 dist/…`, README.md
 * "The parts"), so that the mesh's processes run as the Procfile's do; none when no entry runs it.
 */
export function procfileNodeFlags(entry: string): string[] {
  const entries = parseProcfile(readFileSync(path.join(ROOT, 'Procfile'), 'utf8'));
  for (const { command } of entries) {
    const m = /(?:^|\s)node((?:\s+--\S+)*)\s+(\S+)/.exec(command);
    if (m !== null && m[2] === `dist/${entry}`)
      return m[1]
        .trim()
        .split(/\s+/)
        .filter((f) => f !== '');
  }
  return [];
}

export interface Proc {
  name: string;
  child: ChildProcess;
  endpoints: Record<string, string>;
}

/** `node nodeArgs… dist/<entry> args…` in `root`, its stdout piped (its stdin too with `stdin`), stderr shared. */
function spawnEntry(
  entry: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[],
  root: string,
  stdin: 'pipe' | 'ignore' = 'ignore',
): ChildProcess & { stdout: NodeJS.ReadableStream } {
  return spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', entry), ...args], {
    cwd: root,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info', ...env },
    stdio: [stdin, 'pipe', 'inherit'],
  }) as ChildProcess & { stdout: NodeJS.ReadableStream };
}

/**
 * The next line of `lines` (the stdout of `child`, started from `entry`) that `pick` accepts, racing the
 * child's exit and `ms`; what it says it waits for is `what`.
 */
function nextLine<T>(
  entry: string,
  child: ChildProcess,
  lines: Interface,
  pick: (line: string) => T | undefined,
  what: string,
  ms: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('exit', exited);
      lines.off('line', read);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${entry}: no ${what} within ${ms} ms`));
    }, ms);
    const exited = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`${entry} exited (${code ?? signal}) before its ${what}`));
    };
    const read = (text: string): void => {
      const value = pick(text);
      if (value === undefined) return;
      done();
      resolve(value);
    };
    child.once('exit', exited);
    lines.on('line', read);
  });
}

/** Spawn `node dist/<entry> args…` in `root` and resolve with the first line that `pick` accepts. */
function spawnUntil<T>(
  entry: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[],
  ms: number,
  pick: (line: string) => T | undefined,
  root = ROOT,
): { child: ChildProcess; line: Promise<T> } {
  const child = spawnEntry(entry, args, env, nodeArgs, root);
  const lines = createInterface({ input: child.stdout });
  const line = nextLine(entry, child, lines, pick, 'awaited line', ms).then((value) => {
    lines.close();
    child.stdout.resume();
    return value;
  });
  return { child, line };
}

/**
 * Start a server (`dist/<entry>` of `root`, this tree by default) and wait for its ready line; it joins `procs` at
 * once, so a failure still stops it.
 */
export async function launch(
  procs: Proc[],
  name: string,
  entry: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  args: string[] = [],
  root = ROOT,
): Promise<Proc> {
  const { child, line } = spawnUntil(
    entry,
    args,
    env,
    nodeArgs,
    15_000,
    (text) => {
      if (!text.includes('"ready":true')) return undefined;
      return (JSON.parse(text) as { endpoints: Record<string, string> }).endpoints;
    },
    root,
  );
  const proc: Proc = { name, child, endpoints: {} };
  procs.push(proc);
  proc.endpoints = await line;
  return proc;
}

/** Where the services `launchServices` started listen. */
export interface Services {
  /** The broker's endpoint (AGORA_BUS_URL). */
  bus: string;
  /** The messages service's gRPC address (AGORA_MESSAGES_GRPC_URL, for the gateway's message streams). */
  messagesGrpc: string;
}

/** Starts one server (e.g. `launch` with the process list and Node flags the caller wants). */
export type Launcher = (name: string, entry: string, env: Record<string, string>) => Promise<Proc>;

/**
 * The bus and the messaging services behind a gateway, broker, auth, channels and messages, on free loopback ports,
 * each started by `start` once the one before is ready; `env` goes to every one but the broker.
 */
export async function launchServices(start: Launcher, env: Record<string, string> = {}): Promise<Services> {
  const broker = await start('broker', 'services/broker/main.js', { AGORA_BUS_URL: 'tcp://127.0.0.1:0' });
  const common = { ...env, AGORA_BUS_URL: broker.endpoints.bus };
  const auth = await start('auth', 'services/auth/main.js', { ...common, AGORA_AUTH_GRPC_URL: '127.0.0.1:0' });
  const withAuth = { ...common, AGORA_AUTH_GRPC_URL: auth.endpoints.grpc };
  const channels = await start('channels', 'services/channels/main.js', {
    ...withAuth,
    AGORA_CHANNELS_GRPC_URL: '127.0.0.1:0',
  });
  const messages = await start('messages', 'services/messages/main.js', {
    ...withAuth,
    AGORA_CHANNELS_GRPC_URL: channels.endpoints.grpc,
    AGORA_MESSAGES_GRPC_URL: '127.0.0.1:0',
  });
  return { bus: broker.endpoints.bus, messagesGrpc: messages.endpoints.grpc };
}

/** A load client process (bench/load.ts `clientMain`), connected and waiting for turns. */
export interface Client<Turn, Cell> {
  /** Measure one cell: resolves with the client's line for it, or rejects after `ms`. */
  turn: (turn: Turn, ms: number) => Promise<Cell>;
  /** Close its stdin and wait up to `ms` for it to exit (having closed its connection, written its profile). */
  end: (ms: number) => Promise<void>;
}

/**
 * Start a load client (`dist/<entry>`, the plan as JSON in its argv) and wait, up to `ms`, for it to say it
 * is connected; it joins `procs` at once, so a failure still stops it. Each turn is a line to its stdin and
 * the next `{"cell":…}` line it prints; `end` closes its stdin, and it closes its connection and exits.
 */
export async function startClient<Turn, Cell>(
  procs: Proc[],
  entry: string,
  plan: unknown,
  ms: number,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Client<Turn, Cell>> {
  const child = spawnEntry(entry, [JSON.stringify(plan)], env, nodeArgs, ROOT, 'pipe');
  procs.push({ name: entry, child, endpoints: {} });
  const lines = createInterface({ input: child.stdout });
  const connected = (text: string): true | undefined => (text === '{"connected":true}' ? true : undefined);
  await nextLine(entry, child, lines, connected, 'connected line', ms);
  return {
    turn: (turn, within) => {
      const cell = nextLine(
        entry,
        child,
        lines,
        (text) => (text.startsWith('{"cell":') ? (JSON.parse(text) as { cell: Cell }).cell : undefined),
        'cell',
        within,
      );
      child.stdin?.write(`${JSON.stringify(turn)}\n`);
      return cell;
    },
    end: async (within) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, within)))]);
      clearTimeout(timer);
    },
  };
}

/** SIGTERM every process still running, SIGKILL it after 5 s, and wait for each exit. */
export async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(
    procs.splice(0).map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
