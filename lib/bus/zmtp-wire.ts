/**
 * The ZMTP 3.0 wire (ZeroMQ RFC 23), with no socket and no state but the parser's: the
 * 64-byte greeting, command frames, message frames, and an
 * incremental parser that hands each complete frame to its sink where it lies in the read
 * chunk. One connection (lib/bus/zmtp-connection.ts) drives it; a security mechanism
 * (lib/bus/zmtp-mechanism.ts) encodes its commands and messages with it.
 */

/** One message: its frames, in order. */
export type Frames = Buffer[];

export const GREETING_BYTES = 64;
/** Frame flags (RFC 23 §"Framing"). */
export const MORE = 0x01;
export const LONG = 0x02;
export const COMMAND = 0x04;
/** Frames up to this size are copied into the one buffer of their message's headers when sent. */
const COPY_BELOW = 4096;

/** A greeting: signature, version 3.0, the mechanism's name padded to 20 bytes, as-server, filler. */
export function encodeGreeting(mechanism: string, asServer: boolean): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff; // signature: 0xFF, 8 bytes of padding, 0x7F
  g[9] = 0x7f;
  g[10] = 3; // version 3.0
  g[11] = 0;
  g.write(mechanism, 12, 20, 'latin1'); // mechanism, padded with zeros to 20 bytes
  g[32] = asServer ? 1 : 0;
  return g; // the filler: zeros
}

/** The mechanism a peer's greeting names, or undefined when the greeting is not ZMTP 3.0 or later. */
export function greetingMechanism(g: Buffer): string | undefined {
  // Signature 0xFF…0x7F (bit 0 of byte 9 set), major version 3 or later.
  if (g[0] !== 0xff || (g[9] & 1) !== 1 || g[10] < 3) return undefined;
  return g.toString('latin1', 12, 32).replace(/\0+$/, '');
}

function frameHeader(flags: number, size: number): Buffer {
  if (size <= 255) return Buffer.from([flags, size]);
  const h = Buffer.allocUnsafe(9);
  h[0] = flags | LONG;
  h.writeBigUInt64BE(BigInt(size), 1);
  return h;
}

/** A command frame: name length, name, then data (RFC 23 §"Commands"). */
export function encodeCommand(name: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), data]);
  return Buffer.concat([frameHeader(COMMAND, body.length), body]);
}

/**
 * Encode one message, `frames` from index `from`, into `out` as plain message frames: headers
 * and small frames copied into one buffer, large frames by reference. Answers the bytes it adds.
 */
export function encodeMessage(frames: Frames, from: number, out: Buffer[]): number {
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
    at = writeFrameHeader(head, at, f.length, i < frames.length - 1);
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

/** A message frame's flags and size (RFC 23 §"Framing": short under 256 bytes, else long) into `buf` at `at`. */
function writeFrameHeader(buf: Buffer, at: number, length: number, more: boolean): number {
  const flags = more ? MORE : 0;
  if (length <= 255) {
    buf[at] = flags;
    buf[at + 1] = length;
    return at + 2;
  }
  buf[at] = flags | LONG;
  buf.writeUInt32BE(0, at + 1);
  buf.writeUInt32BE(length, at + 5);
  return at + 9;
}

/**
 * Encode one message, `frames` from index `from`, as plain message frames into `buf` from `at`:
 * answers where it ends, or -1 (nothing written) when it does not fit or holds a frame over
 * COPY_BELOW, which `encodeMessage` sends by reference instead.
 */
export function encodeMessageInto(frames: Frames, from: number, buf: Buffer, at: number): number {
  let end = at;
  for (let i = from; i < frames.length; i++) {
    const n = frames[i].length;
    if (n > COPY_BELOW) return -1;
    end += (n <= 255 ? 2 : 9) + n;
  }
  if (end > buf.length) return -1;
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    at = writeFrameHeader(buf, at, f.length, i < frames.length - 1);
    // Most frames are a few bytes (delimiters, headers, routing ids): a loop costs less than a native copy.
    if (f.length <= 16) for (let j = 0; j < f.length; j++) buf[at++] = f[j];
    else at += f.copy(buf, at);
  }
  return at;
}

/** Where a FrameParser hands what it reads (one connection: lib/bus/zmtp-connection.ts). */
export interface FrameSink {
  /** The peer's greeting (the buffer's first GREETING_BYTES bytes); false: stop reading. */
  greeting(g: Buffer): boolean;
  /**
   * One complete frame: its flags, and its body from `start` to `end` in `buf`, which is the
   * read chunk (possibly one the next read writes over, see `push`): copy what must outlive the
   * call. False: stop reading (the connection is gone).
   */
  frame(flags: number, buf: Buffer, start: number, end: number): boolean;
  /** The peer broke the framing (a frame over the size limit, an unknown flag): reading stops. */
  violation(): void;
}

/**
 * The incremental parser: chunks in as they are read, the greeting then every complete frame
 * out to the sink, in place. It keeps only the unparsed tail and joins chunks only once they
 * hold what the next step needs.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before parsing can make progress. */
  private need = GREETING_BYTES;
  private greeted = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly sink: FrameSink,
  ) {}

  /**
   * Take one chunk read from the stream. A `transient` chunk lies in a buffer the next read writes
   * over (a socket reading with `onread`): what is kept of it once this call returns, the unparsed
   * tail, is copied, and the sink is handed frames that are only valid during its call.
   */
  push(chunk: Buffer, transient = false): void {
    this.buffered += chunk.length;
    if (this.buffered < this.need) {
      this.chunks.push(transient ? Buffer.from(chunk) : chunk);
      return;
    }
    this.chunks.push(chunk);
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let at = 0;
    if (!this.greeted) {
      if (!this.sink.greeting(buf)) return this.clear();
      this.greeted = true;
      at = GREETING_BYTES;
    }
    at = this.parse(buf, at);
    if (at < 0) return this.clear();
    const rest = buf.length - at;
    this.chunks = rest === 0 ? [] : [transient && buf === chunk ? Buffer.from(buf.subarray(at)) : buf.subarray(at)];
    this.buffered = rest;
  }

  /** Drop what is buffered (the stream closed). */
  clear(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  /** Parse every complete frame from `from`; answers where the unparsed rest starts, or -1 once stopped. */
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
        if (buf.readUInt32BE(at + 1) !== 0) return this.violation();
        size = buf.readUInt32BE(at + 5);
        head = 9;
      } else {
        size = buf[at + 1];
        head = 2;
      }
      if (size > this.maxFrameBytes || (flags & ~(MORE | LONG | COMMAND)) !== 0) return this.violation();
      if (n - at < head + size) {
        this.need = head + size;
        return at;
      }
      const start = at + head;
      at = start + size;
      if (!this.sink.frame(flags, buf, start, at)) return -1;
    }
  }

  private violation(): number {
    this.sink.violation();
    return -1;
  }
}
