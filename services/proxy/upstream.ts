/**
 * Keep-alive connections from the proxy to its targets: one pool per target host:port,
 * each connection carrying one exchange at a time (HTTP/1.1 without pipelining), kept
 * idle for the next request afterwards. Requests go out as one written head and responses
 * are read by response-parser.ts: bench/proxy.ts measures the same forwarding through node's
 * `http.Agent` and `ClientRequest` at about twice the CPU per request (undici's `Pool`, tried
 * the same way, did no better).
 */
import net from 'node:net';
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser';

/** Where an exchange is in its life, for the error it gets. */
export type Stage = 'connect' | 'answer' | 'body';

/** The holder of a connection: told what the target answers and what goes wrong. */
export interface UpstreamUser {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The response is complete (`last`: its body's last piece, not given to onBody). The user then calls `release`. */
  onEnd(reusable: boolean, last?: Buffer): void;
  /** The exchange broke (refused, reset, closed early, malformed); the connection is gone. */
  onBroken(reason: string, stage: Stage): void;
  /** The target was silent for the timeout; the connection is gone. */
  onTimeout(stage: Stage): void;
  /** The connection's write buffer has drained (request bodies wait for it). */
  onDrain(): void;
}

export interface UpstreamOptions {
  /** How long an idle connection is kept (less when the target's `Keep-Alive: timeout` says so). */
  idleTimeoutMs: number;
  /** Idle connections kept per target; the others are closed. */
  maxIdlePerTarget: number;
}

/** One connection to a target. */
export class Connection implements ResponseSink {
  readonly socket: net.Socket;
  readonly parser: ResponseParser;
  private user: UpstreamUser | undefined;
  private connected = false;
  /** It has carried an exchange before the current one. */
  reused = false;
  /** Bytes of the current exchange's response have arrived. */
  received = false;
  private headSeen = false;
  private readTimeoutMs = 0;
  /** The socket's inactivity timeout now (set only when it changes: re-arming costs on every request). */
  private timeoutMs: number;
  private error: NodeJS.ErrnoException | undefined;
  /** While idle: when it may be closed (ms since the epoch). */
  idleUntil = 0;

  constructor(
    private readonly pool: Pool,
    connectTimeoutMs: number,
  ) {
    this.parser = new ResponseParser(this);
    this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true });
    this.timeoutMs = connectTimeoutMs;
    this.socket.setTimeout(connectTimeoutMs);
    this.socket.on('connect', () => {
      this.connected = true;
      this.setTimeout(this.readTimeoutMs);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.received = true;
      this.parser.push(chunk);
    });
    this.socket.on('drain', () => this.user?.onDrain());
    this.socket.on('timeout', () => this.timedOut());
    this.socket.on('end', () => this.parser.eof());
    this.socket.on('error', (err) => (this.error = err));
    this.socket.on('close', () => this.closed());
  }

  /** Hand the connection to `user` for one exchange (its request head is then written on `socket`). */
  attach(user: UpstreamUser, readTimeoutMs: number, noResponseBody: boolean): void {
    this.user = user;
    this.received = false;
    this.headSeen = false;
    this.readTimeoutMs = readTimeoutMs;
    this.parser.begin(noResponseBody);
    if (this.connected) this.setTimeout(readTimeoutMs);
  }

  private setTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  /** The user is done: keep the connection for the next request, or close it. */
  release(reusable: boolean, keepAliveMs?: number): void {
    this.user = undefined;
    this.reused = true;
    if (reusable && !this.socket.destroyed) this.pool.keep(this, keepAliveMs);
    else this.socket.destroy();
  }

  /** Give up the exchange (the client went away): the connection is closed, the user hears nothing more. */
  abort(): void {
    this.user = undefined;
    this.parser.abort();
    this.socket.destroy();
  }

  onHead(head: ResponseHead): void {
    this.headSeen = true;
    this.user?.onHead(head);
  }

  onBody(chunk: Buffer): void {
    this.user?.onBody(chunk);
  }

  onEnd(reusable: boolean, last?: Buffer): void {
    this.user?.onEnd(reusable && this.connected, last);
  }

  onFail(reason: string): void {
    this.broken(reason);
  }

  private stage(): Stage {
    return !this.connected ? 'connect' : this.headSeen ? 'body' : 'answer';
  }

  private broken(reason: string): void {
    const user = this.user;
    this.user = undefined;
    this.parser.abort();
    this.socket.destroy();
    user?.onBroken(reason, this.stage());
  }

  private timedOut(): void {
    const user = this.user;
    this.user = undefined;
    this.parser.abort();
    this.socket.destroy();
    user?.onTimeout(this.stage());
  }

  private closed(): void {
    this.pool.forget(this);
    if (this.user === undefined) return;
    const err = this.error;
    if (err === undefined) this.broken('closed the connection');
    else this.broken(this.connected ? `connection error ${err.code ?? err.message}` : (err.code ?? err.message));
  }
}

