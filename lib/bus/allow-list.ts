/**
 * The broker's allow-list under CURVE: a directory of public certificates (lib/bus/curve-cert.ts),
 * one per key that may connect, each named by its file (`gateway.key` is the key `gateway`)
 * and granting what its metadata says (docs/PROTOCOL.md §15):
 *
 *     serve = "echo,Auth"          services the key may register as a worker (`*`: any)
 *     call = "Auth.Logon,echo"     services, or Service.Method, the key may call (`*`: any)
 *     act_for_users = "true"       the metadata frame's `user` counts when this key sends it
 *
 * A key the directory does not hold cannot complete the handshake. Reading it again (SIGHUP)
 * swaps the whole list at once; a directory that does not read keeps the previous list.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCertificate, PUBLIC_SUFFIX } from './curve-cert';
import { sodiumReady } from './sodium';
import { z85Encode } from './z85';

/** A list of names, or every name. */
export type Names = '*' | ReadonlySet<string>;

/** What one key may do on the bus. */
export interface Grant {
  /** The certificate's name (its file name without `.key`): the caller workers see. */
  name: string;
  /** The key, Z85. */
  key: string;
  serve: Names;
  call: Names;
  actForUsers: boolean;
}

/** A metadata value as a list: comma-separated, blanks and surrounding quotes dropped; `*` anywhere means all. */
export function parseNames(value: string | undefined): Names {
  const names = (value ?? '')
    .trim()
    .replace(/^"(.*)"$/s, '$1')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return names.includes('*') ? '*' : new Set(names);
}

/** The grant a certificate's metadata makes to its key. */
export function grantOf(name: string, publicKey: Buffer, metadata: Record<string, string>): Grant {
  const act = (metadata.act_for_users ?? '')
    .trim()
    .replace(/^"(.*)"$/s, '$1')
    .toLowerCase();
  return {
    name,
    key: z85Encode(publicKey),
    serve: parseNames(metadata.serve),
    call: parseNames(metadata.call),
    actForUsers: act === 'true' || act === 'yes' || act === '1',
  };
}

/** Whether `grant` lets its key register `service` as a worker. */
export function mayServe(grant: Grant, service: string): boolean {
  return grant.serve === '*' || grant.serve.has(service);
}

/**
 * Whether `grant` lets its key call `service.method`: an entry names the whole service, or the
 * service, a dot and one method. `method` is undefined when the body names none the broker can
 * read; only a grant of the whole service then allows the call.
 */
export function mayCall(grant: Grant, service: string, method: string | undefined): boolean {
  if (grant.call === '*' || grant.call.has(service)) return true;
  return method !== undefined && grant.call.has(`${service}.${method}`);
}

/** The keys the broker admits, by Z85 public key. */
export class AllowList {
  private constructor(private readonly grants: ReadonlyMap<string, Grant>) {}

  /** Read every `*.key` file of `dir`; throws an Error naming the file that does not parse. */
  static async read(dir: string): Promise<AllowList> {
    await sodiumReady();
    const grants = new Map<string, Grant>();
    const files = (await readdir(dir)).filter((f) => f.endsWith(PUBLIC_SUFFIX)).sort();
    for (const file of files) {
      const full = path.join(dir, file);
      const cert = parseCertificate(await readFile(full, 'utf8'), full);
      const grant = grantOf(file.slice(0, -PUBLIC_SUFFIX.length), cert.publicKey, cert.metadata);
      grants.set(grant.key, grant);
    }
    return new AllowList(grants);
  }

  /** An allow-list of the given grants (tests). */
  static of(grants: Grant[]): AllowList {
    return new AllowList(new Map(grants.map((g) => [g.key, g])));
  }

  get size(): number {
    return this.grants.size;
  }

  /** The grant of `key` (32 bytes), or undefined when the list does not hold it. */
  get(key: Buffer | undefined): Grant | undefined {
    return key === undefined ? undefined : this.grants.get(z85Encode(key));
  }
}
