/**
 * CURVE certificates as czmq's zcert and pyzmq's zmq.auth write them: ZPL files (lib/bus/zpl.ts)
 * with a `metadata` section and a `curve` section holding Z85 keys.
 *
 *     NAME.key          metadata (serve = "echo,Auth", …), curve/public-key: given to peers
 *     NAME.key_secret   the same, plus curve/secret-key: kept private (mode 0600)
 *
 * pyzmq writes metadata bare (`serve = echo,Auth`) and only into the secret file; czmq quotes
 * it and writes it into both. Both are read; this module writes as czmq does.
 */
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { boxKeyPair, equal, KEY_BYTES, publicKeyOf, sodiumReady } from './sodium';
import { z85Decode, z85Encode } from './z85';
import { formatZpl, parseZpl, zplGet, zplLocate, type ZplNode } from './zpl';

export interface CurveCertificate {
  /** The long-term public key (32 bytes). */
  publicKey: Buffer;
  /** The long-term secret key (32 bytes), when the certificate is a secret one. */
  secretKey?: Buffer;
  /** The metadata section: name → value (for the bus, e.g. `serve`, `call`, `act_for_users`). */
  metadata: Record<string, string>;
}

/** The suffix of the public certificate file, then of the secret one (czmq's zcert_save). */
export const PUBLIC_SUFFIX = '.key';
export const SECRET_SUFFIX = '.key_secret';
const Z85_KEY_CHARS = 40;

/** A new certificate with a fresh key pair (libsodium must be loaded: `await sodiumReady()`). */
export function generateCertificate(metadata: Record<string, string> = {}): CurveCertificate {
  const { publicKey, secretKey } = boxKeyPair();
  return { publicKey, secretKey, metadata: { ...metadata } };
}

/**
 * Read a certificate's text. Throws an Error naming `source` when the ZPL does not parse, the
 * public key is missing, a key is not 40 Z85 characters, or the secret key is not the public
 * key's (libsodium must be loaded for that check when there is a secret key).
 */
export function parseCertificate(text: string, source = 'certificate'): CurveCertificate {
  const root = parseZpl(text, source);
  const publicText = zplGet(root, 'curve/public-key');
  if (publicText === undefined) throw new Error(`${source}: no curve/public-key`);
  const publicKey = decodeKey(publicText, 'curve/public-key', source);
  const secretText = zplGet(root, 'curve/secret-key');
  const metadata: Record<string, string> = {};
  for (const item of zplLocate(root, 'metadata')?.children ?? []) metadata[item.name] = item.value ?? '';
  if (secretText === undefined) return { publicKey, metadata };
  const secretKey = decodeKey(secretText, 'curve/secret-key', source);
  if (!equal(publicKeyOf(secretKey), publicKey))
    throw new Error(`${source}: curve/secret-key is not the secret key of curve/public-key`);
  return { publicKey, secretKey, metadata };
}

function decodeKey(text: string, what: string, source: string): Buffer {
  if (text.length !== Z85_KEY_CHARS) throw new Error(`${source}: ${what} is ${text.length} characters, not 40 (Z85)`);
  try {
    const key = z85Decode(text);
    if (key.length === KEY_BYTES) return key;
  } catch (e) {
    throw new Error(`${source}: ${what} is not Z85: ${(e as Error).message}`);
  }
  throw new Error(`${source}: ${what} is not a 32-byte key`);
}

/** The text of the public certificate, or with `secret` of the secret one (which needs `cert.secretKey`). */
export function formatCertificate(cert: CurveCertificate, secret = false, now = new Date()): string {
  const curve: ZplNode = {
    name: 'curve',
    children: [{ name: 'public-key', value: z85Encode(cert.publicKey), children: [] }],
  };
  if (secret) {
    if (cert.secretKey === undefined) throw new Error('a secret certificate needs the secret key');
    curve.children.push({ name: 'secret-key', value: z85Encode(cert.secretKey), children: [] });
  }
  const metadata: ZplNode = {
    name: 'metadata',
    children: Object.entries(cert.metadata).map(([name, value]) => ({ name, value, children: [] })),
  };
  const banner = [`   ****  Generated on ${now.toISOString()} by Agora  ****`];
  if (secret) {
    banner.push(
      '   ZeroMQ CURVE **Secret** Certificate',
      '   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.',
    );
  } else {
    banner.push(
      '   ZeroMQ CURVE Public Certificate',
      '   Exchange securely, or use a secure mechanism to verify the contents',
      '   of this file after exchange.',
    );
  }
  return formatZpl({ name: '', children: [metadata, curve] }, banner);
}

/** Read one certificate file (public or secret). */
export async function readCertificate(file: string): Promise<CurveCertificate> {
  await sodiumReady();
  return parseCertificate(await readFile(file, 'utf8'), file);
}

/**
 * Write `dir/NAME.key` and, when the certificate has its secret key, `dir/NAME.key_secret`
 * (mode 0600, created so from the start). Answers the two paths.
 */
export async function writeCertificate(
  dir: string,
  name: string,
  cert: CurveCertificate,
): Promise<{ publicFile: string; secretFile?: string }> {
  const publicFile = path.join(dir, name + PUBLIC_SUFFIX);
  await writeFile(publicFile, formatCertificate(cert), { mode: 0o644 });
  if (cert.secretKey === undefined) return { publicFile };
  const secretFile = path.join(dir, name + SECRET_SUFFIX);
  await writeFile(secretFile, formatCertificate(cert, true), { mode: 0o600 });
  await chmod(secretFile, 0o600); // an existing file keeps its mode through writeFile
  return { publicFile, secretFile };
}

/**
 * Every public certificate (`*.key`) in `dir`, by Z85 public key: the allow-list a server
 * authorizes clients from, as pyzmq's load_certificates and czmq's zcertstore read one.
 */
export async function readPublicCertificates(dir: string): Promise<Map<string, CurveCertificate>> {
  const certs = new Map<string, CurveCertificate>();
  const names = (await readdir(dir)).filter((n) => n.endsWith(PUBLIC_SUFFIX)).sort();
  for (const name of names) {
    const cert = await readCertificate(path.join(dir, name));
    certs.set(z85Encode(cert.publicKey), { publicKey: cert.publicKey, metadata: cert.metadata });
  }
  return certs;
}
