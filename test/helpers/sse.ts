/**
 * A Server-Sent Events reader for tests: opens a stream on its own connection (node:http, so
 * that `close()` closes the socket at once), parses its events and hands them out in order.
 */
import http from 'node:http';
export interface SseEvent {
  /** `message` unless the event names another. */
  event: string;
  id?: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The body, when the answer is not a stream (an error). */
  text?: string;
  /** The next event (comments skipped), or a rejection after `ms` or when the stream ends. */
  next(ms?: number): Promise<SseEvent>;
  /** Resolves when the server has ended the stream. */
  ended: Promise<void>;
  /** Comments (heartbeats) seen so far. */
  comments: number;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  let req!: http.ClientRequest;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
  });
  req.on('error', () => undefined);
  const queue: SseEvent[] = [];
  const waiting: Array<() => void> = [];
  let done = false;
  let endedResolve!: () => void;
  const ended = new Promise<void>((resolve) => (endedResolve = resolve));
  const stream: SseStream = {
    status: res.statusCode ?? 0,
    headers: new Headers(
      Object.entries(res.headers).flatMap(([k, v]): Array<[string, string]> =>
        v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v]],
      ),
    ),
    comments: 0,
    ended,
    close: () => req.destroy(),
    next: async (ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (queue.length === 0) {
        if (done) throw new Error('the stream ended');
        if (Date.now() >= deadline) throw new Error(`no event within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return queue.shift()!;
    },
  };
  if (!(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    res.setEncoding('utf8');
    let text = '';
    for await (const chunk of res) text += String(chunk);
    stream.text = text;
    done = true;
    endedResolve();
    return stream;
  }
  const wake = (): void => waiting.splice(0).forEach((w) => w());
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              stream.comments++;
              continue;
            }
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (name === 'data') data.push(value);
            else if (name === 'id') event.id = value;
            else if (name === 'event') event.event = value;
            else continue;
            fields++;
          }
          if (fields === 0) continue;
          event.data = data.join('\n');
          queue.push(event);
          wake();
        }
      }
    } catch {
      // Aborted by close(), or the connection broke: the stream is over either way.
    }
    done = true;
    endedResolve();
    wake();
  })();
  return stream;
}
