/**
 * The nodes of the TypeScript driver: each one a real OS process on this machine, started
 * from an image of the catalogue on a free loopback port with its size's memory limit,
 * health-checked before it counts as ACTIVE, stopped with SIGTERM then SIGKILL after a grace
 * period, its output kept in a log. The states and what each method does in each are those
 * of docs/COMPUTE.md "Driver states"; every method answers at once and the work goes on in
 * the background. Every node is recorded in the state directory, so that a driver started
 * after this one was killed adopts the processes still running (docs/COMPUTE.md "Driver
 * restarts").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { AgoraError, errorMessage } from '../../lib/errors';
import type { DriverNode__Output } from '../../lib/gen/agora/DriverNode';
import type { Logger } from '../../lib/log';
import { cut, nodeNameProblem } from '../../lib/node-names';
import { checkSpec, imageOf, memoryOf, type CreateSpec } from './catalogue';
import { freePort, NODE_HOST, probe } from './node-net';
import { processStart, sameProcess, type NodeRecord, type ProcessId, type StateDir } from './state-dir';

/** Pause between two health probes of a starting node, and the longest one probe may take. */
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 1000;
/** Longest output line answered, in characters (a longer one is cut). */
const LINE_MAX = 2000;
/** How often the driver checks that the processes it adopted still run, and cuts long logs. */
const POLL_MS = 500;
/**
 * Runs a node's program with its size's memory as the data segment limit (RLIMIT_DATA, in
 * KiB for `ulimit -d`): `sh -c SCRIPT agora-node <KiB> <program> <args…>`. `exec` keeps the
 * pid, so the node's process is the program itself.
 */
const MEMORY_LIMIT_SCRIPT = 'ulimit -d "$1" || exit 70; shift; exec "$@"';
/** Why a node whose process ended while no driver watched it, or after it was adopted, is in ERROR. */
const ENDED_UNWATCHED = 'ended while the driver was not running (exit status unknown)';
const ENDED_ADOPTED = 'ended (exit status unknown: its process was adopted after a driver restart)';

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
  /** Where node records and output logs are kept. */
  state: StateDir;
  /** At close, leave the processes running for the next driver to adopt instead of stopping them. */
  keepNodes: boolean;
  log: Logger;
}

/** A node's process: spawned by this driver (`child`), or adopted from a driver before it. */
interface NodeProcess extends ProcessId {
  child?: ChildProcess;
}

interface Entry {
  node: NodeRecord['node'];
  proc?: NodeProcess;
  /** Why the current process is being ended: stop → STOPPED, delete → gone, fail → ERROR with this reason. */
  ending?: { kind: 'stop' | 'delete' | 'fail'; reason?: string };
  killTimer?: NodeJS.Timeout;
  /** Bumped at every launch, so a health check of an older process stops by itself. */
  generation: number;
}

export class LocalDriver {
  private readonly entries = new Map<string, Entry>();
  /** Emits 'ended' whenever a node's process has ended. */
  private readonly events = new EventEmitter();
  private readonly poller: NodeJS.Timeout;
  private closed = false;

  /** Adopts the nodes recorded in `options.state` (a driver before this one left them). */
  constructor(private readonly options: LocalDriverOptions) {
    for (const record of options.state.load()) this.adopt(record);
    this.poller = setInterval(() => this.poll(), POLL_MS).unref();
  }

  /** Create and start a node; a known id answers that node unchanged (a retried call). */
  async create(request: CreateSpec): Promise<NodeView> {
    const known = this.entries.get(request.id);
    if (known !== undefined) return this.view(known);
    const spec = checkSpec(request, this.options.allowCommand);
    if (this.entries.size >= this.options.maxNodes)
      throw new AgoraError('AGORA_ERR_DRIVER_FULL', [this.options.maxNodes]);
    const now = Date.now();
    const entry: Entry = {
      node: {
        ...spec,
        state: 'BUILDING',
        reason: '',
        host: '',
        port: 0,
        pid: 0,
        exit_code: -1,
        signal: '',
        created_at: now,
        updated_at: now,
      },
      generation: 0,
    };
    this.entries.set(spec.id, entry);
    this.persist(entry);
    this.options.log.info({ node: spec.id, name: spec.name, owner: spec.owner, image: spec.image }, 'node created');
    await this.launch(entry);
    return this.view(entry);
  }

  async start(id: string): Promise<NodeView> {
    const entry = this.get(id);
    const state = entry.node.state;
    if (state === 'STOPPING' || state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['start', state]);
    if (state === 'STOPPED' || state === 'ERROR') {
      this.set(entry, { state: 'BUILDING', reason: '' });
      await this.launch(entry);
    }
    return this.view(entry);
  }

  stop(id: string): NodeView {
    const entry = this.get(id);
    const state = entry.node.state;
    if (state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['stop', state]);
    if (state === 'ERROR') this.set(entry, { state: 'STOPPED', reason: '' });
    if (state === 'BUILDING' || state === 'ACTIVE') this.end(entry, { kind: 'stop' }, 'STOPPING');
    return this.view(entry);
  }

