/**
 * An HTTP/1.1 response parser for the proxy's connections to its targets (RFC 9112): the
 * status line and header fields, then the body framed by Content-Length, chunked coding or
 * the end of the connection (§6.3). It hands on what a proxy forwards: the end-to-end
 * header fields, hop-by-hop ones removed (RFC 9110 §7.6.1), and the body's bytes as they
 * arrive, never the whole body. Requests go out with the proxy's own code (upstream.ts);
 * anything malformed ends the exchange with `fail`, and the connection is not reused.
 */

/** Largest status line and header section accepted from a target. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (with its extensions) and largest trailer section. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 64 * 1024;

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Header fields that concern one connection only, never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface ResponseHead {
  status: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  /** End-to-end header fields as `[name, value, name, value, …]`, in their order and spelling. */
  headers: string[];
  /** The target keeps the connection open after this response. */
  keepAlive: boolean;
  /** The target's `Keep-Alive: timeout=` in ms, when it said one. */
  keepAliveMs: number | undefined;
  /** The target answered an `X-Request-Id` of its own. */
  requestId: boolean;
}

/** Where a parser delivers a response. */
export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** A piece of the body (chunked coding removed); valid only during the call's turn unless copied or written. */
  onBody(chunk: Buffer): void;
  /**
   * The response is complete; `reusable`: the connection may carry another request. `last`: the
   * body's last piece, when it came with the end (a Content-Length body), so that it can be
   * written with the end in one go.
   */
  onEnd(reusable: boolean, last?: Buffer): void;
  /** The target broke the protocol; the connection must be closed. */
  onFail(reason: string): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
  Failed,
}

/** Parses one response at a time from a connection's bytes; `begin` before each request's response. */
export class ResponseParser {
  private state = State.Done;
  private noBody = false;
  private keepAlive = false;
  private remaining = 0;
  /** Bytes of an unfinished head, size line or trailer section. */
  private pending: Buffer | undefined;
  private trailerBytes = 0;

  constructor(private readonly sink: ResponseSink) {}

  /** Expect the response to a request; `noBody` for HEAD, whose response has none whatever its fields say. */
  begin(noBody: boolean): void {
    this.state = State.Head;
    this.noBody = noBody;
    this.pending = undefined;
  }

  /** Whether a response is being read (begun and neither ended nor failed). */
  get busy(): boolean {
    return this.state !== State.Done && this.state !== State.Failed;
  }

  /** Feed bytes read from the connection. */
  push(chunk: Buffer): void {
    let rest: Buffer | undefined = chunk;
    while (rest !== undefined && rest.length > 0) {
      switch (this.state) {
        case State.Head:
          rest = this.head(rest);
          break;
        case State.Length:
          rest = this.length(rest);
          break;
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers:
          rest = this.chunkLine(rest);
          break;
        case State.ChunkData:
          rest = this.chunkData(rest);
          break;
        case State.UntilClose:
          this.sink.onBody(rest);
          rest = undefined;
          break;
        case State.Done:
          // Bytes nobody asked for: the connection cannot be trusted with another request.
          return this.fail('bytes after the end of the response');
        case State.Failed:
          return;
      }
    }
  }

