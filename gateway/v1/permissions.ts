/**
 * The permissions of a /v1 record as the edge shows and takes them (docs/API-V1.md
 * "Permissions"): `{"read": [...], "write": [...]}` of principals. Who may do what is the
 * services' to say (lib/permissions.ts); here is only their shape on the wire: the schemas,
 * the one function that puts them in a single-record answer, and the fields of a request.
 */
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

/** What a single-record answer carries as `permissions`. */
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

/** A single-record answer: the record, and its permissions beside it. */
export function withPermissions(body: Rec, permissions: unknown): Rec {
  return { ...body, permissions };
}

/** The schema of a single-record answer (`withPermissions`), from the record's. */
export function withPermissionsSchema<S extends { properties: Rec }>(schema: S): S {
  return { ...schema, properties: { ...schema.properties, permissions: PERMISSIONS_SCHEMA } };
}

/** A service's reply split into the record and its permissions. */
export function splitPermissions(reply: Rec): { record: Rec; permissions: unknown } {
  const { permissions, ...record } = reply;
  return { record, permissions };
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
