/**
 * Concurrency control of the /v1 resources (docs/API-V1.md; RFC 9110 §13): every resource and
 * list answers an `ETag`; a read whose `If-None-Match` matches (or, without it, whose
 * `If-Modified-Since` is not older than its `Last-Modified`) answers 304; a write whose
 * `If-Match` does not match the current version, whose `If-None-Match` matches it (`*`:
 * "create only, it must not exist"), or (without `If-Match`) whose `If-Unmodified-Since` is
 * older than the resource's last change, answers 412 with errno 114.
 *
 * ETags are strong: a record's and a list's is its timestamp (last_modified, ms), quoted, as
 * Kinto's (a message list's, its newest message's); a session's a version number (lib/etag.ts);
 * a node's output a digest of the representation. A write whose `If-Match` names a version hands that version to
 * the service (`ifMatchVersion`), whose store compares it in the same atomic step as the write:
 * the edge does not check it first, so two writers racing cannot both pass.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { currentTagInfo, versionOf, versionTag } from '../../lib/etag';
import { httpError } from '../errors';

export { versionTag };

/** The request headers of conditional requests, for the schemas and the OpenAPI document. */
export const CONDITIONAL_HEADERS = {
  'if-match': {
    type: 'string',
    description: "Write only if the resource's current ETag is one of these (or any, for *); else 412.",
  },
  'if-none-match': {
    type: 'string',
    description: 'Reads: 304 when the ETag matches. Writes: 412 when it matches (* : when the resource exists).',
  },
  'if-modified-since': {
    type: 'string',
    description: 'Reads without If-None-Match: 304 unless the resource changed after this HTTP date.',
  },
  'if-unmodified-since': {
    type: 'string',
    description:
      'Writes without If-Match: 412 when the resource (or the list created into) changed after this HTTP date.',
  },
} as const;

/** A strong ETag from a representation (JSON digest). */
export function etagOf(value: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22)}"`;
}

/** Whether an If-Match / If-None-Match header names `etag` (`*` names any existing one). */
export function tagMatches(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  if (header.trim() === '*') return true;
  // Weak comparison for If-None-Match is allowed (RFC 9110 §13.1.2); our tags are strong.
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

type ConditionalHeader = 'if-match' | 'if-none-match' | 'if-modified-since' | 'if-unmodified-since';

function header(request: FastifyRequest, name: ConditionalHeader): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** An HTTP date header, in ms; undefined when absent or not a date (then ignored, RFC 9110 §13.1.3). */
function dateHeader(request: FastifyRequest, name: 'if-modified-since' | 'if-unmodified-since'): number | undefined {
  const value = header(request, name);
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether a resource stamped `lastModified` (ms) changed after the date `since`, to the second dates carry. */
function modifiedAfter(lastModified: number, since: number): boolean {
  return Math.floor(lastModified / 1000) > Math.floor(since / 1000);
}

/**
 * Set the ETag of what a read answers; true when `If-None-Match` matches it, or, without
 * `If-None-Match`, when `If-Modified-Since` is given and the resource (stamped `lastModified`)
 * did not change after it. Then 304 has been sent and the caller returns `reply`.
 */
export function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  etag: string,
  lastModified?: number,
): boolean {
  reply.header('etag', etag);
  const ifNoneMatch = header(request, 'if-none-match');
  const since = dateHeader(request, 'if-modified-since');
  const fresh =
    ifNoneMatch !== undefined
      ? tagMatches(ifNoneMatch, etag)
      : since !== undefined && lastModified !== undefined && !modifiedAfter(lastModified, since);
  if (!fresh) return false;
  void reply.code(304).send();
  return true;
}

function failed(why: string, current: string | undefined): never {
  throw httpError('AGORA_ERR_HTTP_PRECONDITION_FAILED', [why], { info: currentTagInfo(current) });
}

/** 412 unless `If-Match` (when sent) names `current` (`undefined`: the target does not exist). */
export function checkIfMatch(request: FastifyRequest, current: string | undefined): void {
  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined && !tagMatches(ifMatch, current))
    failed(
      current === undefined ? 'If-Match, and it does not exist' : 'If-Match does not name the current ETag',
      current,
    );
}

/** 412 when `If-None-Match` (when sent) names `current`, or is `*` and the target exists. */
export function checkIfNoneMatch(request: FastifyRequest, current: string | undefined): void {
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifNoneMatch !== undefined && tagMatches(ifNoneMatch, current))
    failed(
      ifNoneMatch.trim() === '*' ? 'If-None-Match: *, and it exists' : 'If-None-Match names the current ETag',
      current,
    );
}

/**
 * The version a write's `If-Match` names, for the service to compare as it writes:
 * - none, or `*`: undefined (nothing to compare; the write itself finds whether the target exists);
 * - one strong tag of a version, `"n"`: n, with no call (the usual case: the ETag a read answered);
 * - anything else (several tags, weak or foreign ones): `current()` is read; 412 unless a tag
 *   names it, and then that version is what the write compares, so a change in between is
 *   still refused (at worst a tag it changed to is refused too: never a lost update).
 * Without `If-Match`, `If-Unmodified-Since` is heeded where versions are timestamps (`dated`;
 * not a logoff, whose versions are counters).
 */
export async function ifMatchVersion(
  request: FastifyRequest,
  current: () => Promise<number | undefined>,
  dated = true,
): Promise<number | undefined> {
  const ifMatch = header(request, 'if-match');
  if (ifMatch === undefined) return dated ? ifUnmodifiedVersion(request, current) : undefined;
  if (ifMatch.trim() === '*') return undefined;
  const named = versionOf(ifMatch);
  if (named !== undefined) return named;
  const found = await current();
  checkIfMatch(request, tagOrNone(found));
  return found;
}

/**
 * A write to a versioned resource: `If-None-Match` (when sent) is checked against the version
 * read now — which stays true for every version the client has seen, since versions only grow
 * and one the resource has left never comes back — and the version `If-Match` names is
 * answered as `ifMatchVersion` does.
 */
export async function writeVersion(
  request: FastifyRequest,
  current: () => Promise<number | undefined>,
  dated = true,
): Promise<number | undefined> {
  if (header(request, 'if-none-match') !== undefined) checkIfNoneMatch(request, tagOrNone(await current()));
  return ifMatchVersion(request, current, dated);
}

/**
 * `If-Unmodified-Since` (heeded only without `If-Match`, RFC 9110 §13.2.2): the current version
 * is read; 412 when it is a timestamp after the date, and otherwise it is the version the write
 * compares, so a change in between is refused too. Nothing to compare without the header, or
 * when there is nothing yet (the write then finds that by itself).
 */
async function ifUnmodifiedVersion(
  request: FastifyRequest,
  current: () => Promise<number | undefined>,
): Promise<number | undefined> {
  const since = dateHeader(request, 'if-unmodified-since');
  if (since === undefined) return undefined;
  const found = await current();
  if (found !== undefined && modifiedAfter(found, since))
    failed('If-Unmodified-Since, and it changed after that date', tagOrNone(found));
  return found;
}

function tagOrNone(version: number | undefined): string | undefined {
  return version === undefined ? undefined : versionTag(version);
}

/** The fields of a proto write request that carry a compare-and-write (`check_version`, `expected_version`). */
export function versionCheck(expected: number | undefined): { check_version?: boolean; expected_version?: number } {
  return expected === undefined ? {} : { check_version: true, expected_version: expected };
}
