/**
 * Names of compute nodes as the driver contract allows them, checked by the TypeScript driver
 * (anyone may call it on the bus); docs/COMPUTE.md states the same rules for drivers in other
 * languages. Compute asks more of a name, a DNS label (lib/hosts.ts `nodeLabelProblem`), since
 * a name is part of the node's URL.
 */

/** A node id: chosen by compute (a UUID), 1-64 of `a-z 0-9 -`, not starting with `-`. */
export const NODE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A node name: 1-64 of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-` (stands unescaped in URLs and logs). */
export const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Longest node name, and longest image or size name. */
export const NODE_NAME_MAX = 64;

/** Why `name` is not a valid node name, or null when it is. */
export function nodeNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a name is required';
  if (name.length > NODE_NAME_MAX) return `the name has ${name.length} characters, at most ${NODE_NAME_MAX} allowed`;
  if (!NODE_NAME.test(name))
    return `name ${cut(name)} may only hold letters, digits, "_", "." and "-", and may not start with "." or "-"`;
  return null;
}

/** Why `id` is not a valid node id, or null when it is. */
export function nodeIdProblem(id: unknown): string | null {
  if (typeof id !== 'string' || id.length === 0) return 'an id is required';
  if (!NODE_ID.test(id)) return `id ${cut(id)} must be 1-64 of a-z, 0-9 and "-", not starting with "-"`;
  return null;
}

/** A value for an error message: JSON-quoted and cut, so odd input stays readable. */
export function cut(text: string): string {
  return JSON.stringify(text.length > NODE_NAME_MAX ? `${text.slice(0, NODE_NAME_MAX)}…` : text);
}
