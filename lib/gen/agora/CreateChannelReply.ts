// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';
import type { Long } from '@grpc/proto-loader';

export interface CreateChannelReply {
  'channel'?: (string);
  'created'?: (boolean);
  /**
   * The list's version after the create.
   */
  'version'?: (number | string | Long);
  /**
   * The channel's permissions (as they were, when it existed).
   */
  'permissions'?: (_agora_ChannelPermissions | null);
  /**
   * The channel's last_modified (ms), created now or before.
   */
  'last_modified'?: (number | string | Long);
}

export interface CreateChannelReply__Output {
  'channel': (string);
  'created': (boolean);
  /**
   * The list's version after the create.
   */
  'version': (number);
  /**
   * The channel's permissions (as they were, when it existed).
   */
  'permissions': (_agora_ChannelPermissions__Output | null);
  /**
   * The channel's last_modified (ms), created now or before.
   */
  'last_modified': (number);
}
