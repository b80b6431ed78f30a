/**
 * ZeroMQ's ROUTER and DEALER sockets over node:net, speaking ZMTP 3.0 (ZeroMQ RFC 23) with the
 * NULL or CURVE mechanism, byte-compatible with libzmq peers (Python's pyzmq, Ruby's ffi-rzmq,
 * zeromq.js). They are written in TypeScript because the native binding's cost per message (a
 * heap allocation per received frame, several system calls per send and per receive) capped
 * the broker far below what the wire allows. Here a read parses every message the chunk holds,
 * frames are views or pooled copies, and the messages sent during one turn of the event loop
 * leave in one write (docs/PERFORMANCE.md).
 *
 * The layers: the wire (greeting, frames, the incremental parser) in lib/bus/zmtp-wire.ts;
 * one connection (handshake, deadline, send queue) in lib/bus/zmtp-connection.ts, secured by
 * a mechanism of lib/bus/zmtp-mechanism.ts (NULL by default, or CURVE from
 * lib/bus/zmtp-curve.ts, chosen by the `mechanism` option); the sockets here. What the sockets add:
 * tcp:// and ipc:// endpoints; ROUTER routing ids (the peer's Identity, else a generated one)
 * and silent drops for unknown peers; DEALER reconnection every `reconnectMs` with a bounded
 * queue meanwhile; a frame size limit and a per-peer limit on bytes waiting to be written.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { Connection, RECEIVE_COPY_BELOW } from './zmtp-connection';
import { nullMechanism, type MechanismFactory } from './zmtp-mechanism';
import type { Frames } from './zmtp-wire';

export type { Frames } from './zmtp-wire';

/** A routing id as a Map key (see `routingKey`). */
export type RoutingKey = number | string;

/**
 * A routing id as a Map key, with no allocation for the ids a ROUTER generates (`00` then 4
 * bytes, RFC 23 / libzmq): the number those 4 bytes spell. An Identity a peer chose itself
 * (never starting with `00`) is its bytes as a string.
 */
export function routingKey(id: Buffer): RoutingKey {
  return id.length === 5 && id[0] === 0 ? id.readUInt32BE(1) : id.toString('latin1');
}

export interface SocketOptions {
  /** Largest frame accepted from a peer; a larger one closes its connection (libzmq's ZMQ_MAXMSGSIZE). */
  maxFrameBytes?: number;
  /** Bytes waiting to be written to one peer beyond which messages to it are dropped. */
  highWaterBytes?: number;
  /**
   * Time a peer has to finish its greeting and handshake (RFC 23) before its connection is cut,
   * so that a peer that connects and says nothing holds no resources for long (default 10 s).
   */
  handshakeMs?: number;
  /** Makes each connection's security mechanism (default NULL; CURVE: lib/bus/zmtp-curve.ts). */
  mechanism?: MechanismFactory;
  /**
   * Hand out received frames as views of the buffer they were read into instead of copies
   * (lib/bus/zmtp-connection.ts `views`): for a receiver that copies what it keeps beyond the
   * `onMessage` call. Default false.
   */
  receiveViews?: boolean;
  /** Frames the receiver expects often, handed out as given when received (lib/bus/zmtp-connection.ts `known`). */
  knownFrames?: readonly Buffer[];
}

/** A peer that has not finished its greeting and handshake in this time is cut (`handshakeMs` by default). */
const DEFAULT_HANDSHAKE_MS = 10_000;
const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;
const DEFAULT_HIGH_WATER = 64 * 1024 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);
/** A DEALER's read buffer: as large as a frame received as a copy can be (RECEIVE_COPY_BELOW). */
const READ_BUFFER_BYTES = RECEIVE_COPY_BELOW;

interface Address {
  path?: string;
  host?: string;
  port?: number;
}

/** `tcp://host:port` (port `*` or 0: any free one) or `ipc://path`. */
export function parseEndpoint(endpoint: string): Address {
  const tcp = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  if (tcp !== null) {
    const host = tcp[1] === '*' ? '0.0.0.0' : tcp[1].replace(/^\[(.*)\]$/, '$1');
    return { host, port: tcp[2] === '*' ? 0 : Number(tcp[2]) };
  }
  const ipc = /^ipc:\/\/(.+)$/.exec(endpoint);
  if (ipc !== null) return { path: ipc[1] };
  throw new Error(`unsupported endpoint ${JSON.stringify(endpoint)}: use tcp://host:port or ipc://path`);
}

