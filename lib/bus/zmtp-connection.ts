/**
 * One ZMTP 3.0 connection (ZeroMQ RFC 23) over one stream socket, for the ROUTER and DEALER
 * of lib/bus/zmtp.ts: the greeting and the handshake through its security mechanism
 * (lib/bus/zmtp-mechanism.ts) within a deadline, the peer's socket type checked, messages
 * assembled from the frames the wire's parser finds (lib/bus/zmtp-wire.ts), PING answered,
 * and the send queue: the messages sent during one turn of the event loop leave in one write.
 */
import type net from 'node:net';
import { encodeProperties } from './properties';
import type { Mechanism, MechanismFactory, Unboxed } from './zmtp-mechanism';
import {
  COMMAND,
  encodeGreeting,
  encodeMessageInto,
  FrameParser,
  greetingMechanism,
  MORE,
  type Frames,
  type FrameSink,
} from './zmtp-wire';

export type SocketType = 'ROUTER' | 'DEALER';

/** Which peer types each of ours may talk to (RFC 23 §"Socket types"). */
const COMPATIBLE: Record<SocketType, readonly string[]> = {
  ROUTER: ['DEALER', 'REQ', 'ROUTER'],
  DEALER: ['ROUTER', 'REP', 'DEALER'],
};

/**
 * Received frames up to this size are copied out of the read chunk (from Node's pool when
 * small), unless the connection hands out views: a view would pin the whole chunk's memory for
 * as long as the frame lives, e.g. a request waiting in the broker's queue. Larger frames span
 * chunks anyway and are views of the buffer they were joined into.
 */
export const RECEIVE_COPY_BELOW = 65_536;
/**
 * A received frame its receiver keeps beyond `onMessage`, from a connection with `views`: a copy
 * of its own when small, for a view would keep its whole read buffer alive; as it is when large.
 */
export function keepFrame(frame: Buffer): Buffer {
  return frame.length > RECEIVE_COPY_BELOW ? frame : Buffer.from(frame);
}

/** What one turn queues is joined into one buffer up to this size (the copy costs less than a vector). */
const JOIN_BELOW = 65_536;
/**
 * Where a connection whose frames travel as they are (NULL) encodes what one turn sends: one buffer
 * of this size, made at its first send and reused for as long as the socket takes each write whole.
 */
const STAGE_BYTES = 16_384;
/** A received empty frame (an MDP delimiter), the same one each time: it holds nothing to copy or keep. */
const EMPTY_FRAME = Buffer.alloc(0);
const NONE_KNOWN: readonly Buffer[] = [];
/** More frames than this in one message closes the connection: no MDP message comes near it. */
const MAX_FRAMES = 1024;

export interface ConnectionOptions {
  type: SocketType;
  /** Our Identity property (empty: let a ROUTER peer choose). */
  routingId: Buffer;
  maxFrameBytes: number;
  /** Time the peer has to finish its greeting and handshake before it is cut. */
  handshakeMs: number;
  /** Makes this connection's security mechanism. */
  mechanism: MechanismFactory;
  /**
   * Received frames are views of the buffer they were read into, never copies; a receiver that
   * keeps a frame beyond its `onMessage` call copies it (`keepFrame`; the broker: lib/bus/broker.ts
   * `ownCopy`). Where each read makes a new buffer (a ROUTER's accepted streams) a view would keep
   * that whole buffer alive; where the socket reuses one buffer for every read (a DEALER's, read
   * with `onread`) the next read writes over it. Frames over RECEIVE_COPY_BELOW are larger than
   * that buffer, so they always lie in one of their own.
   */
  views?: boolean;
  /**
   * Frames the receiver expects often (protocol headers, commands; a few bytes each): a received frame
   * with the same bytes is handed out as the one given here, made once, rather than as a view or a copy.
   */
  known?: readonly Buffer[];
  /** The handshake is done; `identity` is the peer's Identity property (empty when it sent none). False cuts it. */
  onReady: (conn: Connection, identity: Buffer) => boolean;
  onMessage: (conn: Connection, frames: Frames) => void;
  onClose: (conn: Connection, handshaken: boolean) => void;
}

/**
 * One ZMTP connection over one stream socket. It is the sink of its wire parser
 * (`greeting`, `frame` and `violation` are called by that parser only).
 */
