/**
 * The nodes of the TypeScript driver: each one a real OS process on this machine, started
 * from an image of the catalogue on a free loopback port, health-checked before it counts
 * as ACTIVE, stopped with SIGTERM then SIGKILL after a grace period, its last output lines
 * kept. The states and what each method does in each are those of docs/COMPUTE.md
 * "Driver states"; every method answers at once and the work goes on in the background.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { AgoraError, errorMessage } from '../../lib/errors';
import type { DriverNode__Output } from '../../lib/gen/agora/DriverNode';
import type { Logger } from '../../lib/log';
import { cut, nodeNameProblem } from '../../lib/node-names';
import { checkSpec, imageOf, memoryOf, type CreateSpec } from './catalogue';

/** Where nodes listen. */
export const NODE_HOST = '127.0.0.1';
/** Pause between two health probes of a starting node, and the longest one probe may take. */
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 1000;
/** Longest output line kept, in characters (a longer one is cut). */
const LINE_MAX = 2000;

export type DriverState = 'BUILDING' | 'ACTIVE' | 'STOPPING' | 'STOPPED' | 'DELETING' | 'ERROR';

/** A node as the driver answers it (every DriverNode field set). */
export type NodeView = Omit<DriverNode__Output, 'state'> & { state: DriverState };

export interface LocalDriverOptions {
  allowCommand: boolean;
  stopGraceMs: number;
  healthTimeoutMs: number;
  outputLines: number;
  /** Nodes held at most (each one a process of this machine). */
  maxNodes: number;
  log: Logger;
}

interface Entry {
  node: NodeView;
  output: string[];
  child?: ChildProcess;
  /** Why the current process is being ended: stop → STOPPED, delete → gone, fail → ERROR with this reason. */
  ending?: { kind: 'stop' | 'delete' | 'fail'; reason?: string };
  killTimer?: NodeJS.Timeout;
  /** Bumped at every launch, so a health check of an older process stops by itself. */
  generation: number;
}

