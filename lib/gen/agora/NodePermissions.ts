// Original file: proto/compute.proto


/**
 * Principals (lib/permissions.ts): system.Everyone, system.Authenticated, account:<username>.
 */
export interface NodePermissions {
  /**
   * May see the node: its record, status and output, in their node list.
   */
  'read'?: (string)[];
  /**
   * May control it: start, stop, resize, rename, delete, change its permissions, route to it.
   */
  'write'?: (string)[];
}

/**
 * Principals (lib/permissions.ts): system.Everyone, system.Authenticated, account:<username>.
 */
export interface NodePermissions__Output {
  /**
   * May see the node: its record, status and output, in their node list.
   */
  'read': (string)[];
  /**
   * May control it: start, stop, resize, rename, delete, change its permissions, route to it.
   */
  'write': (string)[];
}