export class Connection implements FrameSink {
  private readonly parser: FrameParser;
  private readonly mechanism: Mechanism;
  /** The mechanism's `unbox`, absent when frames travel as they are. */
  private readonly unbox: ((buf: Buffer, start: number, end: number) => Unboxed | undefined) | undefined;
  private phase: 'greeting' | 'handshake' | 'ready' | 'closed' = 'greeting';
  /** Cut for a protocol violation; 'close' has not come yet. */
  private dead = false;
  private message: Frames = [];
  private out: Buffer[] = [];
  private outBytes = 0;
  /**
   * What this turn sends, encoded in place while it fits (frames that travel as they are only):
   * bytes [0, staged) of `stage`, written before anything in `out`.
   */
  private stage: Buffer | undefined;
  private staged = 0;
  private flushing = false;
  /** The chunk being parsed lies in a buffer the next read writes over: a command is copied before it is read. */
  private transient = false;
  private readonly timer: NodeJS.Timeout;
  /** The length of the longest of `known` (0: none), so that longer frames are not compared. */
  private readonly knownMax: number;
  /** The peer's authenticated long-term public key once the handshake is done (CURVE; NULL: undefined). */
  peerKey: Buffer | undefined;
  /** Set by `onReady` (a ROUTER: the peer's routing id): every message received after it starts with this frame. */
  lead: Buffer | undefined;

  constructor(
    readonly stream: net.Socket,
    private readonly o: ConnectionOptions,
  ) {
    this.parser = new FrameParser(o.maxFrameBytes, this);
    this.mechanism = o.mechanism(encodeProperties({ 'Socket-Type': Buffer.from(o.type), Identity: o.routingId }));
    this.unbox = this.mechanism.unbox;
    this.knownMax = Math.max(0, ...(o.known ?? NONE_KNOWN).map((k) => k.length));
    stream.setNoDelay(true);
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('error', () => undefined); // 'close' follows
    stream.on('close', () => this.onClosed());
    this.timer = setTimeout(() => {
      if (this.phase !== 'ready') this.destroy();
    }, o.handshakeMs);
    this.timer.unref();
    const m = this.mechanism;
    stream.write(Buffer.concat([encodeGreeting(m.name, m.asServer), m.start()]));
  }

  get ready(): boolean {
    return this.phase === 'ready';
  }

  /** Bytes handed to the socket and not yet written to the kernel, plus what waits for this turn's flush. */
  get backlog(): number {
    return this.stream.writableLength + this.outBytes;
  }

  /**
   * Queue a message (`frames` from index `from`) once the handshake is done; everything queued
   * in one turn of the event loop (every callback of its poll phase) leaves in one write.
   */
  send(frames: Frames, from = 0): void {
    if (this.unbox === undefined && this.out.length === 0) {
      this.stage ??= Buffer.allocUnsafe(STAGE_BYTES);
      const end = encodeMessageInto(frames, from, this.stage, this.staged);
      if (end >= 0) {
        this.outBytes += end - this.staged;
        this.staged = end;
        return this.schedule();
      }
    }
    this.unstage();
    this.outBytes += this.mechanism.box(frames, from, this.out);
    this.schedule();
  }

  /** Hand what is staged over to `out` (the stage goes with it), before something is queued there. */
  private unstage(): void {
    if (this.staged === 0 || this.stage === undefined) return;
    this.out.push(this.stage.subarray(0, this.staged));
    this.stage = undefined;
    this.staged = 0;
  }

  /**
   * Write what is queued now: joined into one buffer when small (one write, where a corked socket would
   * keep a request per buffer and hand the kernel a vector of them), else as they are.
   */
  flush(): void {
    this.flushing = false;
    if (this.phase === 'closed') return;
    if (this.staged > 0 && this.stage !== undefined) {
      const bytes = this.stage.subarray(0, this.staged);
      this.staged = 0;
      this.outBytes = 0;
      this.stream.write(bytes);
      // Written whole at once, the stage is free again; else the socket holds it until it is written.
      if (this.stream.writableLength !== 0) this.stage = undefined;
      return;
    }
    if (this.out.length === 0) return;
    const out = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (out.length === 1) this.stream.write(out[0]);
    else if (bytes <= JOIN_BELOW) this.stream.write(Buffer.concat(out));
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

  /** FrameSink: the peer's greeting must name our mechanism. */
  greeting(g: Buffer): boolean {
    if (greetingMechanism(g) !== this.mechanism.name) return this.fail();
    this.phase = 'handshake';
    return true;
  }

  /** FrameSink: one frame, a command or part of a message. */
  frame(flags: number, buf: Buffer, start: number, end: number): boolean {
    if (this.unbox !== undefined && this.phase === 'ready') return this.unboxed(this.unbox(buf, start, end));
    if (flags & COMMAND)
      return this.command(this.transient ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end));
    if (this.phase !== 'ready') return this.fail();
    let frame = end === start ? EMPTY_FRAME : this.knownFrame(buf, start, end);
    if (frame !== undefined) return this.take(flags, frame);
    if (end - start <= RECEIVE_COPY_BELOW && this.o.views !== true) {
      frame = Buffer.allocUnsafe(end - start);
      buf.copy(frame, 0, start, end);
    } else {
      frame = buf.subarray(start, end);
    }
    return this.take(flags, frame);
  }

