/**
 * The legacy messaging API (docs/API-LEGACY.md), byte for byte: POST only, data in a JSON
 * body, every answer `{"status": true|false, "data": …}`. Each route validates its body,
 * makes one bus call (service and method named as in proto/) with a deadline, and turns the
 * reply into the answer's `data`. Failures are thrown and rendered by
 * gateway/errors.ts. No business logic lives here.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { BusCaller, CallOptions } from '../../lib/bus/client';
import { unpack } from '../../lib/bus/codec';
import { AgoraError } from '../../lib/errors';
import { retrieveJson } from './retrieve-json';

export interface LegacyOptions {
  bus: BusCaller;
  /** Deadline of each bus call, from the moment the route calls. */
  timeoutMs: number;
}

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * JSON Schema of every body field (ajv runs without type coercion: `null`, `true` or `"1"`
 * are never silently turned into numbers). `sesskey` is also accepted as a canonical string
 * of digits ("123", not "0123" or " 123"), because some clients keep the key they were
 * given as text; it is turned into the number before the bus call.
 */
const FIELDS = {
  sesskey: {
    anyOf: [
      { type: 'integer', minimum: 1, maximum: SAFE },
      { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
    ],
  },
  username: { type: 'string' },
  password: { type: 'string' },
  channel: { type: 'string' },
  message: { type: 'string' },
  first: { type: 'integer', minimum: -SAFE, maximum: SAFE },
  last: { type: 'integer', minimum: -SAFE, maximum: SAFE },
} as const;

type Field = keyof typeof FIELDS;

/** Each field's rule as a client should read it in a failure. */
export const FIELD_RULES: Readonly<Record<Field, string>> = {
  sesskey: 'the numeric session key that /logon answered (an integer from 1 to 9007199254740991)',
  username: 'a string',
  password: 'a string',
  channel: 'a string (the channel name)',
  message: 'a string (the message text)',
  first: 'an integer message id (from -9007199254740991 to 9007199254740991)',
  last: 'an integer message id (from -9007199254740991 to 9007199254740991)',
};

type Reply = Record<string, unknown>;

interface LegacyRoute {
  path: string;
  service: 'Auth' | 'Channels' | 'Messages';
  method: string;
  fields: readonly Field[];
  /** The broker may retry the call on another worker if its worker dies (reads, idempotent writes). */
  idempotent: boolean;
  /** Logon passes the client's address to Auth, which throttles failed logons by it. */
  clientAddr?: boolean;
  /** The answer's `data` from the service's reply; `undefined` when the reply is malformed. */
  data(reply: Reply): unknown;
  /**
   * The whole answer as JSON text, the bytes `JSON.stringify({status: true, data})` writes, made straight
   * from the reply without the objects in between; `undefined` where only `data` can say (then it does).
   */
  json?(reply: Reply): string | undefined;
  /**
   * The whole answer's bytes made straight from the msgpack bytes of the service's result (the bus call reads
   * them with `readResult`); `undefined` where only the decoded result can say (then it is decoded, and
   * `json` or `data` say).
   */
  raw?(result: Uint8Array): Buffer | undefined;
}

/** The answer of every route whose `data` is `true`. */
const TRUE_ANSWER = '{"status":true,"data":true}';

/** The seven routes of the legacy messaging API and the proto method each one calls. */
export const LEGACY_ROUTES: readonly LegacyRoute[] = [
  {
    path: '/logon',
    service: 'Auth',
    method: 'Logon',
    fields: ['username', 'password'],
    idempotent: false,
    clientAddr: true,
    data: (r) => safeInt(r.sesskey),
  },
  {
    path: '/logoff',
    service: 'Auth',
    method: 'Logoff',
    fields: ['sesskey'],
    idempotent: false,
    data: () => true,
    json: () => TRUE_ANSWER,
  },
  {
    path: '/list',
    service: 'Channels',
    method: 'List',
    fields: ['sesskey'],
    idempotent: true,
    data: (r) => (Array.isArray(r.channels) ? r.channels : undefined),
  },
  {
    path: '/create',
    service: 'Channels',
    method: 'Create',
    fields: ['sesskey', 'channel'],
    idempotent: true,
    data: () => true,
    json: () => TRUE_ANSWER,
  },
  {
    path: '/post',
    service: 'Messages',
    method: 'Post',
    fields: ['sesskey', 'channel', 'message'],
    idempotent: false,
    data: () => true,
    json: () => TRUE_ANSWER,
  },
  {
    path: '/lastmessage',
    service: 'Messages',
    method: 'Last',
    fields: ['sesskey', 'channel'],
    idempotent: true,
    data: (r) => safeInt(r.messageid),
  },
  {
    path: '/retrieve',
    service: 'Messages',
    method: 'Retrieve',
    fields: ['sesskey', 'channel', 'first', 'last'],
    idempotent: true,
    data: (r) => messages(r.messages),
    json: (r) => messagesAnswer(r.messages),
    raw: retrieveJson,
  },
];

function safeInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** `[{messageid, username, message}, …]` in the key order of docs/API-LEGACY.md, nothing else. */
function messages(value: unknown): unknown[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((m: Reply) => ({ messageid: m.messageid, username: m.username, message: m.message }));
}

/**
 * The answer of `/retrieve` as `messages` would make it, written from the reply's messages as they are:
 * `undefined` (and `messages` decides) unless each is an object with a finite number `messageid` and
 * string `username` and `message`, where the text is provably JSON.stringify's (a finite number is
 * written as its String, which is what JSON.stringify writes).
 */
export function messagesAnswer(value: unknown): string | undefined {
  if (!Array.isArray(value)) return undefined;
  let out = '{"status":true,"data":[';
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    if (m === null || typeof m !== 'object') return undefined;
    const { messageid, username, message } = m as Reply;
    if (typeof messageid !== 'number' || !Number.isFinite(messageid)) return undefined;
    if (typeof username !== 'string' || typeof message !== 'string') return undefined;
    out += `${i === 0 ? '' : ','}{"messageid":${messageid},"username":${jsonString(username)},"message":${jsonString(message)}}`;
  }
  return `${out}]}`;
}

