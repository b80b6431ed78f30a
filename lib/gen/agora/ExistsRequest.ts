// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface ExistsRequest {
  'channel'?: (string);
  /**
   * 0: no session (the caller holds system.Everyone only).
   */
  'sesskey'?: (number | string | Long);
}

export interface ExistsRequest__Output {
  'channel': (string);
  /**
   * 0: no session (the caller holds system.Everyone only).
   */
  'sesskey': (number);
}