  /** The frame of `known` with bytes [start, end) of `buf`, if there is one. */
  private knownFrame(buf: Buffer, start: number, end: number): Buffer | undefined {
    if (end - start > this.knownMax) return undefined;
    for (const k of this.o.known ?? NONE_KNOWN) {
      if (k.length !== end - start) continue;
      let i = 0;
      while (i < k.length && k[i] === buf[start + i]) i++;
      if (i === k.length) return k;
    }
    return undefined;
  }

  /** FrameSink: a framing violation. */
  violation(): void {
    this.fail();
  }

  private schedule(): void {
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private onClosed(): void {
    if (this.phase === 'closed') return;
    const handshaken = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.parser.clear();
    this.out = [];
    this.staged = 0;
    this.o.onClose(this, handshaken);
  }

  /**
   * Bytes read from the stream: a 'data' chunk, or with `transient` a read into the buffer the
   * socket reuses for every read (`onread`, lib/bus/zmtp.ts DealerSocket), only valid during this call.
   */
  receive(chunk: Buffer, transient = false): void {
    if (this.gone()) return;
    this.transient = transient;
    this.parser.push(chunk, transient);
    // A message cut by the end of the read: its frames so far are kept until its last one
    // arrives, by when the next read has written over them; they are copied now.
    if (transient && this.message.length > 0) {
      const m = this.message;
      for (let i = 0; i < m.length; i++) if (m[i].buffer === chunk.buffer) m[i] = Buffer.from(m[i]);
    }
  }

  /** Add a frame to the message being received; the last one (no MORE) delivers it. False: stop reading. */
  private take(flags: number, frame: Buffer): boolean {
    if (this.message.length === 0 && this.lead !== undefined) this.message.push(this.lead);
    this.message.push(frame);
    if (this.message.length > (this.lead === undefined ? MAX_FRAMES : MAX_FRAMES + 1)) return this.fail();
    if ((flags & MORE) !== 0) return true;
    const message = this.message;
    this.message = [];
    this.o.onMessage(this, message);
    return !this.gone();
  }

  /** A frame the mechanism opened (or could not open). */
  private unboxed(frame: Unboxed | undefined): boolean {
    if (frame === undefined) return this.fail();
    return frame.flags & COMMAND ? this.command(frame.body) : this.take(frame.flags, frame.body);
  }

  /** A command: name length, name, data (RFC 23 §"Commands"). False: stop reading. */
  private command(body: Buffer): boolean {
    const nameLength = body[0] ?? 0;
    const name = body.toString('latin1', 1, 1 + nameLength);
    const data = body.subarray(1 + nameLength);
    if (this.phase === 'handshake') this.handshake(name, data);
    // ZMTP 3.1 heartbeat: PONG carries the ping's context (after its 2-byte TTL). It is queued
    // like a message, so that a mechanism that numbers what it sends sees the order it is written in.
    else if (name === 'PING') this.queue(this.mechanism.boxCommand('PONG', data.subarray(2)));
    else if (name === 'ERROR') this.fail();
    // Other commands (PONG, SUBSCRIBE, …) mean nothing to these socket types.
    return !this.gone();
  }

  private handshake(name: string, data: Buffer): void {
    const step = this.mechanism.handshake(name, data);
    if (step === undefined) return void this.fail();
    if (step.close === true) {
      // The reply (CURVE's ERROR) leaves before the stream closes; nothing more is read.
      this.dead = true;
      this.stream.end(step.reply ?? Buffer.alloc(0));
      return;
    }
    if (step.reply !== undefined) this.stream.write(step.reply);
    const peer = step.peer;
    if (peer === undefined) return;
    const type = peer.get('socket-type')?.toString('latin1');
    if (type === undefined || !COMPATIBLE[this.o.type].includes(type)) return void this.fail();
    this.phase = 'ready';
    this.peerKey = step.peerKey;
    clearTimeout(this.timer);
    if (!this.o.onReady(this, peer.get('identity') ?? Buffer.alloc(0))) this.fail();
  }

  private queue(bytes: Buffer): void {
    this.unstage();
    this.out.push(bytes);
    this.outBytes += bytes.length;
    this.schedule();
  }

  /** Closed, possibly by a callback just run (TypeScript cannot see that through the call). */
  private gone(): boolean {
    return this.dead || this.phase === 'closed';
  }

  /** A protocol violation: cut the connection ('close' then reports it) and stop reading. */
  private fail(): false {
    this.dead = true;
    this.destroy();
    return false;
  }
}
