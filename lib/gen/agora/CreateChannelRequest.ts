// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';
import type { Long } from '@grpc/proto-loader';

export interface CreateChannelRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  /**
   * With check_version, create only if the list is still at expected_version; otherwise
   * AGORA_ERR_CHANNEL_LIST_STALE and nothing is created. The check and the insert are one
   * step in the store, so two creators naming one version cannot both pass it.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
  /**
   * Absent: public (read and write for system.Authenticated). The creator always gets write.
   */
  'permissions'?: (_agora_ChannelPermissions | null);
}

export interface CreateChannelRequest__Output {
  'sesskey': (number);
  'channel': (string);
  /**
   * With check_version, create only if the list is still at expected_version; otherwise
   * AGORA_ERR_CHANNEL_LIST_STALE and nothing is created. The check and the insert are one
   * step in the store, so two creators naming one version cannot both pass it.
   */
  'check_version': (boolean);
  'expected_version': (number);
  /**
   * Absent: public (read and write for system.Authenticated). The creator always gets write.
   */
  'permissions': (_agora_ChannelPermissions__Output | null);
}
