/**
 * ZMTP 3.0 (ZeroMQ RFC 23) with the NULL mechanism, over node:net: the ROUTER and DEALER
 * sockets the bus needs, byte-compatible with libzmq peers (Python's pyzmq, Ruby's
 * ffi-rzmq, zeromq.js), written in TypeScript because the native binding's cost per message
 * (a heap allocation per received frame, several system calls per send and per receive)
 * capped the broker far below what the wire allows. Here a read parses every message the
 * chunk holds, frames are views or pooled copies, and the messages sent during one turn of
 * the event loop leave in one write (docs/PERFORMANCE.md).
 *
 * What is implemented: tcp:// and ipc:// endpoints; the 64-byte greeting; the READY command
 * with Socket-Type and Identity; message frames (short and long, MORE); PING answered with
 * PONG; ROUTER routing ids (the peer's Identity, else a generated one) and silent drops for
 * unknown peers; DEALER reconnection every `reconnectMs`; a frame size limit and a per-peer
 * limit on bytes waiting to be written.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';

export type Frames = Buffer[];

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

type SocketType = 'ROUTER' | 'DEALER';

/** Which peer types each of ours may talk to (RFC 23 §"Socket types"). */
const COMPATIBLE: Record<SocketType, readonly string[]> = {
  ROUTER: ['DEALER', 'REQ', 'ROUTER'],
  DEALER: ['ROUTER', 'REP', 'DEALER'],
};

const GREETING_BYTES = 64;
/** Frame flags (RFC 23 §"Framing"). */
const MORE = 0x01;
const LONG = 0x02;
const COMMAND = 0x04;
/** Frames up to this size are copied into the one buffer of their message's headers when sent. */
const COPY_BELOW = 4096;
/**
 * Received frames up to this size are copied out of the read chunk (from Node's pool when
 * small): a view would pin the whole chunk's memory for as long as the frame lives, e.g. a
 * request waiting in the broker's queue. Larger frames span chunks anyway and are views of
 * the buffer they were joined into.
 */
const RECEIVE_COPY_BELOW = 65_536;
/** More frames than this in one message closes the connection: no MDP message comes near it. */
const MAX_FRAMES = 1024;
/** A peer that has not finished its greeting and handshake in this time is cut (`handshakeMs` by default). */
const DEFAULT_HANDSHAKE_MS = 10_000;

function greeting(): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff; // signature: 0xFF, 8 bytes of padding, 0x7F
  g[9] = 0x7f;
  g[10] = 3; // version 3.0
  g[11] = 0;
  g.write('NULL', 12, 'latin1'); // mechanism, padded with zeros to 20 bytes
  return g; // as-server (byte 32) 0 and the filler: zeros
}

const GREETING = greeting();

function frameHeader(flags: number, size: number): Buffer {
  if (size <= 255) return Buffer.from([flags, size]);
  const h = Buffer.allocUnsafe(9);
  h[0] = flags | LONG;
  h.writeBigUInt64BE(BigInt(size), 1);
  return h;
}

/** A command frame: name length, name, then data. */
function command(name: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), data]);
  return Buffer.concat([frameHeader(COMMAND, body.length), body]);
}

/** READY's metadata: name length (1 byte), name, value length (4 bytes), value. */
function properties(props: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(props)) {
    const head = Buffer.allocUnsafe(1 + name.length + 4);
    head[0] = name.length;
    head.write(name, 1, 'latin1');
    head.writeUInt32BE(value.length, 1 + name.length);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

function parseProperties(data: Buffer): Map<string, Buffer> | undefined {
  const props = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at];
    if (at + 1 + nameLength + 4 > data.length) return undefined;
    const name = data.toString('latin1', at + 1, at + 1 + nameLength).toLowerCase();
    const valueLength = data.readUInt32BE(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (start + valueLength > data.length) return undefined;
    props.set(name, Buffer.from(data.subarray(start, start + valueLength)));
    at = start + valueLength;
  }
  return props;
}

/**
 * Encode one message, `frames` from index `from`, into `out`: headers and small frames copied
 * into one buffer, large frames by reference. Answers the bytes it adds.
 */
function encode(frames: Frames, from: number, out: Buffer[]): number {
  let copied = 0;
  for (let i = from; i < frames.length; i++) {
    const n = frames[i].length;
    copied += (n <= 255 ? 2 : 9) + (n <= COPY_BELOW ? n : 0);
  }
  const head = Buffer.allocUnsafe(copied);
  let at = 0;
  let start = 0;
  let referenced = 0;
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    const flags = i < frames.length - 1 ? MORE : 0;
    if (f.length <= 255) {
      head[at++] = flags;
      head[at++] = f.length;
    } else {
      head[at] = flags | LONG;
      head.writeUInt32BE(0, at + 1);
      head.writeUInt32BE(f.length, at + 5);
      at += 9;
    }
    if (f.length <= COPY_BELOW) {
      at += f.copy(head, at);
    } else {
      out.push(head.subarray(start, at), f);
      start = at;
      referenced += f.length;
    }
  }
  if (at > start) out.push(head.subarray(start, at));
  return copied + referenced;
}