export class LocalDriver {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: LocalDriverOptions) {}

  /** Create and start a node; a known id answers that node unchanged (a retried call). */
  async create(request: CreateSpec): Promise<NodeView> {
    const known = this.entries.get(request.id);
    if (known !== undefined) return this.view(known, false);
    const spec = checkSpec(request, this.options.allowCommand);
    if (this.entries.size >= this.options.maxNodes) throw new AgoraError('AGORA_ERR_DRIVER_FULL', [this.options.maxNodes]);
    const now = Date.now();
    const entry: Entry = {
      node: { ...spec, state: 'BUILDING', reason: '', host: '', port: 0, pid: 0, exit_code: -1, signal: '', created_at: now, updated_at: now, output: [] },
      output: [],
      generation: 0,
    };
    this.entries.set(spec.id, entry);
    this.options.log.info({ node: spec.id, name: spec.name, owner: spec.owner, image: spec.image }, 'node created');
    await this.launch(entry);
    return this.view(entry, false);
  }

  async start(id: string): Promise<NodeView> {
    const entry = this.get(id);
    const state = entry.node.state;
    if (state === 'STOPPING' || state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['start', state]);
    if (state === 'STOPPED' || state === 'ERROR') {
      this.set(entry, { state: 'BUILDING', reason: '' });
      await this.launch(entry);
    }
    return this.view(entry, false);
  }

  stop(id: string): NodeView {
    const entry = this.get(id);
    const state = entry.node.state;
    if (state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['stop', state]);
    if (state === 'ERROR') this.set(entry, { state: 'STOPPED', reason: '' });
    if (state === 'BUILDING' || state === 'ACTIVE') this.end(entry, { kind: 'stop' }, 'STOPPING');
    return this.view(entry, false);
  }

  delete(id: string): NodeView {
    const entry = this.get(id);
    if (entry.node.state !== 'DELETING') this.end(entry, { kind: 'delete' }, 'DELETING');
    return this.view(entry, false);
  }

  status(id: string): NodeView {
    return this.view(this.get(id), true);
  }

  list(owner: string): NodeView[] {
    const entries = [...this.entries.values()].filter((e) => owner === '' || e.node.owner === owner);
    return entries.map((e) => this.view(e, false)).sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  }

  update(id: string, name: string, size: string): NodeView {
    const entry = this.get(id);
    if (entry.node.state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['update', 'DELETING']);
    const problem = name === '' ? null : nodeNameProblem(name);
    if (problem !== null) throw new AgoraError('AGORA_ERR_NODE_INVALID', [problem]);
    if (size !== '') memoryOf(size);
    this.set(entry, { name: name === '' ? entry.node.name : name, size: size === '' ? entry.node.size : size });
    return this.view(entry, false);
  }

  /** Stop every process (driver shutdown): SIGTERM, SIGKILL after the grace period; resolves when all are gone. */
  async close(): Promise<void> {
    const exits = [...this.entries.values()].filter((e) => e.child !== undefined).map((e) => once(e.child!, 'exit'));
    for (const entry of this.entries.values()) if (entry.node.state !== 'DELETING') this.end(entry, { kind: 'delete' }, 'DELETING');
    await Promise.all(exits);
  }

  private get(id: string): Entry {
    const entry = typeof id === 'string' ? this.entries.get(id) : undefined;
    if (entry === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(String(id))]);
    return entry;
  }

  private set(entry: Entry, change: Partial<NodeView>): void {
    Object.assign(entry.node, change, { updated_at: Date.now() });
  }

  private view(entry: Entry, withOutput: boolean): NodeView {
    return { ...entry.node, output: withOutput ? [...entry.output] : [] };
  }

  /** Start the node's process on a free port, then health-check it (state BUILDING). */
  private async launch(entry: Entry): Promise<void> {
    const generation = ++entry.generation;
    entry.ending = undefined;
    let port: number;
    try {
      port = await freePort();
    } catch (e) {
      port = 0;
      this.options.log.error({ err: e, node: entry.node.id }, 'no free port');
    }
    // A Stop or Delete may have come while the port was being found.
    if (generation !== entry.generation || entry.node.state !== 'BUILDING') return;
    if (port === 0) return this.fail(entry, 'could not start: no free loopback port');
    let child: ChildProcess;
    try {
      child = this.spawn(entry.node, port);
    } catch (e) {
      return this.fail(entry, `could not start: ${errorMessage(e)}`);
    }
    entry.child = child;
    this.set(entry, { host: NODE_HOST, port, pid: child.pid ?? 0 });
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => this.keep(entry, line));
    // 'error' without a pid: the process never started, and no 'exit' follows.
    child.on('error', (err) => {
      if (child.pid === undefined) this.exited(entry, child, null, null, `could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => this.exited(entry, child, code, signal));
    this.options.log.info({ node: entry.node.id, pid: child.pid, port }, 'node process started');
    void this.healthCheck(entry, generation, port);
  }

  /** Spawn the process of `node`'s image with a node's environment, nothing of the driver's own. */
  private spawn(node: NodeView, port: number): ChildProcess {
    const memoryMb = memoryOf(node.size);
    const [file, ...args] = imageOf(node.image).argv(memoryMb, node.command);
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: NODE_HOST, PORT: String(port),
      NODE_ID: node.id, NODE_NAME: node.name, NODE_IMAGE: node.image, NODE_SIZE: node.size, NODE_MEMORY_MB: String(memoryMb),
    };
    // detached: the node leads its own process group, so a signal reaches whatever its shell started.
    return spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  /** The node could not be started: ERROR with `reason`. */
  private fail(entry: Entry, reason: string): void {
    entry.ending = { kind: 'fail', reason };
    this.settle(entry);
  }

  /** Probe the starting process until it answers (→ ACTIVE) or the health timeout passes (→ killed, ERROR). */
  private async healthCheck(entry: Entry, generation: number, port: number): Promise<void> {
    const deadline = Date.now() + this.options.healthTimeoutMs;
    const check = imageOf(entry.node.image).health;
    const current = (): boolean => generation === entry.generation && entry.node.state === 'BUILDING' && entry.child !== undefined;
    while (current()) {
      if (await probe(check, port, Math.min(PROBE_TIMEOUT_MS, Math.max(1, deadline - Date.now())))) {
        if (current()) {
          this.set(entry, { state: 'ACTIVE' });
          this.options.log.info({ node: entry.node.id, port }, 'node active');
        }
        return;
      }
      if (Date.now() >= deadline) {
        if (current()) this.end(entry, { kind: 'fail', reason: `did not answer its health check within ${this.options.healthTimeoutMs} ms` }, 'BUILDING', 'SIGKILL');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  }

  /**
   * End the node's process for `ending`: SIGTERM (or `signal`) to its group, SIGKILL after
   * the grace period. Without a process, the ending completes at once.
   */
  private end(entry: Entry, ending: NonNullable<Entry['ending']>, state: DriverState, signal: NodeJS.Signals = 'SIGTERM'): void {
    entry.ending = ending;
    entry.generation++; // a launch or health check in progress stops by itself
    this.set(entry, { state });
    const child = entry.child;
    if (child === undefined) return this.settle(entry);
    kill(child, signal);
    clearTimeout(entry.killTimer);
    entry.killTimer = setTimeout(() => kill(child, 'SIGKILL'), signal === 'SIGKILL' ? 0 : this.options.stopGraceMs);
  }

  /** The process is gone: record how it ended, then settle the node's state. */
  private exited(entry: Entry, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, failure?: string): void {
    if (entry.child !== child) return; // 'error' and 'exit' may both come
    clearTimeout(entry.killTimer);
    entry.child = undefined;
    const how = failure ?? (signal !== null ? `killed by signal ${signal}` : `exited with code ${code}`);
    this.set(entry, { pid: 0, port: 0, host: '', exit_code: code ?? -1, signal: signal ?? '' });
    if (entry.ending === undefined) {
      // Nobody asked it to end: it died on its own (or could not start).
      entry.ending = { kind: 'fail', reason: entry.node.state === 'BUILDING' ? `${how} before answering its health check` : how };
    }
    this.options.log.info({ node: entry.node.id, code, signal, ending: entry.ending.kind }, 'node process ended');
    this.settle(entry);
  }

  /** No process left: STOPPED, ERROR or gone, as the ending says. */
  private settle(entry: Entry): void {
    const ending = entry.ending;
    if (ending?.kind === 'delete') {
      this.entries.delete(entry.node.id);
      this.options.log.info({ node: entry.node.id }, 'node deleted');
    } else if (ending?.kind === 'stop') {
      this.set(entry, { state: 'STOPPED', reason: '' });
    } else {
      this.set(entry, { state: 'ERROR', reason: ending?.reason ?? 'stopped unexpectedly' });
    }
  }

  /** Keep one output line, dropping the oldest beyond the configured count. */
  private keep(entry: Entry, line: string): void {
    entry.output.push(line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}…` : line);
    if (entry.output.length > this.options.outputLines) entry.output.splice(0, entry.output.length - this.options.outputLines);
  }
}

/** Signal a node's process group (it was spawned detached), or the process alone if that fails. */
function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** A loopback port that was free a moment ago (the node binds it itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, NODE_HOST);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** One health probe: `GET /` answers 200 (http), or a TCP connection is accepted (tcp). */
export function probe(check: 'http' | 'tcp', port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (check === 'tcp') {
      const socket = connect({ host: NODE_HOST, port, timeout: timeoutMs });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true)).once('error', () => done(false)).once('timeout', () => done(false));
      return;
    }
    const request = http.get({ host: NODE_HOST, port, path: '/', timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('error', () => resolve(false)).once('timeout', () => request.destroy());
  });
}
