// Original file: proto/channels.proto

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
}