export interface ConnectionOptions {
  type: SocketType;
  /** Our Identity property (empty: let a ROUTER peer choose). */
  routingId: Buffer;
  maxFrameBytes: number;
  /** Time the peer has to finish its greeting and handshake before it is cut. */
  handshakeMs: number;
  onReady: (conn: Connection, identity: Buffer) => boolean;
  onMessage: (conn: Connection, frames: Frames) => void;
  onClose: (conn: Connection, handshaken: boolean) => void;
}

/** One ZMTP connection over one stream socket. */
export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before parsing can make progress. */
  private need = GREETING_BYTES;
  private phase: 'greeting' | 'handshake' | 'ready' | 'closed' = 'greeting';
  /** Cut for a protocol violation; 'close' has not come yet. */
  private dead = false;
  private message: Frames = [];
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushing = false;
  private readonly timer: NodeJS.Timeout;
  /** The peer's routing id (ROUTER side), set once the handshake is done. */
  identity: Buffer = Buffer.alloc(0);
  key: RoutingKey = '';

  constructor(
    readonly stream: net.Socket,
    private readonly o: ConnectionOptions,
  ) {
    stream.setNoDelay(true);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => undefined); // 'close' follows
    stream.on('close', () => this.onClosed());
    this.timer = setTimeout(() => {
      if (this.phase !== 'ready') this.destroy();
    }, o.handshakeMs);
    this.timer.unref();
    const ready = properties({ 'Socket-Type': Buffer.from(o.type), Identity: o.routingId });
    stream.write(Buffer.concat([GREETING, command('READY', ready)]));
  }

  get ready(): boolean {
    return this.phase === 'ready';
  }

  /** Bytes handed to the socket and not yet written to the kernel, plus what waits for this turn's flush. */
  get backlog(): number {
    return this.stream.writableLength + this.outBytes;
  }

  /** Queue a message (`frames` from index `from`); everything queued in one turn of the event loop leaves in one write. */
  send(frames: Frames, from = 0): void {
    this.outBytes += encode(frames, from, this.out);
    if (!this.flushing) {
      this.flushing = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Write what is queued now. */
  flush(): void {
    this.flushing = false;
    if (this.out.length === 0 || this.phase === 'closed') return;
    const out = this.out;
    this.out = [];
    this.outBytes = 0;
    if (out.length === 1) this.stream.write(out[0]);
    else {
      this.stream.cork();
      for (const b of out) this.stream.write(b);
      this.stream.uncork();
    }
  }

  /** Resolves once everything queued has been handed to the kernel (or the connection is gone). */
  drained(): Promise<void> {
    this.flush();
    if (this.phase === 'closed' || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  destroy(): void {
    this.stream.destroy();
  }

  private onClosed(): void {
    if (this.phase === 'closed') return;
    const handshaken = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.chunks = [];
    this.out = [];
    this.o.onClose(this, handshaken);
  }

  private onData(chunk: Buffer): void {
    if (this.gone()) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    let at = 0;
    if (this.phase === 'greeting') {
      if (!this.greeted(buf)) return this.destroy();
      at = GREETING_BYTES;
      this.phase = 'handshake';
    }
    at = this.parse(buf, at);
    if (this.gone()) return;
    const rest = buf.length - at;
    this.chunks = rest === 0 ? [] : [buf.subarray(at)];
    this.buffered = rest;
  }

  private greeted(g: Buffer): boolean {
    // Signature 0xFF…0x7F (bit 0 of byte 9 set), major version 3 or later, mechanism NULL.
    if (g[0] !== 0xff || (g[9] & 1) !== 1 || g[10] < 3) return false;
    return g.toString('latin1', 12, 32).replace(/\0+$/, '') === 'NULL';
  }

  /** Parse every complete frame from `at`; answers where the unparsed rest starts. */
  private parse(buf: Buffer, from: number): number {
    let at = from;
    const n = buf.length;
    for (;;) {
      if (n - at < 2) {
        this.need = 2;
        return at;
      }
      const flags = buf[at];
      let size: number;
      let head: number;
      if (flags & LONG) {
        if (n - at < 9) {
          this.need = 9;
          return at;
        }
        if (buf.readUInt32BE(at + 1) !== 0) return this.fail(at);
        size = buf.readUInt32BE(at + 5);
        head = 9;
      } else {
        size = buf[at + 1];
        head = 2;
      }
      if (size > this.o.maxFrameBytes || (flags & ~(MORE | LONG | COMMAND)) !== 0) return this.fail(at);
      if (n - at < head + size) {
        this.need = head + size;
        return at;
      }
      const start = at + head;
      at = start + size;
      if (flags & COMMAND) {
        this.onCommand(buf.subarray(start, at));
        if (this.gone()) return at;
        continue;
      }
      if (this.phase !== 'ready') return this.fail(at);
      let frame: Buffer;
      if (size <= RECEIVE_COPY_BELOW) {
        frame = Buffer.allocUnsafe(size);
        buf.copy(frame, 0, start, at);
      } else {
        frame = buf.subarray(start, at);
      }
      this.message.push(frame);
      if (this.message.length > MAX_FRAMES) return this.fail(at);
      if ((flags & MORE) === 0) {
        const message = this.message;
        this.message = [];
        this.o.onMessage(this, message);
        if (this.gone()) return at;
      }
    }
  }

  /** Closed, possibly by a callback just run (TypeScript cannot see that through the call). */
  private gone(): boolean {
    return this.dead || this.phase === 'closed';
  }

  /** A protocol violation: cut the connection ('close' then reports it) and stop parsing. */
  private fail(at: number): number {
    this.dead = true;
    this.destroy();
    return at;
  }

  private onCommand(body: Buffer): void {
    const nameLength = body[0] ?? 0;
    const name = body.toString('latin1', 1, 1 + nameLength);
    const data = body.subarray(1 + nameLength);
    if (this.phase === 'handshake') {
      if (name !== 'READY') return void this.fail(0);
      const props = parseProperties(data);
      const type = props?.get('socket-type')?.toString('latin1');
      if (props === undefined || type === undefined || !COMPATIBLE[this.o.type].includes(type))
        return void this.fail(0);
      this.phase = 'ready';
      clearTimeout(this.timer);
      if (!this.o.onReady(this, props.get('identity') ?? Buffer.alloc(0))) this.fail(0);
      return;
    }
    if (name === 'PING') {
      // ZMTP 3.1 heartbeat: PONG carries the ping's context (after its 2-byte TTL).
      this.stream.write(command('PONG', data.subarray(2)));
    } else if (name === 'ERROR') {
      this.fail(0);
    }
    // Other commands (PONG, SUBSCRIBE, …) mean nothing to these socket types.
  }
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
}

const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;
const DEFAULT_HIGH_WATER = 64 * 1024 * 1024;

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

  constructor(options: SocketOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.handshakeMs = options.handshakeMs ?? DEFAULT_HANDSHAKE_MS;
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
    const conn = new Connection(stream, {
      type: 'ROUTER',
      routingId: Buffer.alloc(0),
      maxFrameBytes: this.maxFrameBytes,
      handshakeMs: this.handshakeMs,
      onReady: (c, identity) => this.identify(c, identity),
      onMessage: (c, frames) => {
        frames.unshift(c.identity);
        this.onMessage(frames);
      },
      onClose: (c) => {
        this.connections.delete(c);
        if (this.peers.get(c.key) !== c) return;
        this.peers.delete(c.key);
        if (!this.closed) this.onPeerGone(c.identity);
      },
    });
    this.connections.add(conn);
  }

  /** The peer's Identity if it sent one not in use (libzmq refuses a duplicate), else 0x00 + 4 bytes. */
  private identify(conn: Connection, wanted: Buffer): boolean {
    let identity = wanted;
    if (identity.length > 0) {
      if (identity[0] === 0 || this.peers.has(routingKey(identity))) return false;
    } else {
      identity = Buffer.allocUnsafe(5);
      identity[0] = 0;
      identity.writeUInt32BE(this.nextId, 1);
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    }
    conn.identity = identity;
    conn.key = routingKey(identity);
    this.peers.set(conn.key, conn);
    return true;
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

  constructor(options: DealerOptions = {}) {
    this.routingId = options.routingId ?? Buffer.alloc(0);
    this.reconnectMs = options.reconnectMs ?? 100;
    this.queueMax = options.queueMax ?? 100_000;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.handshakeMs = options.handshakeMs ?? DEFAULT_HANDSHAKE_MS;
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
    const stream = a.path !== undefined ? net.connect(a.path) : net.connect(a.port ?? 0, a.host);
    const conn = new Connection(stream, {
      type: 'DEALER',
      routingId: this.routingId,
      maxFrameBytes: this.maxFrameBytes,
      handshakeMs: this.handshakeMs,
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
