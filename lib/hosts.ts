/**
 * The host names of the proxy (docs/ROUTING.md): the DNS label a node name must be, the label
 * that stands for an owner, how a node's static host and URL are formed, which hosts a custom
 * route may take as its source and whose zone each falls in. Shared by compute (each node's
 * `url`), Routes (the rules of a route's source) and the proxy (a request's Host to a node).
 */
import { createHash } from 'node:crypto';
import { cut } from './node-names';

/** Longest DNS label, and longest host name (RFC 1035). */
export const LABEL_MAX = 63;
export const HOST_MAX = 253;

/** A DNS label as hosts are written here: 1-63 of `a-z 0-9 -`, neither first nor last a `-`. */
export const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** How a label that stands for a username in another form starts (docs/ROUTING.md "Static URLs"). */
export const HASHED_OWNER_PREFIX = 'u--';
/** Characters of base32 (RFC 4648, lower case) after HASHED_OWNER_PREFIX: 100 bits of SHA-256. */
const HASHED_OWNER_CHARS = 20;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Why `name` cannot be a node's name, or null: compute's names are the first label of the node's
 * host, so each is a DNS label in lower case (the driver contract allows more; compute does not).
 */
export function nodeLabelProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a name is required';
  if (name.length > LABEL_MAX)
    return `the name has ${name.length} characters, at most ${LABEL_MAX} allowed (it is a DNS label of the node's URL)`;
  if (!LABEL.test(name))
    return `name ${cut(name)} may only hold lower-case letters, digits and "-", and may not start or end with "-" (it is a DNS label of the node's URL)`;
  return null;
}

/**
 * The label that stands for `username` in host names. A username that is a lower-case DNS label
 * without `--` is its own label (`alice`); any other (`Ann`, `bob.smith`, `ann@example.com`)
 * is `u--` and the first 20 characters of the lower-case base32 of its SHA-256. Usernames are
 * case-sensitive and allow `_ . @`, so no shorter readable form would be one-to-one; a label of
 * the first kind never holds `--`, so the two kinds never meet. The label never changes.
 */
export function ownerLabel(username: string): string {
  if (LABEL.test(username) && !username.includes('--')) return username;
  const digest = createHash('sha256').update(username, 'utf8').digest();
  return HASHED_OWNER_PREFIX + base32(digest).slice(0, HASHED_OWNER_CHARS);
}

/** RFC 4648 base32 of `bytes`, lower case, unpadded. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The zone of `owner` under `domain`: `<owner's label>.<domain>`; it and every host below it are theirs. */
export function ownerZone(owner: string, domain: string): string {
  return `${ownerLabel(owner)}.${domain}`;
}

/** The static host of a node, `<name>.<owner's label>.<domain>`; undefined when the name is not a DNS label. */
export function nodeHost(name: string, owner: string, domain: string): string | undefined {
  return nodeLabelProblem(name) === null ? `${name}.${ownerZone(owner, domain)}` : undefined;
}

/** The static URL of a node, `http://<host>:<port>/` (`:80` left out); '' when it has no host. */
export function nodeUrl(name: string, owner: string, domain: string, port: number): string {
  const host = nodeHost(name, owner, domain);
  if (host === undefined) return '';
  return `http://${host}${port === 80 ? '' : `:${port}`}/`;
}

/** A node host split into its two labels: `{name, owner}` (the owner's label), or undefined. */
export function nodeHostParts(host: string, domain: string): { name: string; owner: string } | undefined {
  if (!host.endsWith(`.${domain}`)) return undefined;
  const labels = host.slice(0, -domain.length - 1).split('.');
  return labels.length === 2 ? { name: labels[0], owner: labels[1] } : undefined;
}

/**
 * `text` as a host name in its one form (lower case, without a final dot), or why it is none:
 * labels of `a-z 0-9 -` (any case), 1-63 characters each, neither starting nor ending with `-`,
 * at most 253 characters in all; no port, no path, no wildcard.
 */
export function normalizeHost(text: string): { host: string } | { problem: string } {
  const host = text.toLowerCase().replace(/\.$/, '');
  if (host.length === 0) return { problem: 'a host name is required' };
  if (host.length > HOST_MAX) return { problem: `the host has ${host.length} characters, at most ${HOST_MAX} allowed` };
  const bad = host.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined)
    return {
      problem: `${cut(text)} is not a host name: each dot-separated label is 1-${LABEL_MAX} of letters, digits and "-", not starting or ending with "-"`,
    };
  return { host };
}

/**
 * Why `username` may not route `host` (a normalized host), or null when it may. The proxy's
 * domain itself is nobody's; a host below it is in the zone its last label before the domain
 * names (`web.alice.<domain>` and `alice.<domain>` are alice's), and only that zone's owner may
 * route it, administrators included. Hosts outside the domain are anyone's who gets there first.
 */
export function zoneProblem(host: string, username: string, domain: string): string | null {
  if (host === domain) return `${host} is the proxy's own domain: nobody may route it`;
  if (!host.endsWith(`.${domain}`)) return null;
  const labels = host.slice(0, -domain.length - 1).split('.');
  const zone = labels[labels.length - 1];
  if (zone === ownerLabel(username)) return null;
  return `${host} is in ${zone}.${domain}, the zone of another user: only its owner may route it`;
}
