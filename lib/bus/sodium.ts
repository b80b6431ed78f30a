/**
 * The libsodium primitives CurveZMQ (ZeroMQ RFC 26) is built from, and nothing else: Curve25519
 * key pairs, crypto_box (XSalsa20-Poly1305 between two key pairs, with its beforenm/afternm
 * split for a connection's many messages), crypto_secretbox for the server's cookie, and
 * libsodium's random bytes. Every result is a Buffer; a box that does not open is `undefined`,
 * never an exception.
 *
 * The library is libsodium-wrappers (libsodium compiled to WebAssembly) rather than the native
 * binding sodium-native, by measurement on Node 20 (x86-64): a connection boxes every message
 * with the key precomputed once per connection (crypto_box_beforenm). sodium-native 5.1 has no
 * crypto_box_*_afternm, but its crypto_secretbox_easy with that key makes the same bytes; it
 * costs 0.39 µs for 1 byte and 0.72 µs for 131 (open: 0.56 and 0.91), more than the
 * WebAssembly export called on libsodium's heap (0.22 and 0.49 µs: the call into native code
 * and its checks of four typed arrays cost more than the cipher), so it is not used.
 *
 * The MESSAGE codec (lib/bus/curve.ts) calls those exports in place in a scratch area of the
 * heap (`heapArea`, `sealInPlace`, `openInPlace`). A 7-frame MDP message costs 2.6 µs of CPU
 * to seal (its 7 boxes alone: 1.9 µs) and 3.8 µs to open (boxes alone: 2.7 µs: libsodium's
 * open runs the stream cipher's first block twice), where staging and copying each box on its
 * own cost 3.8 and 6.5 µs. In `npm run bench`, 64 calls in flight, the broker, echo and client
 * processes together then spent 40 µs of CPU per call with CURVE instead of 56, against 18 µs
 * without; CURVE/NULL calls/s went from 0.31-0.32 to 0.36-0.42 (about 0.68 at 1 in flight).
 * Some 14 µs of those 40 are the cipher of the call's 44 boxes, which no codec can save.
 *
 * The WebAssembly module loads asynchronously: `await sodiumReady()` once before anything else
 * here is called. It is loaded then, not when this file is: a process with CURVE off never loads
 * it, and keeps the 3 MB or so of resident memory it would hold (README.md "The parts").
 */
import type Sodium from 'libsodium-wrappers';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
/** What a box adds to its plain text (the Poly1305 tag). */
export const MAC_BYTES = 16;

let loaded: typeof Sodium | undefined;

/** Resolves once libsodium is usable; call (and await) before any other function of this module. */
export async function sodiumReady(): Promise<void> {
  if (loaded !== undefined) return;
  const sodium = (await import('libsodium-wrappers')).default;
  await sodium.ready;
  loaded = sodium;
}

function lib(): typeof Sodium {
  if (loaded === undefined) throw new Error('libsodium is not loaded: await sodiumReady() first');
  return loaded;
}

