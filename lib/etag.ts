/**
 * Versions of stored records as the edge shows them (RFC 9110 §8.8.3): a record's version
 * number is its strong ETag, `"<n>"`, so the `If-Match` a client sends names exactly the
 * number the store compares in its compare-and-write. A service refusing a write because the
 * record moved on answers a 412 code (errno 114) carrying the version it found, as that ETag,
 * in `info` — the same pointer the edge gives when it refuses a precondition itself.
 */
import { AgoraError, type ErrorCode } from './errors';

/** The strong ETag of a version number. */
export function versionTag(version: number): string {
  return `"${version}"`;
}

/** The version a strong ETag names (`"12"` → 12), or undefined when it names none. */
export function versionOf(tag: string): number | undefined {
  const m = /^"(0|[1-9][0-9]{0,15})"$/.exec(tag.trim());
  const n = m === null ? NaN : Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The `info` of a refused precondition: the current ETag, or that there is none. */
export function currentTagInfo(etag: string | undefined): string {
  return etag === undefined ? 'it no longer exists' : `current ETag: ${etag}`;
}

/** A refused compare-and-write: `code` (a 412) with the version found (undefined: gone) in `info`. */
export function staleError(code: ErrorCode, args: readonly unknown[], found: number | undefined): AgoraError {
  return new AgoraError(code, args, {
    data: { info: currentTagInfo(found === undefined ? undefined : versionTag(found)) },
  });
}
