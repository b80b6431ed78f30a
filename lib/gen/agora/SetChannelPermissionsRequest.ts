// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';
import type { Long } from '@grpc/proto-loader';

export interface SetChannelPermissionsRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  /**
   * The new lists: each of read and write is replaced only when its set_ flag is true, the other
   * kept (Kinto's PATCH); the caller and the creator stay among the writers.
   */
  'permissions'?: (_agora_ChannelPermissions | null);
  'set_read'?: (boolean);
  'set_write'?: (boolean);
  /**
   * With check_version, write only if the channel's last_modified is still expected_version
   * (AGORA_ERR_CHANNEL_STALE otherwise, nothing written); the store compares and writes in one
   * step. Without it, a write that loses a race with another is made again on what that one wrote.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
}

export interface SetChannelPermissionsRequest__Output {
  'sesskey': (number);
  'channel': (string);
  /**
   * The new lists: each of read and write is replaced only when its set_ flag is true, the other
   * kept (Kinto's PATCH); the caller and the creator stay among the writers.
   */
  'permissions': (_agora_ChannelPermissions__Output | null);
  'set_read': (boolean);
  'set_write': (boolean);
  /**
   * With check_version, write only if the channel's last_modified is still expected_version
   * (AGORA_ERR_CHANNEL_STALE otherwise, nothing written); the store compares and writes in one
   * step. Without it, a write that loses a race with another is made again on what that one wrote.
   */
  'check_version': (boolean);
  'expected_version': (number);
}
