/**
 * The permissions of a /v1 record as the edge shows and takes them (docs/API-V1.md
 * "Permissions"): `{"read": [...], "write": [...]}` of principals. Who may do what is the
 * services' to say (lib/permissions.ts); here is only their shape on the wire: the schemas, a
 * reply's permissions as a single-record answer carries them (v1/record.ts `recordBody`), and the
 * fields of a request.
 */
import type { Permissions } from './record';
import type { Rec } from './scope';

const PRINCIPALS = {
  type: 'array',
  items: { type: 'string', maxLength: 80 },
  maxItems: 64,
  description: 'principals: system.Everyone, system.Authenticated, account:<username>',
} as const;

/** What a create or a PATCH may send as `permissions` (the services judge each principal). */
export const PERMISSIONS_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { read: PRINCIPALS, write: PRINCIPALS },
} as const;

/** What a single-record answer carries as `permissions` (v1/record.ts `recordResponse`). */
export const PERMISSIONS_SCHEMA = {
  type: 'object',
  required: ['read', 'write'],
  properties: { read: PRINCIPALS, write: { ...PRINCIPALS, description: 'may write; write implies read' } },
} as const;

/** The body of `PATCH` on a record: its new permissions (Kinto's PATCH: each kind given is replaced). */
export const PATCH_PERMISSIONS_BODY = {
  type: 'object',
  required: ['permissions'],
  additionalProperties: false,
  properties: { permissions: PERMISSIONS_BODY },
} as const;

/** The permissions of a service's reply (`{read, write}`), as a record's answer carries them (v1/record.ts). */
export function permissionsOf(reply: Rec): Permissions {
  const given = (reply.permissions ?? {}) as Partial<Record<'read' | 'write', unknown>>;
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  return { read: list(given.read), write: list(given.write) };
}

/** A service's reply split into the record and its permissions. */
export function splitPermissions(reply: Rec): { record: Rec; permissions: Permissions } {
  const { permissions, ...record } = reply;
  return { record, permissions: permissionsOf({ permissions }) };
}

/** The permissions of a create, as the proto request carries them (none: the service's default). */
export function createPermissions(given: Partial<Record<'read' | 'write', string[]>> | undefined): Rec {
  return given === undefined ? {} : { permissions: { read: given.read ?? [], write: given.write ?? [] } };
}

/** The permissions of a PATCH, as the proto request carries them: the lists, and which of them to replace. */
export function patchPermissions(given: Partial<Record<'read' | 'write', string[]>> | undefined): Rec {
  if (given === undefined) return {};
  return {
    permissions: { read: given.read ?? [], write: given.write ?? [] },
    set_read: given.read !== undefined,
    set_write: given.write !== undefined,
  };
}