/** Any character JSON.stringify escapes: a control character, a quote, a backslash, a surrogate. */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\ud7ff\ue000-\uffff]/;

/** What JSON.stringify writes for a string, taking the short way when nothing in it needs escaping. */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function bodySchema(fields: readonly Field[]): Record<string, unknown> {
  return { type: 'object', required: [...fields], properties: Object.fromEntries(fields.map((f) => [f, FIELDS[f]])) };
}

/**
 * Read any body as JSON, whatever its Content-Type: legacy clients send none, text/plain or
 * form-encoded. A UTF-8 byte order mark is skipped; an empty body reads as no body.
 */
function parseJsonBody(
  _request: FastifyRequest,
  body: string | Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  let text = String(body);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Blank: nothing, or whitespace only (trim's whitespace is \s's: a body starting otherwise is not blank).
  if (text.length === 0 || (/^\s/.test(text) && text.trim() === '')) return done(null, undefined);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return done(new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [`the body is not valid JSON (${(e as Error).message})`]));
  }
  return done(null, parsed);
}

/** "sesskey is required: …" or "first must be …, got a string", from ajv's first error. */
export function describeValidation(errors: readonly FastifySchemaValidationError[], body: unknown): string {
  const first = errors[0];
  if (first === undefined) return 'the body is invalid';
  const missing = (first.params as { missingProperty?: unknown }).missingProperty;
  if (first.keyword === 'required' && typeof missing === 'string')
    return `${missing} is required: ${FIELD_RULES[missing as Field] ?? 'see the API'}`;
  const field = first.instancePath.split('/')[1];
  if (field === undefined || field === '') return `the body must be a JSON object, got ${kindOf(body)}`;
  const value = body !== null && typeof body === 'object' ? (body as Reply)[field] : undefined;
  return `${field} must be ${FIELD_RULES[field as Field] ?? 'valid'}, got ${kindOf(value)}`;
}

