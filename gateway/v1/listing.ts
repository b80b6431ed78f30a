/**
 * Lists under /v1 (docs/API-V1.md "Lists: filters, sorting, pages"; Kinto's querystring):
 * filters, sorting and pagination over the records a service answered.
 *
 * - Filters, per field: `f=v` (equal), `min_f=v` / `max_f=v` (inclusive bounds), `in_f=a,b`,
 *   `has_f=true|false` (present and non-empty), `like_f=text` (strings: contains, case
 *   folded, `*` any run of characters). `_since=n` / `_before=n` (exclusive) on the list's
 *   version field. Any other parameter is refused with 400 (the schema has
 *   `additionalProperties: false`).
 * - `_sort=f,-g`: ascending by f, then descending by g; the id field always breaks ties.
 * - `_limit=n`: at most n records (lowered to the server maximum); `_token`: the opaque
 *   cursor of the next page, carried in `Next-Page` (the full URL) while more records
 *   follow. The cursor is the sort key of the page's last record, so a walk sees every
 *   record once, with no gap and no repeat, even while records are added.
 * - `Total-Records`: how many records match the filters (cheap: they are all at hand).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notModified } from './conditional';
import { httpError } from '../errors';

export type FieldType = 'integer' | 'string';

/** What a list offers to its querystring. */
export interface ListSpec {
  /** The record fields one may filter and sort on, with their JSON type. */
  fields: Readonly<Record<string, FieldType>>;
  /** The unique field: the final tie-breaker of every sort. */
  id: string;
  /** Sort without `_sort`. */
  defaultSort: readonly string[];
  /** The integer field that `_since` / `_before` compare (a list's version, e.g. an id). */
  since?: string;
}

type Rec = Record<string, unknown>;

/** One page of a list. */
export interface Page<T> {
  records: T[];
  total: number;
  /** The cursor of the next page, when records follow. */
  next?: string;
}

const SORT = '^-?[A-Za-z_][A-Za-z0-9_]*(,-?[A-Za-z_][A-Za-z0-9_]*)*$';

/** The querystring schema of a list: every filter of every field, and nothing else. */
export function listQuerySchema(spec: ListSpec, pageMax: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    _limit: {
      type: 'integer',
      minimum: 1,
      description: `Records per page (at most ${pageMax}; a larger value is lowered).`,
    },
    _token: {
      type: 'string',
      maxLength: 2048,
      description: 'The cursor of the next page (from the Next-Page header).',
    },
    _sort: {
      type: 'string',
      pattern: SORT,
      description: `Comma-separated fields, - for descending: ${Object.keys(spec.fields).join(', ')}.`,
    },
  };
  if (spec.since !== undefined) {
    properties._since = { type: 'integer', description: `Only records whose ${spec.since} is greater.` };
    properties._before = { type: 'integer', description: `Only records whose ${spec.since} is smaller.` };
  }
  for (const [field, type] of Object.entries(spec.fields)) {
    const value = type === 'integer' ? { type: 'integer' } : { type: 'string', maxLength: 1024 };
    properties[field] = { ...value, description: `Records whose ${field} equals this.` };
    properties[`min_${field}`] = { ...value, description: `Records whose ${field} is at least this.` };
    properties[`max_${field}`] = { ...value, description: `Records whose ${field} is at most this.` };
    properties[`in_${field}`] = {
      type: 'string',
      maxLength: 4096,
      description: `Records whose ${field} is one of these (comma-separated).`,
    };
    properties[`has_${field}`] = {
      type: 'boolean',
      description: `Records that have (true) or lack (false) a non-empty ${field}.`,
    };
    if (type === 'string')
      properties[`like_${field}`] = {
        type: 'string',
        maxLength: 1024,
        description: `Records whose ${field} contains this (case folded; * matches anything).`,
      };
  }
  return { type: 'object', additionalProperties: false, properties };
}

function invalid(name: string, description: string): Error {
  return httpError('AGORA_ERR_HTTP_INVALID_PARAMS', [`${name} in querystring ${description}`], {
    details: [{ location: 'querystring', name, description }],
  });
}

type Test = (record: Rec) => boolean;

function likeTest(field: string, pattern: string): Test {
  const source = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(source, 's');
  return (r) => typeof r[field] === 'string' && re.test(r[field].toLowerCase());
}

function inTest(field: string, type: FieldType, list: string, name: string): Test {
  const values = list.split(',').map((v) => {
    if (type === 'string') return v;
    if (!/^-?\d{1,16}$/.test(v.trim()))
      throw invalid(name, `must be comma-separated integers, got ${JSON.stringify(v.slice(0, 40))}`);
    return Number(v);
  });
  const set = new Set<unknown>(values);
  return (r) => set.has(r[field]);
}

/** The filter of one querystring parameter, or undefined for the paging parameters. */
function filterOf(name: string, value: unknown, spec: ListSpec): Test | undefined {
  if (name === '_limit' || name === '_token' || name === '_sort') return undefined;
  if (name === '_since' && spec.since !== undefined)
    return (r) => (r[spec.since as string] as number) > (value as number);
  if (name === '_before' && spec.since !== undefined)
    return (r) => (r[spec.since as string] as number) < (value as number);
  const m = /^(min_|max_|in_|has_|like_)?(.+)$/.exec(name) as RegExpExecArray;
  const [, op, field] = m;
  const type = spec.fields[field];
  if (type === undefined) throw invalid(name, 'is not a filter of this list');
  const get = (r: Rec): unknown => r[field];
  switch (op) {
    case 'min_':
      return (r) => (get(r) as number | string) >= (value as number | string);
    case 'max_':
      return (r) => (get(r) as number | string) <= (value as number | string);
    case 'in_':
      return inTest(field, type, String(value), name);
    case 'has_':
      return (r) => (get(r) !== undefined && get(r) !== null && get(r) !== '') === value;
    case 'like_':
      return likeTest(field, String(value));
    default:
      return (r) => get(r) === value;
  }
}

