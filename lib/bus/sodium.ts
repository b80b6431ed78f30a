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
 * 31 µs for 4 KB). The WebAssembly module loads asynchronously: `await sodiumReady()` once before
 * anything else here is called.
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
