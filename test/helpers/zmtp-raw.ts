/**
 * ZMTP 3.0 by hand over one stream socket (ZeroMQ RFC 23 "The greeting", "Framing"), enough to
 * drive a security mechanism's state machine against a real peer in tests: write a greeting
 * naming any mechanism, read the peer's, then write and await frames one at a time.
 */
import assert from 'node:assert/strict';
import net from 'node:net';

const GREETING_BYTES = 64;
/** Frame flags (RFC 23 "Framing"). */
export const MORE = 0x01;
const LONG = 0x02;
export const COMMAND = 0x04;

export interface RawFrame {
  flags: number;
  body: Buffer;
}

export interface Greeting {
  major: number;
  mechanism: string;
  asServer: boolean;
}

/** A 64-byte ZMTP 3.0 greeting for `mechanism`. */
export function greeting(mechanism: string, asServer: boolean): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.write(mechanism, 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

/** One frame's bytes: short or long header, then the body. */
export function frameBytes(flags: number, body: Buffer): Buffer {
  if (body.length <= 255) return Buffer.concat([Buffer.from([flags, body.length]), body]);
  const head = Buffer.alloc(9);
  head[0] = flags | LONG;
  head.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([head, body]);
}

/** What arrives on a socket, parsed into a greeting and then frames, each awaited with a deadline. */
export class RawZmtp {
  private pending = Buffer.alloc(0);
  private peerGreeting: Greeting | undefined;
  private readonly frames: RawFrame[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  /** Resolves when the peer (or we) closed the socket. */
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  /** Connect to `tcp://host:port`. */
  static async connect(endpoint: string): Promise<RawZmtp> {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
    assert.ok(m !== null, `not a tcp endpoint: ${endpoint}`);
    const socket = net.connect(Number(m[2]), m[1]);
    const raw = new RawZmtp(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return raw;
  }

  send(flags: number, body: Buffer): void {
    this.socket.write(frameBytes(flags, body));
  }

  command(body: Buffer): void {
    this.send(COMMAND, body);
  }

  /** The peer's greeting, once its 64 bytes are in. */
  async greeting(ms = 5000): Promise<Greeting> {
    await this.until(() => this.peerGreeting !== undefined, 'greeting', ms);
    return this.peerGreeting as Greeting;
  }

  /** The next frame; rejects when the socket closes first or after `ms`. */
  async next(ms = 5000): Promise<RawFrame> {
    await this.until(() => this.frames.length > 0, 'frame', ms);
    return this.frames.shift() as RawFrame;
  }

  close(): void {
    this.socket.destroy();
  }

  private async until(ok: () => boolean, what: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (this.ended) throw new Error(`connection closed before a ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} in ${ms} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.wake = undefined;
    }
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.peerGreeting === undefined) {
      if (this.pending.length < GREETING_BYTES) return;
      const g = this.pending.subarray(0, GREETING_BYTES);
      assert.ok(g[0] === 0xff && (g[9] & 1) === 1, 'a ZMTP signature');
      const mechanism = g.toString('latin1', 12, 32).replace(/\0+$/, '');
      this.peerGreeting = { major: g[10], mechanism, asServer: g[32] === 1 };
      this.pending = this.pending.subarray(GREETING_BYTES);
    }
    for (;;) {
      if (this.pending.length < 2) break;
      const flags = this.pending[0];
      const long = (flags & LONG) !== 0;
      const head = long ? 9 : 2;
      if (this.pending.length < head) break;
      const size = long ? Number(this.pending.readBigUInt64BE(1)) : this.pending[1];
      if (this.pending.length < head + size) break;
      this.frames.push({ flags: flags & ~LONG, body: Buffer.from(this.pending.subarray(head, head + size)) });
      this.pending = this.pending.subarray(head + size);
    }
    this.wake?.();
  }
}