/** A short description of a JSON value that never echoes a long or secret text. */
function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : 'a number with a fraction';
  if (typeof value === 'string') return /^-?\d{1,20}$/.test(value) ? `the string "${value}"` : 'a string';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The bus request of a route: its fields, the sesskey as a number, the client address for Logon. */
function paramsOf(route: LegacyRoute, request: FastifyRequest): Reply {
  const body = request.body as Reply;
  const params: Reply = {};
  for (const field of route.fields) params[field] = body[field];
  if (typeof params.sesskey === 'string') {
    const key = Number(params.sesskey);
    if (!Number.isSafeInteger(key))
      throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [
        `sesskey must be ${FIELD_RULES.sesskey}, got ${kindOf(params.sesskey)}`,
      ]);
    params.sesskey = key;
  }
  if (route.clientAddr === true) params.client_addr = request.ip;
  return params;
}

/** The Content-Type Fastify gives an answer it serializes itself. */
const JSON_TYPE = 'application/json; charset=utf-8';

function handlerOf(route: LegacyRoute, options: LegacyOptions) {
  const readResult = route.raw === undefined ? undefined : readerOf(route);
  return async (
    request: FastifyRequest,
    answer: FastifyReply,
  ): Promise<{ status: true; data: unknown } | string | Buffer> => {
    if (request.validationError !== undefined) {
      const errors = (request.validationError as { validation?: FastifySchemaValidationError[] }).validation ?? [];
      throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [describeValidation(errors, request.body)]);
    }
    const callOptions: CallOptions = {
      deadline: Date.now() + options.timeoutMs,
      reqId: request.id,
      idempotent: route.idempotent,
    };
    if (readResult !== undefined) callOptions.readResult = readResult;
    const reply = await options.bus.call(route.service, route.method, [paramsOf(route, request)], callOptions);
    if (reply instanceof Answer) {
      void answer.type(JSON_TYPE);
      return reply.bytes;
    }
    const json = reply !== null && typeof reply === 'object' ? route.json?.(reply as Reply) : undefined;
    if (json !== undefined) {
      void answer.type(JSON_TYPE);
      return json;
    }
    const data = reply !== null && typeof reply === 'object' ? route.data(reply as Reply) : undefined;
    if (data === undefined) throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`${route.service}.${route.method}`]);
    return { status: true, data };
  };
}

/** An answer made from a result's bytes (LegacyRoute.raw). */
class Answer {
  constructor(readonly bytes: Buffer) {}
}

/**
 * What the bus call reads a result's bytes with (CallOptions.readResult): the answer `raw` makes of them, else
 * the result decoded from a copy (the bytes are a view of the bus's read buffer); AGORA_ERR_BUS_BAD_REPLY if
 * they are not msgpack.
 */
function readerOf(route: LegacyRoute): (result: Uint8Array) => unknown {
  return (result) => {
    const bytes = route.raw?.(result);
    if (bytes !== undefined) return new Answer(bytes);
    try {
      return unpack(Buffer.from(result));
    } catch {
      throw new AgoraError('AGORA_ERR_BUS_BAD_REPLY', [`${route.service}.${route.method}`]);
    }
  };
}

/**
 * The legacy routes, in their own scope so that their body parser (JSON whatever the
 * Content-Type) does not leak to other surfaces.
 */
export const legacyRoutes: FastifyPluginAsync<LegacyOptions> = async (app, options) => {
  app.removeAllContentTypeParsers();
  // Named for application/json as well as caught by `*`: Fastify remembers the parser of each Content-Type
  // it finds by name, but finds the catch-all afresh for every request, parsing its Content-Type each time.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);
  for (const route of LEGACY_ROUTES) {
    app.post(
      route.path,
      {
        schema: {
          tags: ['legacy'],
          summary: `Legacy messaging API: ${route.service}.${route.method}; answers {status, data}, always HTTP 200`,
          body: bodySchema(route.fields),
        },
        attachValidation: true,
        config: { surface: 'legacy', service: route.service },
      },
      handlerOf(route, options),
    );
  }
};