/** The brokers of a bus URL: `tcp://a:5555,tcp://b:5555` lists several (AGORA_BUS_URL). */
export function busEndpoints(url: string): string[] {
  return url
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/**
 * A ROUTER: binds, accepts DEALER/REQ/ROUTER peers, prefixes every message it receives with
 * the sender's routing id, and sends each message to the peer its first frame names
 * (dropping it, as libzmq does, when no such peer is connected or the peer is over its
 * high-water mark).
 */
export class RouterSocket {
  private server: net.Server | undefined;
  private readonly peers = new Map<RoutingKey, Connection>();
  private readonly connections = new Set<Connection>();
  private nextId = (randomBytes(4).readUInt32BE(0) & 0x7fffffff) + 1;
  private ipcPath: string | undefined;
  lastEndpoint = '';
  closed = false;
  /** Called for every message: [routing id, …frames]. */
  onMessage: (frames: Frames) => void = () => undefined;
  /**
   * Called when the connection of a peer that had a routing id closes (the peer exited, was
   * killed, or broke the protocol), not when this socket is closed. libzmq's ROUTER does not
   * say so; knowing it lets the broker forget a dead worker at once.
   */
  onPeerGone: (routingId: Buffer) => void = () => undefined;
  private readonly maxFrameBytes: number;
  private readonly highWaterBytes: number;
  private readonly handshakeMs: number;
  private readonly mechanism: MechanismFactory;
  private readonly receiveViews: boolean;
  private readonly knownFrames: readonly Buffer[] | undefined;

  constructor(options: SocketOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.handshakeMs = options.handshakeMs ?? DEFAULT_HANDSHAKE_MS;
    this.mechanism = options.mechanism ?? nullMechanism;
    this.receiveViews = options.receiveViews ?? false;
    this.knownFrames = options.knownFrames;
  }

  /** The authenticated long-term public key of the peer `routingId` names (CURVE), or undefined. */
  peerKey(routingId: Buffer): Buffer | undefined {
    return this.peers.get(routingKey(routingId))?.peerKey;
  }

  /** Cut the connection of every peer `cut` picks by its public key (an allow-list reloaded without it). */
  disconnectWhere(cut: (peerKey: Buffer | undefined) => boolean): void {
    for (const conn of this.peers.values()) if (cut(conn.peerKey)) conn.destroy();
  }

  /** Bind; resolves with the bound endpoint (the real port when it was `*` or 0). */
  async bind(endpoint: string): Promise<string> {
    const address = parseEndpoint(endpoint);
    const server = net.createServer((stream) => this.accept(stream));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (address.path !== undefined) server.listen(address.path, done);
      else server.listen(address.port, address.host, done);
    });
    server.on('error', () => undefined);
    const bound = server.address();
    if (address.path !== undefined) {
      this.ipcPath = address.path;
      this.lastEndpoint = `ipc://${address.path}`;
    } else if (bound !== null && typeof bound === 'object') {
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      this.lastEndpoint = `tcp://${host}:${bound.port}`;
    }
    return this.lastEndpoint;
  }

  /** Send [routing id, …frames]; false when dropped. */
  send(frames: Frames): boolean {
    const peer = this.peers.get(routingKey(frames[0]));
    if (peer === undefined || peer.backlog > this.highWaterBytes) return false;
    peer.send(frames, 1);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server?.close();
    for (const c of this.connections) c.destroy();
    if (this.ipcPath !== undefined) rmSync(this.ipcPath, { force: true });
  }

  private accept(stream: net.Socket): void {
    if (this.closed) return void stream.destroy();
    // The peer's routing id and its Map key, once the handshake is done.
    let identity = EMPTY;
    let key: RoutingKey = '';
    const conn = new Connection(stream, {
      type: 'ROUTER',
      routingId: EMPTY,
      maxFrameBytes: this.maxFrameBytes,
      handshakeMs: this.handshakeMs,
      mechanism: this.mechanism,
      views: this.receiveViews,
      known: this.knownFrames,
      onReady: (c, wanted) => {
        const id = this.identify(wanted);
        if (id === undefined) return false;
        identity = id;
        key = routingKey(id);
        this.peers.set(key, c);
        c.lead = id;
        return true;
      },
      // Each message starts with the peer's routing id (the connection's `lead`).
      onMessage: (_c, frames) => this.onMessage(frames),
      onClose: (c) => {
        this.connections.delete(c);
        if (this.peers.get(key) !== c) return;
        this.peers.delete(key);
        if (!this.closed) this.onPeerGone(identity);
      },
    });
    this.connections.add(conn);
  }

  /** The peer's Identity if it sent one not in use (libzmq refuses a duplicate), else 0x00 + 4 bytes. */
  private identify(wanted: Buffer): Buffer | undefined {
    if (wanted.length > 0) return wanted[0] === 0 || this.peers.has(routingKey(wanted)) ? undefined : wanted;
    const identity = Buffer.allocUnsafe(5);
    identity[0] = 0;
    identity.writeUInt32BE(this.nextId, 1);
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return identity;
  }
}