  /** The connection ended: ends a body delimited by the close, fails anything else unfinished. */
  eof(): void {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.sink.onEnd(false);
    } else if (this.busy) {
      this.fail(
        this.state === State.Head ? 'closed the connection before answering' : 'closed the connection mid-body',
      );
    }
  }

  private fail(reason: string): void {
    this.state = State.Failed;
    this.pending = undefined;
    this.sink.onFail(reason);
  }

  /** The response is complete; bytes after it (`rest`) mean the target broke framing: not reusable. */
  private end(rest: Buffer, last?: Buffer): undefined {
    this.state = State.Done;
    this.sink.onEnd(this.keepAlive && rest.length === 0, last);
    return undefined;
  }

  /** Stop reading the current response without a word to the sink (the exchange was given up). */
  abort(): void {
    this.state = State.Failed;
    this.pending = undefined;
  }

  private head(chunk: Buffer): Buffer | undefined {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    // A head split across reads: search again from where the separator could start.
    const from = this.pending === undefined ? 0 : Math.max(0, this.pending.length - 3);
    const at = data.indexOf(CRLF_CRLF, from);
    if (at < 0) {
      if (data.length > MAX_HEAD_BYTES) return void this.fail(`a header section over ${MAX_HEAD_BYTES} bytes`);
      this.pending = data;
      return undefined;
    }
    this.pending = undefined;
    if (at > MAX_HEAD_BYTES) return void this.fail(`a header section over ${MAX_HEAD_BYTES} bytes`);
    const rest = data.subarray(at + 4);
    const framing = parseHead(data.toString('latin1', 0, at));
    if (typeof framing === 'string') return void this.fail(framing);
    if (framing.head.status < 200) {
      // 1xx interim responses (100 Continue, 103 Early Hints) precede the final one; 101 needs an upgrade.
      if (framing.head.status === 101) return void this.fail('101 Switching Protocols to a request without Upgrade');
      return rest;
    }
    this.keepAlive = framing.head.keepAlive;
    this.sink.onHead(framing.head);
    if (this.state !== State.Head) return undefined; // the sink gave up on this response
    const status = framing.head.status;
    if (this.noBody || status === 204 || status === 304) return this.end(rest);
    if (framing.chunked) {
      this.state = State.ChunkSize;
    } else if (framing.length !== undefined) {
      this.remaining = framing.length;
      if (this.remaining === 0) return this.end(rest);
      this.state = State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
    return rest;
  }

  private length(chunk: Buffer): Buffer | undefined {
    if (chunk.length < this.remaining) {
      this.remaining -= chunk.length;
      this.sink.onBody(chunk);
      return undefined;
    }
    const n = this.remaining;
    if (n === chunk.length) return this.end(EMPTY, chunk);
    return this.end(chunk.subarray(n), chunk.subarray(0, n));
  }

  private chunkData(chunk: Buffer): Buffer | undefined {
    if (chunk.length <= this.remaining) {
      this.remaining -= chunk.length;
      this.sink.onBody(chunk);
      if (this.remaining === 0) this.state = State.ChunkDataEnd;
      return undefined;
    }
    const n = this.remaining;
    this.sink.onBody(chunk.subarray(0, n));
    this.state = State.ChunkDataEnd;
    return chunk.subarray(n);
  }

  /** A line of the chunked coding: a chunk size, the CRLF after a chunk's data, or a trailer field. */
  private chunkLine(chunk: Buffer): Buffer | undefined {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    const lf = data.indexOf(10);
    if (lf < 0) {
      if (data.length > MAX_LINE_BYTES) return void this.fail('a chunk line too long');
      this.pending = data;
      return undefined;
    }
    this.pending = undefined;
    if (lf === 0 || data[lf - 1] !== 13) return void this.fail('a chunk line not ended by CRLF');
    const line = data.toString('latin1', 0, lf - 1);
    const rest = data.subarray(lf + 1);
    if (this.state === State.ChunkDataEnd) {
      if (line !== '') return void this.fail('chunk data longer than its size');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const size = chunkSize(line);
      if (size === undefined) return void this.fail('a malformed chunk size');
      if (size === 0) {
        this.state = State.Trailers;
        this.trailerBytes = 0;
      } else {
        this.remaining = size;
        this.state = State.ChunkData;
      }
    } else {
      // Trailer fields are dropped (nothing downstream declared them); an empty line ends the message.
      if (line === '') return this.end(rest);
      this.trailerBytes += lf + 1;
      if (this.trailerBytes > MAX_TRAILER_BYTES) return void this.fail('a trailer section too large');
    }
    return rest;
  }
}

/** The size of a chunk-size line (extensions ignored), or undefined when it is not one. */
function chunkSize(line: string): number | undefined {
  const semi = line.indexOf(';');
  const hex = (semi < 0 ? line : line.slice(0, semi)).trimEnd();
  if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return undefined;
  return parseInt(hex, 16);
}

interface Framing {
  head: ResponseHead;
  chunked: boolean;
  length: number | undefined;
}

/** Lengths of the field names parseHead must recognise; others are copied without lower-casing. */
const SPECIAL_LENGTHS = new Set([2, 7, 10, 12, 14, 16, 17, 18, 19]);

/** What the fields of a head say about framing and the connection. */
interface Fields {
  headers: string[];
  connection: string;
  keepAliveMs: number | undefined;
  length: number | undefined;
  transferEncoding: string | undefined;
  requestId: boolean;
}

