/**
 * Who may read and write a channel or a node: Kinto's permissions model (docs/API-V1.md
 * "Permissions"). A record holds `{read: [...], write: [...]}`, lists of principals:
 * `system.Everyone`, `system.Authenticated` or `account:<username>`. `write` implies `read`.
 * A caller holds the principals of `principalsOf`; it may do what one of them is granted.
 * Pure: the services decide with it (services/channels, services/messages, services/compute,
 * services/routes), the stores keep what it makes.
 */

export interface Permissions {
  read: string[];
  write: string[];
}

/** Anyone, signed in or not. */
export const EVERYONE = 'system.Everyone';
/** Every signed-in user. */
export const AUTHENTICATED = 'system.Authenticated';

/** The kinds of permission a record has, in the order they are listed. */
export const PERMISSION_KINDS = ['read', 'write'] as const;
export type PermissionKind = (typeof PERMISSION_KINDS)[number];

/**
 * How long Messages keeps a channel's permissions at most, counted from when it asked Channels
 * (services/messages/handlers.ts `cacheAccess`). Without a shared backend to announce a change on,
 * Channels answers a change of permissions only this long (and a margin) after it is stored
 * (services/channels/handlers.ts `permissionChanges`), so no copy from before the change can still
 * answer a post.
 */
export const CHANNEL_ACCESS_CACHE_MS = 1000;

/**
 * The same with a shared backend, where each change is announced to every Messages instance, which
 * drops its copy before Channels answers (lib/fanout.ts): the bound matters only when that announce
 * cannot be published, and then Channels answers once it has passed (and a margin).
 */
export const SHARED_CHANNEL_ACCESS_CACHE_MS = 10_000;

/** Most principals one kind of permission may list. */
export const PRINCIPALS_MAX = 64;

/** `account:` then a username (services/auth/credentials.ts: 1 to 64 of `A-Z a-z 0-9 _ . - @`). */
const ACCOUNT = /^account:[A-Za-z0-9_.@-]{1,64}$/;

/** The principal of one user. */
export function accountOf(username: string): string {
  return `account:${username}`;
}

/** Every principal a signed-in user holds, its own first (what the hello's `user.principals` lists). */
export function principalsOf(username: string): string[] {
  return [accountOf(username), AUTHENTICATED, EVERYONE];
}

/** Whether `principal` is one this model knows. */
export function isPrincipal(principal: unknown): principal is string {
  return (
    typeof principal === 'string' && (principal === EVERYONE || principal === AUTHENTICATED || ACCOUNT.test(principal))
  );
}

/** Whether one of `principals` may write `permissions`. */
export function canWrite(permissions: Permissions, principals: readonly string[]): boolean {
  return permissions.write.some((p) => principals.includes(p));
}

/** Whether one of `principals` may read `permissions`: a reader, or a writer (write implies read). */
export function canRead(permissions: Permissions, principals: readonly string[]): boolean {
  return permissions.read.some((p) => principals.includes(p)) || canWrite(permissions, principals);
}

/** A channel made without permissions: public, as channels always were (every signed-in user reads and posts). */
export function publicChannel(creator: string): Permissions {
  return normalized({ read: [AUTHENTICATED], write: [AUTHENTICATED] }, creator);
}

/** A node made without permissions: its owner's alone. */
export function ownerOnly(owner: string): Permissions {
  return normalized({ read: [], write: [] }, owner);
}

/**
 * Why `value` is not a permissions object as a client may send it (`{read?: [...], write?: [...]}`,
 * nothing else, each a list of at most PRINCIPALS_MAX known principals), or null.
 */
export function permissionsProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return 'permissions must be an object {"read": [...], "write": [...]}';
  for (const key of Object.keys(value))
    if (!(PERMISSION_KINDS as readonly string[]).includes(key))
      return `permissions has ${cut(key)}: only ${PERMISSION_KINDS.join(' and ')} are known`;
  for (const kind of PERMISSION_KINDS) {
    const list = (value as Record<string, unknown>)[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `permissions.${kind} must be a list of principals`;
    if (list.length > PRINCIPALS_MAX)
      return `permissions.${kind} lists ${list.length} principals, at most ${PRINCIPALS_MAX} allowed`;
    const bad = (list as unknown[]).find((p) => !isPrincipal(p));
    if (bad !== undefined)
      return `permissions.${kind} has ${typeof bad === 'string' ? cut(bad) : 'a value that is no string'}: a principal is ${EVERYONE}, ${AUTHENTICATED} or account:<username>`;
  }
  return null;
}

/**
 * `permissions` as stored: each list without duplicates, in a stable order (the special principals
 * first, then accounts by name), and `keeper` (the owner or creator) always among the writers, so
 * a record always has someone who may change it.
 */
export function normalized(permissions: Partial<Permissions>, keeper: string): Permissions {
  const tidy = (list: readonly string[] | undefined, extra: string[]): string[] => [
    ...new Set([...(list ?? []), ...extra].sort(byPrincipal)),
  ];
  return { read: tidy(permissions.read, []), write: tidy(permissions.write, [accountOf(keeper)]) };
}

/**
 * A change of permissions as Kinto's PATCH makes it: each kind `change` names is replaced, the
 * others kept; the editor and the keeper are among the writers after it ("every modification
 * grants write to its editor").
 */
export function patched(
  current: Permissions,
  change: Partial<Permissions>,
  keeper: string,
  editor: string,
): Permissions {
  const next = { read: change.read ?? current.read, write: [...(change.write ?? current.write), accountOf(editor)] };
  return normalized(next, keeper);
}

/**
 * The writers of a node as a node target carries them (proto/routes.proto `NodeTarget.write`): a
 * node's writers always include its owner, so none at all is a target from before permissions
 * existed, its owner's alone.
 */
export function targetWriters(write: readonly string[] | undefined, owner: string): string[] {
  if (write !== undefined && write.length > 0) return [...write];
  return owner === '' ? [] : [accountOf(owner)];
}

/** Whether two permissions are the same, once normalized. */
export function samePermissions(a: Permissions, b: Permissions): boolean {
  return a.read.join('\n') === b.read.join('\n') && a.write.join('\n') === b.write.join('\n');
}

/** A copy, so that a caller never shares the lists of a stored record. */
export function copyPermissions(p: Permissions): Permissions {
  return { read: [...p.read], write: [...p.write] };
}

/** system.Everyone, system.Authenticated, then accounts in code-unit order. */
function byPrincipal(a: string, b: string): number {
  const rank = (p: string): number => (p === EVERYONE ? 0 : p === AUTHENTICATED ? 1 : 2);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A principal for an error message: JSON-quoted and cut. */
function cut(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
