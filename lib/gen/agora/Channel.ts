// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';
import type { Long } from '@grpc/proto-loader';

/**
 * One channel as Get and SetPermissions answer it.
 */
export interface Channel {
  'channel'?: (string);
  'permissions'?: (_agora_ChannelPermissions | null);
  /**
   * The timestamp (ms) of its last write: its create or the last change of its permissions.
   */
  'last_modified'?: (number | string | Long);
}

/**
 * One channel as Get and SetPermissions answer it.
 */
export interface Channel__Output {
  'channel': (string);
  'permissions': (_agora_ChannelPermissions__Output | null);
  /**
   * The timestamp (ms) of its last write: its create or the last change of its permissions.
   */
  'last_modified': (number);
}
