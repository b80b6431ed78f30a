/**
 * Lists under /v1 (docs/API-V1.md "Lists: filters, sorting, pages"; Kinto's querystring):
 * filters, sorting and pagination over the records a service answered.
 *
 * - Filters, per field: `f=v` (equal), `not_f=v`, `min_f=v` / `max_f=v` (inclusive bounds),
 *   `lt_f=v` / `gt_f=v` (exclusive), `in_f=a,b`, `exclude_f=a,b`, `has_f=true|false` (present
 *   and non-empty), `like_f=text` (strings: contains, case folded, `*` any run of characters),
 *   `contains_f=a,b` / `contains_any_f=a,b` (strings: holds every / any of the texts, case
 *   kept). `_since=n` / `_before=n` (exclusive; `"n"`, an ETag, too) on the list's timestamp
 *   field, with the tombstones of deleted records (`{id, last_modified, deleted: true}`) after
 *   `_since`. Any other parameter is refused with 400 (the schema has
 *   `additionalProperties: false`).
 * - `_fields=a,b`: only those fields of each record, besides the id and `last_modified`.
 * - `_sort=f,-g`: ascending by f, then descending by g; the id field always breaks ties.
 * - `_limit=n`: at most n records (lowered to the server maximum); `_token`: the opaque
 *   cursor of the next page, carried in `Next-Page` (the full URL) while more records
 *   follow. The cursor is the sort key of the page's last record, so a walk sees every
 *   record once, with no gap and no repeat, even while records are added.
 * - `Total-Records`: how many records match the filters (cheap: they are all at hand).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notModified, versionTag } from './conditional';
import { FIELDS_PARAM, httpDate, pickFields } from './record';
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
  /** The integer field that `_since` / `_before` compare (`last_modified`). */
  since?: string;
}

