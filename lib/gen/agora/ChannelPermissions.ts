// Original file: proto/channels.proto


/**
 * Principals (lib/permissions.ts): system.Everyone, system.Authenticated, account:<username>.
 */
export interface ChannelPermissions {
  /**
   * May read the channel's messages and see it listed.
   */
  'read'?: (string)[];
  /**
   * May post to it and change its permissions (write implies read).
   */
  'write'?: (string)[];
}

/**
 * Principals (lib/permissions.ts): system.Everyone, system.Authenticated, account:<username>.
 */
export interface ChannelPermissions__Output {
  /**
   * May read the channel's messages and see it listed.
   */
  'read': (string)[];
  /**
   * May post to it and change its permissions (write implies read).
   */
  'write': (string)[];
}
