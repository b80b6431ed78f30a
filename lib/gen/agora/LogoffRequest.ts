// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface LogoffRequest {
  'sesskey'?: (number | string | Long);
  /**
   * With check_version, end the session only if it is still at expected_version; otherwise
   * AGORA_ERR_SESSION_STALE and it goes on. The check and the delete are one step in the store.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
}

export interface LogoffRequest__Output {
  'sesskey': (number);
  /**
   * With check_version, end the session only if it is still at expected_version; otherwise
   * AGORA_ERR_SESSION_STALE and it goes on. The check and the delete are one step in the store.
   */
  'check_version': (boolean);
  'expected_version': (number);
}