  delete(id: string): NodeView {
    const entry = this.get(id);
    if (entry.node.state !== 'DELETING') this.end(entry, { kind: 'delete' }, 'DELETING');
    return this.view(entry);
  }

  /**
   * The node, with the last lines of its output. Its state is taken before the log is read: a node seen to
   * have ended has written all it will, whereas one that ended while the log was read would be answered
   * ended without its last lines.
   */
  async status(id: string): Promise<NodeView> {
    const entry = this.get(id);
    const view = this.view(entry);
    const output = await this.options.state.output(entry.node.id, this.options.outputLines, LINE_MAX);
    return { ...view, output };
  }

  list(owner: string): NodeView[] {
    const entries = [...this.entries.values()].filter((e) => owner === '' || e.node.owner === owner);
    return entries.map((e) => this.view(e)).sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  }

  update(id: string, name: string, size: string): NodeView {
    const entry = this.get(id);
    if (entry.node.state === 'DELETING') throw new AgoraError('AGORA_ERR_NODE_CONFLICT', ['update', 'DELETING']);
    const problem = name === '' ? null : nodeNameProblem(name);
    if (problem !== null) throw new AgoraError('AGORA_ERR_NODE_INVALID', [problem]);
    if (size !== '') memoryOf(size);
    this.set(entry, { name: name === '' ? entry.node.name : name, size: size === '' ? entry.node.size : size });
    return this.view(entry);
  }

  /**
   * Driver shutdown. With `keepNodes`, leave every process running, recorded for the next
   * driver; else stop every process (SIGTERM, SIGKILL after the grace period) and forget
   * every node. Resolves once that is done; the state directory is then given up.
   */
  async close(): Promise<void> {
    if (!this.options.keepNodes) {
      const ended = this.allEnded();
      for (const entry of this.entries.values())
        if (entry.node.state !== 'DELETING') this.end(entry, { kind: 'delete' }, 'DELETING');
      await ended;
    }
    clearInterval(this.poller);
    for (const entry of this.entries.values()) clearTimeout(entry.killTimer);
    this.closed = true;
    this.options.state.release();
  }

