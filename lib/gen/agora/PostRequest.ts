// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface PostRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  'message'?: (string);
  /**
   * With check_last, post only if the channel's last message id is still expected_last
   * (0: no message yet); otherwise AGORA_ERR_MESSAGE_STALE and nothing is posted. The check
   * and the append are one step in the store, so two posters cannot both pass it.
   */
  'check_last'?: (boolean);
  'expected_last'?: (number | string | Long);
}

export interface PostRequest__Output {
  'sesskey': (number);
  'channel': (string);
  'message': (string);
  /**
   * With check_last, post only if the channel's last message id is still expected_last
   * (0: no message yet); otherwise AGORA_ERR_MESSAGE_STALE and nothing is posted. The check
   * and the append are one step in the store, so two posters cannot both pass it.
   */
  'check_last': (boolean);
  'expected_last': (number);
}
