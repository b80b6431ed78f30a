/**
 * Calls to the /v1 API of a running gateway, for integration tests: one HTTP call with a
 * deadline, the Cliquet error body asserted, a logon.
 */
import assert from 'node:assert/strict';

export type Json = Record<string, unknown>;

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
  /** The record of a one-record answer, the `data` of `{data: {…}, permissions}`; else `{}`. */
  rec: Json;
}

/** The record of a one-record body (docs/API-V1.md "Records"), or `{}` for any other body. */
export function recordOf(body: unknown): Json {
  if (body === null || typeof body !== 'object' || !('permissions' in body) || !('data' in body)) return {};
  const { data } = body as { data: unknown };
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Json) : {};
}

const ERROR_KEYS = new Set(['code', 'errno', 'error', 'message', 'info', 'details']);

/** One HTTP call; an object body is sent as JSON. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { key?: number; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(path.startsWith('http') ? path : base + path, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed, text, rec: recordOf(parsed) };
}

/** Assert the Cliquet error body: status, errno, only the documented keys, no stack. */
export function assertError(answer: Answer, status: number, errno: number, what: string): Json {
  assert.equal(answer.status, status, `${what}: ${answer.text}`);
  const body = answer.body as Json;
  assert.equal(body.code, status, what);
  assert.equal(body.errno, errno, `${what}: ${answer.text}`);
  assert.equal(typeof body.error, 'string', what);
  assert.equal(typeof body.message, 'string', what);
  for (const key of Object.keys(body)) assert.ok(ERROR_KEYS.has(key), `${what}: unexpected key ${key}`);
  assert.doesNotMatch(answer.text, /\n\s+at |\.js:\d+|"stack"|FST_ERR/, what);
  assert.match(String(answer.headers.get('content-type')), /^application\/json/, what);
  return body;
}

/** Log on through POST /v1/sessions; the session key. */
export async function logon(base: string, username: string): Promise<number> {
  const res = await call(base, 'POST', '/v1/sessions', { body: { username, password: `pw-${username}` } });
  assert.equal(res.status, 201, res.text);
  const key = (res.body as Json).session;
  assert.ok(typeof key === 'number' && Number.isSafeInteger(key) && key > 0);
  return key;
}