  /** Resolves once no node has a process. */
  private allEnded(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if ([...this.entries.values()].some((e) => e.proc !== undefined)) return;
        this.events.off('ended', check);
        resolve();
      };
      this.events.on('ended', check);
      check();
    });
  }

  /**
   * Take over a recorded node: its process, when it still runs, is watched again (by
   * polling: it is not this driver's child) and what was under way goes on; a process that
   * ended meanwhile settles the node as if it had been seen ending, its exit status unknown.
   */
  private adopt(record: NodeRecord): void {
    const entry: Entry = { node: { ...record.node }, generation: 0 };
    this.entries.set(entry.node.id, entry);
    const state = entry.node.state;
    if (record.process !== null && sameProcess(record.process)) {
      entry.proc = { pid: record.process.pid, start: record.process.start };
      this.options.log.info({ node: entry.node.id, pid: entry.proc.pid, state }, 'node process adopted');
      if (state === 'BUILDING') void this.healthCheck(entry, entry.generation, entry.node.port);
      if (state === 'STOPPING') this.end(entry, { kind: 'stop' }, state);
      if (state === 'DELETING') this.end(entry, { kind: 'delete' }, state);
      return;
    }
    if (state === 'STOPPED' || state === 'ERROR') return;
    this.set(entry, { pid: 0, port: 0, host: '', exit_code: -1, signal: '' });
    entry.ending =
      state === 'STOPPING'
        ? { kind: 'stop' }
        : state === 'DELETING'
          ? { kind: 'delete' }
          : { kind: 'fail', reason: ENDED_UNWATCHED };
    this.settle(entry);
  }

  /** Notice the end of adopted processes (no 'exit' event comes for them); keep logs short. */
  private poll(): void {
    for (const entry of this.entries.values()) {
      const proc = entry.proc;
      if (proc === undefined) continue;
      if (proc.child === undefined && !sameProcess(proc)) this.exited(entry, proc, null, null, ENDED_ADOPTED);
      else this.options.state.trimLog(entry.node.id);
    }
  }

  private get(id: string): Entry {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new AgoraError('AGORA_ERR_NODE_NOT_FOUND', [cut(id)]);
    return entry;
  }

  private set(entry: Entry, change: Partial<Entry['node']>): void {
    Object.assign(entry.node, change, { updated_at: Date.now() });
    this.persist(entry);
  }

  /** Record the node as it now is (synchronously, so that the file always holds the latest change). */
  private persist(entry: Entry): void {
    if (this.closed) return;
    const proc = entry.proc;
    this.options.state.save({
      node: entry.node,
      process: proc === undefined ? null : { pid: proc.pid, start: proc.start },
    });
  }

  private view(entry: Entry): NodeView {
    return { ...entry.node, output: [] };
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
    let log: number | undefined;
    try {
      log = this.options.state.openLog(entry.node.id);
      child = this.spawn(entry.node, port, log);
    } catch (e) {
      return this.fail(entry, `could not start: ${errorMessage(e)}`);
    } finally {
      if (log !== undefined) closeSync(log);
    }
    const proc: NodeProcess = {
      pid: child.pid ?? 0,
      start: child.pid === undefined ? '' : (processStart(child.pid) ?? ''),
      child,
    };
    entry.proc = proc;
    this.set(entry, { host: NODE_HOST, port, pid: proc.pid });
    // 'error' without a pid: the process never started, and no 'exit' follows.
    child.on('error', (err) => {
      if (child.pid === undefined) this.exited(entry, proc, null, null, `could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => this.exited(entry, proc, code, signal));
    this.options.log.info({ node: entry.node.id, pid: child.pid, port }, 'node process started');
    void this.healthCheck(entry, generation, port);
  }

  /**
   * Spawn the process of `node`'s image with a node's environment (nothing of the driver's
   * own), its memory limit, and its stdout and stderr appended to the descriptor `log`.
   */
  private spawn(node: Entry['node'], port: number, log: number): ChildProcess {
    const memoryMb = memoryOf(node.size);
    const argv = imageOf(node.image).argv(memoryMb, node.command);
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOST: NODE_HOST,
      PORT: String(port),
      NODE_ID: node.id,
      NODE_NAME: node.name,
      NODE_IMAGE: node.image,
      NODE_SIZE: node.size,
      NODE_MEMORY_MB: String(memoryMb),
    };
    // detached: the node leads its own process group, so a signal reaches whatever its shell
    // started, and it does not share the driver's: it outlives a driver that is killed.
    return spawn('/bin/sh', ['-c', MEMORY_LIMIT_SCRIPT, 'agora-node', String(memoryMb * 1024), ...argv], {
      env,
      stdio: ['ignore', log, log],
      detached: true,
    });
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
    const current = (): boolean =>
      generation === entry.generation && entry.node.state === 'BUILDING' && entry.proc !== undefined;
    while (current()) {
      if (await probe(check, port, Math.min(PROBE_TIMEOUT_MS, Math.max(1, deadline - Date.now())))) {
        if (current()) {
          this.set(entry, { state: 'ACTIVE' });
          this.options.log.info({ node: entry.node.id, port }, 'node active');
        }
        return;
      }
      if (Date.now() >= deadline) {
        if (current())
          this.end(
            entry,
            { kind: 'fail', reason: `did not answer its health check within ${this.options.healthTimeoutMs} ms` },
            'BUILDING',
            'SIGKILL',
          );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  }

  /**
   * End the node's process for `ending`: SIGTERM (or `signal`) to its group, SIGKILL after
   * the grace period. Without a process, the ending completes at once.
   */
  private end(
    entry: Entry,
    ending: NonNullable<Entry['ending']>,
    state: DriverState,
    signal: NodeJS.Signals = 'SIGTERM',
  ): void {
    entry.ending = ending;
    entry.generation++; // a launch or health check in progress stops by itself
    this.set(entry, { state });
    const proc = entry.proc;
    if (proc === undefined) return this.settle(entry);
    kill(proc, signal);
    clearTimeout(entry.killTimer);
    entry.killTimer = setTimeout(() => kill(proc, 'SIGKILL'), signal === 'SIGKILL' ? 0 : this.options.stopGraceMs);
  }

  /** The process is gone: record how it ended, then settle the node's state. */
  private exited(
    entry: Entry,
    proc: NodeProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    failure?: string,
  ): void {
    if (entry.proc !== proc) return; // 'error' and 'exit' may both come
    clearTimeout(entry.killTimer);
    entry.proc = undefined;
    const how = failure ?? (signal !== null ? `killed by signal ${signal}` : `exited with code ${code}`);
    this.set(entry, { pid: 0, port: 0, host: '', exit_code: code ?? -1, signal: signal ?? '' });
    if (entry.ending === undefined) {
      // Nobody asked it to end: it died on its own (or could not start).
      entry.ending = {
        kind: 'fail',
        reason: entry.node.state === 'BUILDING' ? `${how} before answering its health check` : how,
      };
    }
    this.options.log.info({ node: entry.node.id, code, signal, ending: entry.ending.kind }, 'node process ended');
    this.settle(entry);
    this.events.emit('ended');
  }

  /** No process left: STOPPED, ERROR or gone, as the ending says. */
  private settle(entry: Entry): void {
    const ending = entry.ending;
    if (ending?.kind === 'delete') {
      this.entries.delete(entry.node.id);
      this.options.state.remove(entry.node.id);
      this.options.log.info({ node: entry.node.id }, 'node deleted');
    } else if (ending?.kind === 'stop') {
      this.set(entry, { state: 'STOPPED', reason: '' });
    } else {
      this.set(entry, { state: 'ERROR', reason: ending?.reason ?? 'stopped unexpectedly' });
    }
  }
}

/**
 * Signal a node's process group (it leads one), or the process alone if that fails; never a
 * process that has ended, nor one that merely reuses an adopted process's pid.
 */
function kill(proc: NodeProcess, signal: NodeJS.Signals): void {
  const child = proc.child;
  if (child !== undefined ? child.exitCode !== null || child.signalCode !== null : !sameProcess(proc)) return;
  if (proc.pid === 0) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      process.kill(proc.pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}