/** What is left of a deleted record: shown to `_since` readers. */
export type Tombstone = { id: string; last_modified: number; deleted: true };

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
  properties._fields = FIELDS_PARAM;
  if (spec.since !== undefined) {
    const stamp = { type: 'string', pattern: '^"?[0-9]{1,16}"?$' };
    properties._since = { ...stamp, description: `Only records whose ${spec.since} is greater (and tombstones).` };
    properties._before = { ...stamp, description: `Only records whose ${spec.since} is smaller.` };
  }
  for (const [field, type] of Object.entries(spec.fields)) {
    const value = type === 'integer' ? { type: 'integer' } : { type: 'string', maxLength: 1024 };
    properties[field] = { ...value, description: `Records whose ${field} equals this.` };
    properties[`not_${field}`] = { ...value, description: `Records whose ${field} differs from this.` };
    properties[`min_${field}`] = { ...value, description: `Records whose ${field} is at least this.` };
    properties[`max_${field}`] = { ...value, description: `Records whose ${field} is at most this.` };
    properties[`gt_${field}`] = { ...value, description: `Records whose ${field} is greater than this.` };
    properties[`lt_${field}`] = { ...value, description: `Records whose ${field} is less than this.` };
    properties[`in_${field}`] = {
      type: 'string',
      maxLength: 4096,
      description: `Records whose ${field} is one of these (comma-separated).`,
    };
    properties[`exclude_${field}`] = {
      type: 'string',
      maxLength: 4096,
      description: `Records whose ${field} is none of these (comma-separated).`,
    };
    properties[`has_${field}`] = {
      type: 'boolean',
      description: `Records that have (true) or lack (false) a non-empty ${field}.`,
    };
    if (type === 'string') {
      properties[`like_${field}`] = {
        type: 'string',
        maxLength: 1024,
        description: `Records whose ${field} contains this (case folded; * matches anything).`,
      };
      properties[`contains_${field}`] = {
        type: 'string',
        maxLength: 4096,
        description: `Records whose ${field} contains each of these texts (comma-separated, case kept).`,
      };
      properties[`contains_any_${field}`] = {
        type: 'string',
        maxLength: 4096,
        description: `Records whose ${field} contains one of these texts at least (comma-separated, case kept).`,
      };
    }
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

/** `_since` / `_before` as a number: `123` or the ETag `"123"`. */
export function stampParam(value: unknown): number {
  return Number(String(value).replace(/"/g, ''));
}

/** Whether a record's text field holds every (`all`) or any of the comma-separated texts. */
function containsTest(field: string, list: string, all: boolean): Test {
  const texts = list.split(',').filter((t) => t !== '');
  return (r) => {
    const v = r[field];
    if (typeof v !== 'string') return false;
    return all ? texts.every((t) => v.includes(t)) : texts.some((t) => v.includes(t));
  };
}

const OPS = /^(not_|min_|max_|lt_|gt_|in_|exclude_|has_|like_|contains_any_|contains_)?(.+)$/;

/** The filter of one querystring parameter, or undefined for the paging and projection parameters. */
function filterOf(name: string, value: unknown, spec: ListSpec): Test | undefined {
  if (name === '_limit' || name === '_token' || name === '_sort' || name === '_fields') return undefined;
  if ((name === '_since' || name === '_before') && spec.since !== undefined) {
    const field = spec.since;
    const at = stampParam(value);
    return name === '_since' ? (r) => (r[field] as number) > at : (r) => (r[field] as number) < at;
  }
  const [, op, field] = OPS.exec(name) as RegExpExecArray;
  const type = spec.fields[field];
  if (type === undefined) throw invalid(name, 'is not a filter of this list');
  const get = (r: Rec): number | string => r[field] as number | string;
  const v = value as number | string;
  switch (op) {
    case 'not_':
      return (r) => get(r) !== v;
    case 'min_':
      return (r) => get(r) >= v;
    case 'max_':
      return (r) => get(r) <= v;
    case 'gt_':
      return (r) => get(r) > v;
    case 'lt_':
      return (r) => get(r) < v;
    case 'in_':
      return inTest(field, type, String(value), name);
    case 'exclude_': {
      const among = inTest(field, type, String(value), name);
      return (r) => !among(r);
    }
    case 'has_':
      return (r) => (get(r) !== undefined && get(r) !== null && get(r) !== '') === value;
    case 'like_':
      return likeTest(field, String(value));
    case 'contains_':
      return containsTest(field, String(value), true);
    case 'contains_any_':
      return containsTest(field, String(value), false);
    default:
      return (r) => get(r) === v;
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

/** Sort keys compared; a field a record lacks (a tombstone's) sorts before any value. */
function compareKeys(a: readonly unknown[], b: readonly unknown[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i] as number | string | undefined | null;
    const y = b[i] as number | string | undefined | null;
    if (x === y || (x == null && y == null)) continue;
    const order = x == null ? -1 : y == null ? 1 : x < y ? -1 : 1;
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
  // A tombstone carries its id as `id` whatever the list's id field (a route's `source`): its tie-breaker.
  const valueOf = (record: T, field: string): unknown =>
    record[field] ?? (field === spec.id && record.deleted === true ? record.id : undefined);
  const matching = records
    .filter((r) => tests.every((t) => t(r)))
    .map((record) => ({ record, key: keys.map((k) => valueOf(record, k.field)) }));
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

/** Set `Total-Records` and `Next-Page`, and answer the Kinto list body `{data: [...]}` (with `_fields` applied). */
export function sendPage<T extends Rec>(request: FastifyRequest, reply: FastifyReply, page: Page<T>): { data: Rec[] } {
  reply.header('total-records', String(page.total));
  if (page.next !== undefined) reply.header('next-page', nextPageUrl(request, page.next));
  const fields = (request.query as Rec)._fields;
  return { data: page.records.map((r) => pickFields(r, fields)) };
}

/** What a list is at one moment: its records, its version, and the tombstones of what it lost. */
export interface ListState<T> {
  records: readonly T[];
  /**
   * The list's timestamp (its ETag, `"<ms>"`, and `Last-Modified`); for a list whose version is
   * no timestamp of its own (one holding other users' nodes), `etag` names it instead.
   */
  lastModified: number;
  etag?: string;
  tombstones?: readonly Tombstone[];
}

/**
 * Answer a list read: 304 when `If-None-Match` names its ETag (or `If-Modified-Since` is not
 * older than its `Last-Modified`), else one page of the records as the querystring asks, with
 * its headers; the tombstones join the records for a `_since` reader. The query is checked
 * first, so a bad filter is a 400 even when the list did not change.
 */
export function answerList<T extends Rec>(
  request: FastifyRequest,
  reply: FastifyReply,
  list: ListState<T>,
  spec: ListSpec,
  pageMax: number,
): FastifyReply | { data: Rec[] } {
  const query = request.query as Rec;
  const all: readonly Rec[] =
    query._since !== undefined && list.tombstones !== undefined ? [...list.records, ...list.tombstones] : list.records;
  const page = applyQuery(all, query, spec, pageMax);
  const timestamped = list.etag === undefined;
  if (timestamped && list.lastModified > 0) reply.header('last-modified', httpDate(list.lastModified));
  const etag = list.etag ?? versionTag(list.lastModified);
  if (notModified(request, reply, etag, timestamped ? list.lastModified : undefined)) return reply;
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
  ETag: { type: 'string', description: "The list's timestamp (the last_modified of its last change), quoted." },
  'Last-Modified': { type: 'string', description: "The HTTP date of the list's timestamp." },
} as const;
