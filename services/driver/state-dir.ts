/**
 * The driver's state directory (docs/COMPUTE.md "Driver restarts"): what lets a driver that
 * was killed find its nodes again. It holds, for each node, `<id>.json` (its record and the
 * identity of its process) and `<id>.log` (its process's stdout and stderr, written by the
 * process itself, so that they outlive the driver), plus `driver.lock`, naming the driver
 * process that holds the directory. The Ruby driver keeps the same layout.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { nodeIdProblem } from '../../lib/node-names';
import { loadProto } from '../../lib/rpc/proto';
import type { NodeView } from './local-driver';

/**
 * A process as the driver knows it: its pid and its start time (`/proc/<pid>/stat` field 22), which a reused pid
 * does not share.
 */
export interface ProcessId {
  pid: number;
  start: string;
}

/** What `<id>.json` holds. */
export interface NodeRecord {
  node: Omit<NodeView, 'output'>;
  process: ProcessId | null;
}

/** A log beyond this size is cut (copy-truncate): its tail goes to `<id>.log.1`. */
export const LOG_MAX_BYTES = 1_048_576;
/** What is kept of a cut log, and read from the end of each log for a node's output. */
const TAIL_BYTES = 65_536;
const LOCK = 'driver.lock';
/** The keys of a record's node map: DriverNode's fields (proto/driver.proto) but output. */
const NODE_KEYS = (loadProto('driver.proto').agora.DriverNode.type as { field: Array<{ name: string }> }).field
  .map((f) => f.name)
  .filter((name) => name !== 'output');

/** The directory of driver `service` on bus `busUrl` under `root` (empty: the OS temp dir's `agora-driver-<uid>`). */
export function stateDirOf(root: string, service: string, busUrl: string): string {
  const bus = busUrl.replace(/^tcp:\/\//, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(
    root === '' ? path.join(tmpdir(), `agora-driver-${process.getuid?.() ?? 0}`) : root,
    `${service}@${bus}`,
  );
}

/**
 * The start time of process `pid`, or null when there is none (or only its zombie). Linux
 * `/proc/<pid>/stat`: the fields after the command's closing parenthesis start at field 3.
 */
export function processStart(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' ? null : (fields[19] ?? null);
}

/** Whether `id` is still the process it was: alive, and started when it was. */
export function sameProcess(id: ProcessId): boolean {
  return id.start !== '' && processStart(id.pid) === id.start;
}

export class StateDir {
  private constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Make the directory and take its lock; fails when a live driver process holds it. */
  static open(dir: string, log: Logger): StateDir {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const state = new StateDir(dir, log);
    state.lock();
    return state;
  }

  private lock(): void {
    const file = path.join(this.dir, LOCK);
    const me = JSON.stringify({ pid: process.pid, start: processStart(process.pid) ?? '' });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, me, { flag: 'wx' });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = this.readJson(file) as ProcessId | null;
      if (holder !== null && holder.pid !== process.pid && sameProcess(holder)) break;
      unlinkSync(file); // left by a driver that is gone
    }
    throw new Error(
      `the driver state directory ${this.dir} is held by another running driver (${LOCK}); give each driver its own AGORA_DRIVER_STATE_DIR or service name`,
    );
  }

  /** Give the directory up; it is removed when nothing is left in it. */
  release(): void {
    unlinkSync(path.join(this.dir, LOCK));
    try {
      rmdirSync(this.dir);
    } catch {
      // node records are left for the next start
    }
  }

  /**
   * Every well-formed node record (its node map holding every key, as the Ruby driver requires too); others are
   * logged and left alone.
   */
  load(): NodeRecord[] {
    const records: NodeRecord[] = [];
    for (const name of readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const record = this.readJson(path.join(this.dir, name)) as NodeRecord | null;
      const id = name.slice(0, -'.json'.length);
      if (record?.node?.id === id && nodeIdProblem(id) === null && NODE_KEYS.every((key) => key in record.node))
        records.push(record);
      else this.log.warn({ file: name }, 'unreadable node record left alone');
    }
    return records;
  }

  /** Write a node's record (whole: a new file renamed over the old one). */
  save(record: NodeRecord): void {
    const file = this.file(record.node.id, '.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file);
  }

  /** Forget a node: its record and its logs. */
  remove(id: string): void {
    for (const suffix of ['.json', '.log', '.log.1']) {
      try {
        unlinkSync(this.file(id, suffix));
      } catch {
        // not there
      }
    }
  }

  /** A descriptor of the node's log, opened for appending, for its process's stdout and stderr. */
  openLog(id: string): number {
    return openSync(this.file(id, '.log'), 'a', 0o600);
  }

  /** The last `lines` lines the node wrote (its cut log's, then its log's), each cut at `lineMax` characters. */
  async output(id: string, lines: number, lineMax: number): Promise<string[]> {
    const text = (await tail(this.file(id, '.log.1'))) + (await tail(this.file(id, '.log')));
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).map((line) => (line.length > lineMax ? `${line.slice(0, lineMax)}…` : line));
  }

  /**
   * Keep a node's log under LOG_MAX_BYTES: its tail is copied to `<id>.log.1` and it is
   * truncated (the process appends, so it writes on at the new end). A line written between
   * the copy and the truncation is lost, as with logrotate's copytruncate.
   */
  trimLog(id: string): void {
    const file = this.file(id, '.log');
    try {
      const size = statSync(file).size;
      if (size <= LOG_MAX_BYTES) return;
      const fd = openSync(file, 'r');
      const buffer = Buffer.alloc(Math.min(TAIL_BYTES, size));
      try {
        readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      } finally {
        closeSync(fd);
      }
      writeFileSync(this.file(id, '.log.1'), buffer);
      truncateSync(file, 0);
    } catch (e) {
      this.log.warn({ node: id, err: errorMessage(e) }, 'could not cut the node log');
    }
  }

  private file(id: string, suffix: string): string {
    return path.join(this.dir, `${id}${suffix}`);
  }

  private readJson(file: string): unknown {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return null;
    }
  }
}

/** The last TAIL_BYTES of `file` as text from its first whole line ('' when there is no file). */
async function tail(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(TAIL_BYTES, size);
    const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    const text = buffer.toString('utf8');
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    await handle.close();
  }
}
