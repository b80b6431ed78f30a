/**
 * One record of a /v1 collection as the Cliquet/Kinto protocol shows it (docs/API-V1.md
 * "Records"): `{"data": {…, "id", "last_modified"}, "permissions": {…}}`, with its ETag (the
 * timestamp, quoted) and `Last-Modified`. The timestamps are the store's (lib/store/contracts.ts
 * `stamp`); each route only names which of its fields is the id and which the timestamp.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError, isAgoraError } from '../../lib/errors';
import { notModified, versionTag } from './conditional';

type Rec = Record<string, unknown>;

/** Who may do what with a record, by permission (`read`, `write`, …): lists of principals. */
export type Permissions = Record<string, string[]>;

/** The body of one record. */
export interface RecordBody {
  data: Rec;
  permissions: Permissions;
}

/** The one place a record's body is made. */
export function recordBody(data: Rec, permissions: Permissions = {}): RecordBody {
  return { data, permissions };
}

/** The timestamp a record carries (`last_modified`, ms since the epoch). */
export function lastModifiedOf(data: Rec): number {
  return Number(data.last_modified);
}

/** An HTTP date (RFC 9110 §5.6.7) of a timestamp in ms. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** `ETag` and `Last-Modified` of a record or a list stamped `ms`. */
export function stampHeaders(reply: FastifyReply, ms: number): void {
  reply.header('etag', versionTag(ms));
  if (ms > 0) reply.header('last-modified', httpDate(ms));
}

const FIELD = '[A-Za-z_][A-Za-z0-9_]*';

/** The `_fields` parameter, for a querystring schema. */
export const FIELDS_PARAM = {
  type: 'string',
  maxLength: 1024,
  pattern: `^${FIELD}(,${FIELD})*$`,
  description: 'Only these fields of each record (comma-separated), besides id and last_modified.',
} as const;

/** The querystring of a read of one record: `_fields` only. */
export const RECORD_QUERY = { type: 'object', additionalProperties: false, properties: { _fields: FIELDS_PARAM } };

/** `data` cut down to the fields `_fields` names (when given); id, last_modified and a tombstone's deleted kept. */
export function pickFields(data: Rec, fields: unknown): Rec {
  if (typeof fields !== 'string') return data;
  const keep = new Set(['id', 'last_modified', 'deleted', ...fields.split(',')]);
  return Object.fromEntries(Object.entries(data).filter(([k]) => keep.has(k)));
}

/**
 * Answer a read of one record: its ETag and Last-Modified, 304 when `If-None-Match` or
 * `If-Modified-Since` say the client has it (then the caller returns `reply`), else its body
 * with the fields `_fields` asks for.
 */
export function answerRecord(
  request: FastifyRequest,
  reply: FastifyReply,
  data: Rec,
  permissions?: Permissions,
): FastifyReply | RecordBody {
  const ms = lastModifiedOf(data);
  if (ms > 0) reply.header('last-modified', httpDate(ms));
  if (notModified(request, reply, versionTag(ms), ms)) return reply;
  return recordBody(pickFields(data, (request.query as Rec | undefined)?._fields), permissions);
}

/** Answer a write of one record with `status`: its ETag, Last-Modified and body. */
export function sendRecord(reply: FastifyReply, status: number, data: Rec, permissions?: Permissions): FastifyReply {
  stampHeaders(reply, lastModifiedOf(data));
  return reply.code(status).send(recordBody(data, permissions));
}

/**
 * Run a write; a 412 it fails with (the edge's precondition or the store's compare-and-write)
 * carries `details.existing`: the record as `existing()` reads it now, or null when there is none
 * (docs/API-V1.md "Versions: ETag, If-None-Match, If-Match").
 */
export async function withExisting<T>(work: () => Promise<T>, existing: () => Promise<Rec | undefined>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!isAgoraError(e) || e.status !== 412) throw e;
    const current = await existing().catch(() => undefined);
    const data = (e.data ?? {}) as Rec;
    throw new AgoraError(e.code, [], {
      message: e.message,
      cause: e,
      data: { ...data, details: { existing: current ?? null } },
    });
  }
}

/** The response headers of a record, for the OpenAPI document. */
export const RECORD_RESPONSE_HEADERS = {
  ETag: { type: 'string', description: 'The timestamp of the record (its last_modified), quoted.' },
  'Last-Modified': { type: 'string', description: 'The HTTP date of last_modified.' },
} as const;

/** Any record's permissions: lists of principals by permission (v1/permissions.ts names read and write). */
const ANY_PERMISSIONS = { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } };

/** The schema of one record's answer, `{data, permissions}`, for a route's response. */
export function recordResponse(item: object, permissions: object = ANY_PERMISSIONS): Rec {
  return {
    type: 'object',
    required: ['data', 'permissions'],
    properties: { data: item, permissions },
    headers: RECORD_RESPONSE_HEADERS,
  };
}