/** The connections to one target. Idle ones are closed by `Upstreams`' sweep, oldest first. */
export class Pool {
  private readonly idle: Connection[] = [];
  /** Live connections, idle or not. */
  private live = 0;

  constructor(
    private readonly upstreams: Upstreams,
    readonly key: string,
    readonly host: string,
    readonly port: number,
  ) {}

  /** An idle connection (the most recently used), or a new one (always, when `fresh`). */
  acquire(connectTimeoutMs: number, fresh = false): Connection {
    const conn = fresh ? undefined : this.idle.pop();
    if (conn !== undefined) return conn;
    this.live++;
    return new Connection(this, connectTimeoutMs);
  }

  /** Keep `conn` idle for the next request. */
  keep(conn: Connection, keepAliveMs: number | undefined): void {
    const options = this.upstreams.options;
    if (this.idle.length >= options.maxIdlePerTarget) {
      conn.socket.destroy();
      return;
    }
    // Close it before the target would: a request written as it closes would be lost (retried once, forward.ts).
    const ms = keepAliveMs === undefined ? options.idleTimeoutMs : Math.min(options.idleTimeoutMs, keepAliveMs - 1000);
    if (ms <= 0) {
      conn.socket.destroy();
      return;
    }
    conn.idleUntil = Date.now() + ms;
    if (conn.socket.isPaused()) conn.socket.resume();
    this.idle.push(conn);
  }

  /** Close the connections idle past their time (the first ones are the oldest). */
  sweep(now: number): void {
    while (this.idle.length > 0 && this.idle[0].idleUntil <= now) this.idle.shift()!.socket.destroy();
  }

  /** `conn` closed: drop it, and the pool once it holds nothing. */
  forget(conn: Connection): void {
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    if (--this.live === 0) this.upstreams.drop(this);
  }

  /** Close the idle connections. */
  closeIdle(): void {
    for (const conn of this.idle.splice(0)) conn.socket.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }
}

/** Every pool of the process. */
export class Upstreams {
  private readonly pools = new Map<string, Pool>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly options: UpstreamOptions) {
    const every = Math.max(10, Math.min(500, Math.floor(options.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every).unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const pool of this.pools.values()) pool.sweep(now);
  }

  pool(host: string, port: number): Pool {
    const key = `${host}:${port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(this, key, host, port);
      this.pools.set(key, pool);
    }
    return pool;
  }

  drop(pool: Pool): void {
    if (this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
  }

  /** Close every idle connection (at shutdown, or when targets moved). */
  closeIdle(): void {
    for (const pool of this.pools.values()) pool.closeIdle();
  }

  /** Close the idle connections and stop sweeping (the proxy is closing). */
  close(): void {
    clearInterval(this.sweeper);
    this.closeIdle();
  }

  /** Idle connections, all targets together. */
  get idleCount(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.idleCount;
    return n;
  }
}