interface SortKey {
  field: string;
  desc: boolean;
}

function sortOf(query: Rec, spec: ListSpec): SortKey[] {
  const names = typeof query._sort === 'string' ? query._sort.split(',') : [...spec.defaultSort];
  const keys = names.map((n) => ({ field: n.replace(/^-/, ''), desc: n.startsWith('-') }));
  for (const k of keys)
    if (spec.fields[k.field] === undefined)
      throw invalid('_sort', `names ${JSON.stringify(k.field)}, not a field of this list`);
  if (!keys.some((k) => k.field === spec.id)) keys.push({ field: spec.id, desc: false });
  return keys;
}

function compareKeys(a: readonly unknown[], b: readonly unknown[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i] as number | string;
    const y = b[i] as number | string;
    if (x === y) continue;
    const order = x < y ? -1 : 1;
    return keys[i].desc ? -order : order;
  }
  return 0;
}

/** The fingerprint of what a cursor is valid for: the filters and the sort, not the paging. */
function queryHash(query: Rec): string {
  const kept = Object.entries(query)
    .filter(([k]) => k !== '_limit' && k !== '_token')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(kept)).digest('base64url').slice(0, 12);
}

function encodeToken(key: readonly unknown[], hash: string): string {
  return Buffer.from(JSON.stringify({ k: key, q: hash })).toString('base64url');
}

function decodeToken(token: string, hash: string, keys: readonly SortKey[]): unknown[] {
  let parsed: { k?: unknown; q?: unknown } | null = null;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown; q?: unknown };
  } catch {
    // handled below
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.k) || parsed.k.length !== keys.length) {
    throw invalid('_token', 'is not a cursor this list gave');
  }
  if (parsed.q !== hash) throw invalid('_token', 'was given for other filters or another sort');
  return parsed.k;
}

/** Filter, sort and cut one page of `records` as `query` asks. */
export function applyQuery<T extends Rec>(records: readonly T[], query: Rec, spec: ListSpec, pageMax: number): Page<T> {
  const tests = Object.entries(query)
    .map(([name, value]) => filterOf(name, value, spec))
    .filter((t): t is Test => t !== undefined);
  const keys = sortOf(query, spec);
  // Each record's sort key is read once, not at every comparison.
  const matching = records
    .filter((r) => tests.every((t) => t(r)))
    .map((record) => ({ record, key: keys.map((k) => record[k.field]) }));
  matching.sort((a, b) => compareKeys(a.key, b.key, keys));
  const hash = queryHash(query);
  let from = 0;
  if (typeof query._token === 'string') {
    const after = decodeToken(query._token, hash, keys);
    from = matching.findIndex((m) => compareKeys(m.key, after, keys) > 0);
    if (from < 0) from = matching.length;
  }
  const limit = Math.min(typeof query._limit === 'number' ? query._limit : pageMax, pageMax);
  const page = matching.slice(from, from + limit);
  const last = page[page.length - 1];
  const next = from + limit < matching.length && last !== undefined ? encodeToken(last.key, hash) : undefined;
  return { records: page.map((m) => m.record), total: matching.length, next };
}

/** The full URL of the next page: this request's, with `_token` replaced. */
export function nextPageUrl(request: FastifyRequest, token: string): string {
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  url.searchParams.set('_token', token);
  return url.toString();
}

/** Set `Total-Records` and `Next-Page`, and answer the Kinto list body `{data: [...]}`. */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page<T>): { data: T[] } {
  reply.header('total-records', String(page.total));
  if (page.next !== undefined) reply.header('next-page', nextPageUrl(request, page.next));
  return { data: page.records };
}

/**
 * Answer a list read: 304 when `If-None-Match` names `etag`, else one page of `records`
 * as the querystring asks, with its headers. The query is checked first, so a bad filter
 * is a 400 even when the list did not change.
 */
export function answerList<T extends Rec>(
  request: FastifyRequest,
  reply: FastifyReply,
  records: readonly T[],
  spec: ListSpec,
  pageMax: number,
  etag: string,
): FastifyReply | { data: T[] } {
  const page = applyQuery(records, request.query as Rec, spec, pageMax);
  if (notModified(request, reply, etag)) return reply;
  return sendPage(request, reply, page);
}

/** The 200 response of a list of `item`, for the schema of a route. */
export function listResponse(item: object): Rec {
  return { type: 'object', properties: { data: { type: 'array', items: item } }, headers: LIST_RESPONSE_HEADERS };
}

/** The response headers of a list, for the OpenAPI document (JSON Schemas, as @fastify/swagger reads them). */
export const LIST_RESPONSE_HEADERS = {
  'Total-Records': { type: 'integer', description: 'How many records match the filters.' },
  'Next-Page': { type: 'string', description: 'The full URL of the next page, while records follow.' },
  ETag: { type: 'string', description: 'The version of the list.' },
} as const;
