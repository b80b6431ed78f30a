/**
 * The console's calls to the gateway: the /v1 API with the session key as a Bearer token, every
 * failure turned into an ApiError whose text is the error body's `message` (docs/ERRORS.md),
 * and the message stream read with fetch (an EventSource cannot send Authorization).
 */

export type Json = Record<string, unknown>;

/** A failed call: `message` is what the gateway said, in words. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errno?: number,
  ) {
    super(message);
  }
}

const KEY = 'agora.session';

/** The session key of this tab, if signed in. */
export function sessionKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setSession(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

/** The error a failed answer carries, in the words of its body (or of its status). */
async function failure(res: Response): Promise<ApiError> {
  let body: Json = {};
  try {
    body = (await res.json()) as Json;
  } catch {
    // Not the error body (a proxy's page, a cut connection): the status says what it can.
  }
  const message =
    typeof body.message === 'string' && body.message !== ''
      ? body.message
      : `The gateway answered ${res.status} ${res.statusText}`.trim();
  return new ApiError(message, res.status, typeof body.errno === 'number' ? body.errno : undefined);
}

/** One JSON call; answers the parsed body (null for none), or throws ApiError. */
export async function api(method: string, path: string, body?: unknown): Promise<Json | null> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = sessionKey();
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError('The gateway cannot be reached; check the connection and try again', 0);
  }
  if (!res.ok && res.status !== 304) throw await failure(res);
  const text = await res.text();
  return text === '' ? null : (JSON.parse(text) as Json);
}

/** What a message stream tells its reader. */
export interface StreamHandlers {
  message(m: { messageid: number; username: string; message: string }): void;
  /** The stream is over for good (its session ended, a refusal): the error in words. */
  ended(err: ApiError): void;
  /** Connected (again); `reconnecting` while a dropped stream waits to reconnect. */
  state(state: 'live' | 'reconnecting'): void;
}

/**
 * Follow GET /v1/channels/{name}/messages/stream from after message `after`, reconnecting with
 * Last-Event-ID when the connection drops; answers the stop.
 */
export function follow(channel: string, after: number, handlers: StreamHandlers): () => void {
  let stopped = false;
  let last = after;
  let abort: AbortController | undefined;
  const url = `/v1/channels/${encodeURIComponent(channel)}/messages/stream`;
  const run = async (): Promise<void> => {
    while (!stopped) {
      abort = new AbortController();
      try {
        const res = await fetch(url, {
          headers: {
            accept: 'text/event-stream',
            authorization: `Bearer ${sessionKey() ?? ''}`,
            'last-event-id': String(last),
          },
          signal: abort.signal,
        });
        if (!res.ok || res.body === null) return handlers.ended(await failure(res));
        handlers.state('live');
        const over = await read(res.body, (event, id, data) => {
          if (event === 'end') {
            const body = JSON.parse(data) as Json;
            handlers.ended(new ApiError(String(body.message), Number(body.code), Number(body.errno)));
            return true;
          }
          if (id !== undefined) last = Number(id);
          handlers.message(JSON.parse(data) as { messageid: number; username: string; message: string });
          return false;
        });
        if (over) return;
      } catch {
        if (stopped) return;
      }
      handlers.state('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    abort?.abort();
  };
}

/** Read SSE events until the body ends or `onEvent` answers true (then: true). */
async function read(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, id: string | undefined, data: string) => boolean,
): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event = text;
        else if (name === 'id') id = text;
        else if (name === 'data') data.push(text);
      }
      if (data.length > 0 && onEvent(event, id, data.join('\n'))) {
        await reader.cancel();
        return true;
      }
    }
  }
}