/** Parse a status line and header section (CRLF-separated, without the final empty line). */
export function parseHead(text: string): Framing | string {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  // HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112 §4); the SP before an empty reason may be missing.
  const minor = text.charCodeAt(7);
  const status = Number(text.slice(9, 12));
  if (
    !text.startsWith('HTTP/1.') ||
    (minor !== 48 && minor !== 49) ||
    text.charCodeAt(8) !== 32 ||
    eol < 12 ||
    !(status >= 100 && status <= 599) ||
    !/^\d{3}$/.test(text.slice(9, 12)) ||
    (eol > 12 && text.charCodeAt(12) !== 32)
  )
    return `a malformed status line ${JSON.stringify(text.slice(0, Math.min(eol, 40)))}`;
  const reason = eol > 13 ? text.slice(13, eol) : '';
  const f = parseFields(text, eol + 2);
  if (typeof f === 'string') return f;
  const tokens = f.connection === '' ? [] : f.connection.split(',').map((t) => t.trim());
  let keepAlive = minor === 49 ? !tokens.includes('close') : tokens.includes('keep-alive');
  let chunked = false;
  let length = f.length;
  if (f.transferEncoding !== undefined) {
    // Transfer-Encoding overrides Content-Length, and such a connection is closed after (RFC 9112 §6.3).
    const codings = f.transferEncoding.toLowerCase().split(',');
    chunked = codings[codings.length - 1].trim() === 'chunked';
    if (length !== undefined || !chunked) keepAlive = false;
    length = undefined;
    removeField(f.headers, 'content-length');
  }
  // Fields the Connection header names are hop-by-hop too (RFC 9110 §7.6.1).
  for (const token of tokens)
    if (token !== 'close' && token !== 'keep-alive' && token !== '') removeField(f.headers, token);
  const head = { status, reason, headers: f.headers, keepAlive, keepAliveMs: f.keepAliveMs, requestId: f.requestId };
  return { head, chunked, length };
}

/** The header fields from `pos` on, one per CRLF-ended line. */
function parseFields(text: string, pos: number): Fields | string {
  const f: Fields = {
    headers: [],
    connection: '',
    keepAliveMs: undefined,
    length: undefined,
    transferEncoding: undefined,
    requestId: false,
  };
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    // No whitespace at the start of a line or before the colon: obsolete line folding and "Name :" are
    // refused (RFC 9112 §5.1); node checks the rest of the field grammar when the head is written on.
    if (colon <= pos || colon > end || isSpace(text.charCodeAt(pos)) || isSpace(text.charCodeAt(colon - 1)))
      return `a malformed header line ${JSON.stringify(text.slice(pos, Math.min(end, pos + 40)))}`;
    let from = colon + 1;
    let to = end;
    while (from < to && isSpace(text.charCodeAt(from))) from++;
    while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
    const name = text.slice(pos, colon);
    const value = text.slice(from, to);
    pos = end + 2;
    if (!SPECIAL_LENGTHS.has(name.length)) {
      f.headers.push(name, value);
      continue;
    }
    const problem = special(f, name.toLowerCase(), name, value);
    if (problem !== undefined) return problem;
  }
  return f;
}

/** A field parseHead may have to act on (framing, connection, request id, hop-by-hop). */
function special(f: Fields, lower: string, name: string, value: string): string | undefined {
  if (lower === 'content-length') {
    const n = contentLength(value);
    if (n === undefined || (f.length !== undefined && f.length !== n)) return 'an invalid Content-Length';
    f.length = n;
  } else if (lower === 'transfer-encoding') {
    f.transferEncoding = f.transferEncoding === undefined ? value : `${f.transferEncoding}, ${value}`;
  } else if (lower === 'connection') {
    f.connection = f.connection === '' ? value.toLowerCase() : `${f.connection}, ${value.toLowerCase()}`;
  } else if (lower === 'keep-alive') {
    const m = /(?:^|[,;\s])timeout\s*=\s*(\d{1,6})/i.exec(value);
    if (m !== null) f.keepAliveMs = Number(m[1]) * 1000;
  } else if (lower === 'x-request-id') {
    f.requestId = true;
  }
  if (!HOP_BY_HOP.has(lower)) f.headers.push(name, value);
  return undefined;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function contentLength(value: string): number | undefined {
  // Repeated values in one field ("42, 42") are accepted when they agree (RFC 9110 §8.6).
  const parts = value.split(',');
  let n: number | undefined;
  for (const part of parts) {
    const p = part.trim();
    if (!/^\d{1,15}$/.test(p)) return undefined;
    const v = Number(p);
    if (n !== undefined && v !== n) return undefined;
    n = v;
  }
  return n;
}

/** Remove every field named `lower` (any case) from a flat `[name, value, …]` list. */
function removeField(headers: string[], lower: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i].toLowerCase() === lower) headers.splice(i, 2);
}
