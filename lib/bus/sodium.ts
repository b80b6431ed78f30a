/**
 * The libsodium primitives CurveZMQ (ZeroMQ RFC 26) is built from, and nothing else: Curve25519
 * key pairs, crypto_box (XSalsa20-Poly1305 between two key pairs, with its beforenm/afternm
 * split for a connection's many messages), crypto_secretbox for the server's cookie, and
 * libsodium's random bytes. Every result is a Buffer; a box that does not open is `undefined`,
 * never an exception.
 *
 * The library is libsodium-wrappers (libsodium compiled to WebAssembly) rather than the native
 * binding sodium-native, by measurement on Node 20 (x86-64): a connection boxes every message
 * with the key precomputed once per connection (crypto_box_beforenm), which libsodium-wrappers
 * offers (crypto_box_easy_afternm: 1.0 µs for 64 bytes, 9 µs for 4 KB; open the same) and
 * sodium-native 5 does not, leaving it a full crypto_box_easy per message (28 µs for 64 bytes,
 * 31 µs for 4 KB). The MESSAGE codec goes one step further (`sealFlagged`, `openCopy`): it calls
 * libsodium's WebAssembly exports on a scratch area of its heap, without the wrappers' allocations
 * (then 0.5 µs for 1 byte, 1.4 µs for 130 bytes: the cipher itself). The WebAssembly module loads
 * asynchronously: `await sodiumReady()` once before anything else here is called.
 */
import sodium from 'libsodium-wrappers';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
/** What a box adds to its plain text (the Poly1305 tag). */
export const MAC_BYTES = 16;

let loaded = false;

/** Resolves once libsodium is usable; call (and await) before any other function of this module. */
export async function sodiumReady(): Promise<void> {
  await sodium.ready;
  loaded = true;
}

function lib(): typeof sodium {
  if (!loaded) throw new Error('libsodium is not loaded: await sodiumReady() first');
  return sodium;
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
  _crypto_box_easy_afternm(c: number, m: number, mLow: number, mHigh: number, n: number, k: number): number;
  _crypto_box_open_easy_afternm(m: number, c: number, cLow: number, cHigh: number, n: number, k: number): number;
}

/** A scratch area in libsodium's heap: the shared key, the nonce, then the input and the output. */
let scratch = 0;
let scratchBytes = 0;
const SCRATCH_MIN = 16_384;

function raw(): RawSodium {
  return (lib() as unknown as { libsodium: RawSodium }).libsodium;
}

/** The scratch area with room for `bytes` of input and `bytes + MAC_BYTES` of output; its address. */
function scratchFor(sodium: RawSodium, bytes: number): number {
  if (bytes > scratchBytes) {
    if (scratch !== 0) sodium._free(scratch);
    scratchBytes = Math.max(bytes, scratchBytes * 2, SCRATCH_MIN);
    scratch = sodium._malloc(KEY_BYTES + NONCE_BYTES + 2 * scratchBytes + MAC_BYTES);
    if (scratch === 0) {
      scratchBytes = 0;
      throw new Error('libsodium is out of memory');
    }
  }
  return scratch;
}

/**
 * The shared key and the nonce staged at the start of the scratch area, with room for `bytes` of
 * input; the input's address (the output's is `scratchBytes` further on).
 */
function stage(sodium: RawSodium, bytes: number, nonce: Uint8Array, shared: Uint8Array): number {
  const key = scratchFor(sodium, bytes);
  // Read HEAPU8 after scratchFor: a malloc that grows the heap replaces it.
  sodium.HEAPU8.set(shared, key);
  sodium.HEAPU8.set(nonce, key + KEY_BYTES);
  return key + KEY_BYTES + NONCE_BYTES;
}

/**
 * Box [`flag` octet][`body`] under a shared key (crypto_box_easy_afternm), writing the
 * 1 + body.length + MAC_BYTES octets of the box into `out` from `at`: the MESSAGE codec's
 * encoder, with no allocation.
 */
export function sealFlagged(
  flag: number,
  body: Uint8Array,
  nonce: Uint8Array,
  shared: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const sodium = raw();
  const length = 1 + body.length;
  const input = stage(sodium, length, nonce, shared);
  const output = input + scratchBytes;
  const heap = sodium.HEAPU8;
  heap[input] = flag;
  heap.set(body, input + 1);
  sodium._crypto_box_easy_afternm(output, input, length, 0, scratch + KEY_BYTES, scratch);
  out.set(heap.subarray(output, output + length + MAC_BYTES), at);
  heap.fill(0, scratch, scratch + KEY_BYTES);
}

/** Open a box under a shared key (crypto_box_open_easy_afternm) into a new Buffer; undefined when it does not open. */
export function openCopy(cipher: Uint8Array, nonce: Uint8Array, shared: Uint8Array): Buffer | undefined {
  if (cipher.length < MAC_BYTES) return undefined;
  const sodium = raw();
  const input = stage(sodium, cipher.length, nonce, shared);
  const output = input + scratchBytes;
  const heap = sodium.HEAPU8;
  heap.set(cipher, input);
  const failed =
    sodium._crypto_box_open_easy_afternm(output, input, cipher.length, 0, scratch + KEY_BYTES, scratch) !== 0;
  heap.fill(0, scratch, scratch + KEY_BYTES);
  if (failed) return undefined;
  const plain = Buffer.allocUnsafe(cipher.length - MAC_BYTES);
  plain.set(heap.subarray(output, output + plain.length));
  return plain;
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