export interface DealerOptions extends SocketOptions {
  /** Our Identity for the ROUTER peer (empty: let it choose). */
  routingId?: Buffer;
  /** Wait between connection attempts (libzmq's ZMQ_RECONNECT_IVL, default 100 ms). */
  reconnectMs?: number;
  /** Messages kept while no connection is up; beyond, `send` answers false. */
  queueMax?: number;
}

/**
 * A DEALER connected to one endpoint: connects in the background, reconnects after a loss,
 * keeps what is sent while no connection is up (bounded) and sends it once one is.
 * `onConnect` fires at each completed handshake, `onDisconnect` when one is lost.
 */
export class DealerSocket {
  private conn: Connection | undefined;
  private queue: Frames[] = [];
  private endpoint: Address | undefined;
  private retry: NodeJS.Timeout | undefined;
  closed = false;
  onMessage: (frames: Frames) => void = () => undefined;
  onConnect: () => void = () => undefined;
  onDisconnect: () => void = () => undefined;
  private readonly routingId: Buffer;
  private readonly reconnectMs: number;
  private readonly queueMax: number;
  private readonly maxFrameBytes: number;
  private readonly highWaterBytes: number;
  private readonly handshakeMs: number;
  private readonly mechanism: MechanismFactory;
  private readonly receiveViews: boolean;
  private readonly knownFrames: readonly Buffer[] | undefined;
  /** Where every read of this socket's connection lands (see `dial`). */
  private readBuffer: Buffer | undefined;

  constructor(options: DealerOptions = {}) {
    this.routingId = options.routingId ?? EMPTY;
    this.reconnectMs = options.reconnectMs ?? 100;
    this.queueMax = options.queueMax ?? 100_000;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.handshakeMs = options.handshakeMs ?? DEFAULT_HANDSHAKE_MS;
    this.mechanism = options.mechanism ?? nullMechanism;
    this.receiveViews = options.receiveViews ?? false;
    this.knownFrames = options.knownFrames;
  }

  connect(endpoint: string): void {
    this.endpoint = parseEndpoint(endpoint);
    this.dial();
  }

  /** Whether a handshaken connection is up. */
  get connected(): boolean {
    return this.conn?.ready === true;
  }

  /** Send, or keep until connected; false when the message was dropped (queue or peer over its limit). */
  send(frames: Frames): boolean {
    if (this.closed) return false;
    const conn = this.conn;
    if (conn !== undefined && conn.ready) {
      if (conn.backlog > this.highWaterBytes) return false;
      conn.send(frames);
      return true;
    }
    if (this.queue.length >= this.queueMax) return false;
    this.queue.push(frames);
    return true;
  }

  /** Close; with `lingerMs`, first give what is already sent that long to reach the kernel. */
  async close(lingerMs = 0): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.queue = [];
    const conn = this.conn;
    if (conn === undefined) return;
    if (lingerMs > 0 && conn.ready) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([conn.drained(), new Promise((resolve) => (timer = setTimeout(resolve, lingerMs)))]);
      clearTimeout(timer);
      conn.stream.end();
      return;
    }
    conn.destroy();
  }

  private dial(): void {
    if (this.closed || this.endpoint === undefined) return;
    const a = this.endpoint;
    // Every read lands in one buffer of this socket, reused (no new buffer per read); the
    // connection copies what it keeps of it (lib/bus/zmtp-connection.ts `receive`).
    this.readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const onread = {
      buffer: this.readBuffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        conn.receive(Buffer.from(buf.buffer, buf.byteOffset, n), true);
        return true;
      },
    };
    const stream =
      a.path !== undefined
        ? net.connect({ path: a.path, onread })
        : net.connect({ port: a.port ?? 0, host: a.host, onread });
    const conn: Connection = new Connection(stream, {
      type: 'DEALER',
      routingId: this.routingId,
      maxFrameBytes: this.maxFrameBytes,
      handshakeMs: this.handshakeMs,
      mechanism: this.mechanism,
      views: this.receiveViews,
      known: this.knownFrames,
      onReady: () => {
        if (this.closed) return false;
        const queued = this.queue;
        this.queue = [];
        for (const frames of queued) conn.send(frames);
        this.onConnect();
        return true;
      },
      onMessage: (_c, frames) => {
        if (!this.closed) this.onMessage(frames);
      },
      onClose: (_c, handshaken) => {
        if (this.conn === conn) this.conn = undefined;
        if (this.closed) return;
        if (handshaken) this.onDisconnect();
        this.retry = setTimeout(() => this.dial(), this.reconnectMs);
      },
    });
    this.conn = conn;
  }
}
