/**
 * The session Watch protocol (proto/auth.proto `Watch`): how auth keeps the session caches
 * of the other services coherent, so that a key fails on the very next call after Logoff
 * has answered. auth serves it (services/auth/watch.ts); lib/session-cache.ts watches.
 *
 * 1. auth opens with `{hello, seq: 0}`; then it sends `{seq, invalidate: [keys]}` messages,
 *    one at a time: message n+1 leaves only once the watcher has acked n. With no keys to
 *    send it still sends an empty one every WATCH_PING_MS (a ping).
 * 2. The watcher drops the keys of a message, then acks `{ack: {seq}}`; it reports the keys
 *    it answered from its cache in `{touch: {sesskeys}}` batches, so auth keeps them alive.
 * 3. The lease. Receiving message n proves auth had received ack n−1, which the watcher sent
 *    at time a; so it may answer from the cache until a + WATCH_LEASE_MS, and not after.
 *    auth, for its part, counts a watcher that stops acking (or whose stream breaks) as
 *    holding the cache until its last ack's arrival + WATCH_LEASE_MS, and only then lets a
 *    Logoff answer. Hence the guarantee holds even for a watcher that stalls or loses its
 *    connection silently: it stops serving from the cache before auth stops waiting for it.
 * 4. A watcher half-closes the stream only after dropping its cache for good: auth then
 *    stops counting its lease at once.
 * Any stream failure drops the watcher's whole cache; while the stream is down every resolve
 * is a unary `Resolve` with a deadline: right, only slower.
 */

/** How often auth pings each watcher when it has nothing to invalidate. */
export const WATCH_PING_MS = 250;
/** How long one ack lets a watcher answer from its cache (see the header, step 3). */
export const WATCH_LEASE_MS = 1500;
/** Largest valid session key: keys are integers from 1 to 2^53−1. */
export const MAX_SESSION_KEY = Number.MAX_SAFE_INTEGER;

/** Whether `key` can be a session key at all (anything else fails without asking auth). */
export function isSessionKey(key: unknown): key is number {
  return typeof key === 'number' && Number.isSafeInteger(key) && key >= 1;
}