/** A Buffer over the same memory as `u8` (no copy). */
function buf(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** libsodium's answer, or undefined where it refuses (a box that does not open, a low-order key). */
function attempt(fn: () => Uint8Array): Buffer | undefined {
  try {
    return buf(fn());
  } catch {
    return undefined;
  }
}

export interface KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** A new Curve25519 key pair (crypto_box_keypair). */
export function boxKeyPair(): KeyPair {
  const pair = lib().crypto_box_keypair();
  return { publicKey: buf(pair.publicKey), secretKey: buf(pair.privateKey) };
}

/** The public key of a secret key (crypto_scalarmult_base). */
export function publicKeyOf(secretKey: Uint8Array): Buffer {
  return buf(lib().crypto_scalarmult_base(secretKey));
}

export function randomBytes(n: number): Buffer {
  return buf(lib().randombytes_buf(n));
}

/** Box [message](from secretKey → to publicKey) under `nonce` (crypto_box_easy). */
export function box(message: Uint8Array, nonce: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Buffer {
  return buf(lib().crypto_box_easy(message, nonce, publicKey, secretKey));
}

/** Open a box made by `publicKey` for `secretKey`; undefined when it does not open. */
export function boxOpen(
  cipher: Uint8Array,
  nonce: Uint8Array,
  publicKey: Uint8Array,
  secretKey: Uint8Array,
): Buffer | undefined {
  if (cipher.length < MAC_BYTES) return undefined;
  return attempt(() => lib().crypto_box_open_easy(cipher, nonce, publicKey, secretKey));
}

/** The key shared by two key pairs (crypto_box_beforenm); undefined for a key libsodium refuses. */
export function boxSharedKey(publicKey: Uint8Array, secretKey: Uint8Array): Buffer | undefined {
  return attempt(() => lib().crypto_box_beforenm(publicKey, secretKey));
}

/** Box under a shared key (crypto_box_easy_afternm). */
export function boxAfter(message: Uint8Array, nonce: Uint8Array, shared: Uint8Array): Buffer {
  return buf(lib().crypto_box_easy_afternm(message, nonce, shared));
}

/** Open a box under a shared key (crypto_box_open_easy_afternm); undefined when it does not open. */
export function boxOpenAfter(cipher: Uint8Array, nonce: Uint8Array, shared: Uint8Array): Buffer | undefined {
  if (cipher.length < MAC_BYTES) return undefined;
  return attempt(() => lib().crypto_box_open_easy_afternm(cipher, nonce, shared));
}

/**
 * libsodium's own WebAssembly exports, for the MESSAGE codec's hot path: what libsodium-wrappers
 * calls underneath, without its allocation and copies per call. A 64-bit length is passed as
 * two 32-bit halves, as the wrappers pass it.
 */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(address: number): void;
  /** WebAssembly exports, which never use `this`. */
  _crypto_box_easy_afternm: (c: number, m: number, mLow: number, mHigh: number, n: number, k: number) => number;
  _crypto_box_open_easy_afternm: (m: number, c: number, cLow: number, cHigh: number, n: number, k: number) => number;
}

/** One scratch area in libsodium's heap, reused by every caller. */
let scratch = 0;
let scratchBytes = 0;
const SCRATCH_MIN = 16_384;

/**
 * The exports, looked up once: the wrappers' module object has hundreds of properties, and a
 * lookup on it per box cost as much as the copies around the box.
 */
let wasm: RawSodium | undefined;
let heap: Uint8Array = new Uint8Array(0);
let seal: RawSodium['_crypto_box_easy_afternm'] = () => -1;
let open: RawSodium['_crypto_box_open_easy_afternm'] = () => -1;

function raw(): RawSodium {
  if (wasm === undefined) {
    const sodium = (lib() as unknown as { libsodium: RawSodium }).libsodium;
    seal = sodium._crypto_box_easy_afternm;
    open = sodium._crypto_box_open_easy_afternm;
    heap = sodium.HEAPU8;
    wasm = sodium;
  }
  return wasm;
}

/**
 * A scratch area of at least `bytes` octets in libsodium's heap, for a caller that lays out a
 * key, a nonce and its boxes there and then calls `sealInPlace` / `openInPlace` on them: its
 * address. It is the same area for every caller, valid until the next call of `heapArea`; read
 * `heapBytes()` after this call, since growing the area may replace the heap's buffer.
 */
export function heapArea(bytes: number): number {
  if (bytes > scratchBytes) {
    const sodium = raw();
    if (scratch !== 0) {
      // What a caller left there (a staged key) does not outlive the area.
      heapBytes().fill(0, scratch, scratch + scratchBytes);
      sodium._free(scratch);
    }
    scratchBytes = Math.max(bytes, scratchBytes * 2, SCRATCH_MIN);
    scratch = sodium._malloc(scratchBytes);
    if (scratch === 0) {
      scratchBytes = 0;
      throw new Error('libsodium is out of memory');
    }
  }
  return scratch;
}

/** The size of the area `heapArea` answers now (0 before its first call): a larger request replaces it. */
export function heapAreaBytes(): number {
  return scratchBytes;
}

/** libsodium's heap, the memory `heapArea` addresses point into. */
export function heapBytes(): Uint8Array {
  // A heap that grew (any libsodium call may grow it) left the old view detached, with no bytes.
  if (heap.byteLength === 0) heap = raw().HEAPU8;
  return heap;
}

/**
 * crypto_box_easy_afternm in place in libsodium's heap: the `length` octets at `at + MAC_BYTES`
 * become their box, `length + MAC_BYTES` octets at `at`, under the 24-byte nonce at `nonce` and
 * the shared key at `key` (heap addresses).
 */
export function sealInPlace(at: number, length: number, nonce: number, key: number): void {
  seal(at, at + MAC_BYTES, length, 0, nonce, key);
}

/**
 * crypto_box_open_easy_afternm in place in libsodium's heap: the box of `length` octets at `at`
 * becomes its plain text, `length - MAC_BYTES` octets at `at + MAC_BYTES`; false when it does
 * not open (then the plain text is not written).
 */
export function openInPlace(at: number, length: number, nonce: number, key: number): boolean {
  return length >= MAC_BYTES && open(at + MAC_BYTES, at, length, 0, nonce, key) === 0;
}

/** Secret-key box (crypto_secretbox_easy). */
export function secretBox(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  return buf(lib().crypto_secretbox_easy(message, nonce, key));
}

/** Open a secret-key box; undefined when it does not open. */
export function secretBoxOpen(cipher: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
  if (cipher.length < MAC_BYTES) return undefined;
  return attempt(() => lib().crypto_secretbox_open_easy(cipher, nonce, key));
}

/** Whether two byte strings are equal, in time independent of their content (sodium_memcmp). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && lib().memcmp(a, b);
}

/** Whether every byte is zero, in time independent of their content (sodium_is_zero). */
export function isZero(bytes: Uint8Array): boolean {
  return lib().is_zero(bytes);
}

/** Overwrite secret material once it is no longer needed (sodium_memzero). */
export function wipe(secret: Uint8Array): void {
  lib().memzero(secret);
}
