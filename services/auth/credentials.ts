/**
 * Usernames and passwords: which ones auth accepts, and the scrypt hash a user record keeps
 * in place of the password.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { UserRecord } from '../../lib/store/contracts';

/** Longest username, in characters. */
export const USERNAME_MAX = 64;
/** Longest password, in characters (Unicode code points). */
export const PASSWORD_MAX = 256;
/**
 * A username is 1 to 64 characters from ASCII letters, digits and `_ . - @` (so an e-mail
 * address fits). Case matters (`Ann` and `ann` are two users); nothing is trimmed.
 */
export const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** scrypt output length, bytes; the cost is node's default (N=16384, r=8, p=1). */
const HASH_BYTES = 64;
const SALT_BYTES = 16;

/** Why `username` is not acceptable, or null. */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'username must not be empty';
  if (username.length > USERNAME_MAX)
    return `username has ${username.length} characters, at most ${USERNAME_MAX} allowed`;
  if (!USERNAME.test(username)) return 'username may only hold letters A-Z a-z, digits and "_", ".", "-", "@"';
  return null;
}

/** Why `password` is not acceptable, or null (the password itself is never echoed). */
export function passwordProblem(password: string): string | null {
  if (password.length === 0) return 'password must not be empty';
  const length = password.length > 2 * PASSWORD_MAX ? password.length : [...password].length;
  if (length > PASSWORD_MAX) return `password has more than ${PASSWORD_MAX} characters`;
  return null;
}

/** scrypt of `password` with `salt`. */
export function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

/** Whether `password` is the user's, compared in constant time. */
export async function verifyPassword(password: string, user: UserRecord): Promise<boolean> {
  const expected = Buffer.from(user.hash, 'base64');
  const actual = await hashPassword(password, Buffer.from(user.salt, 'base64'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A fresh user record: random salt, scrypt hash, both base64. */
export async function newUser(username: string, password: string, now: number): Promise<UserRecord> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await hashPassword(password, salt);
  return { username, hash: hash.toString('base64'), salt: salt.toString('base64'), createdAt: now };
}
