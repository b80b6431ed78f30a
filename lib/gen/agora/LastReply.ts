// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface LastReply {
  /**
   * 0 when the channel has no message yet.
   */
  'messageid'?: (number | string | Long);
}

export interface LastReply__Output {
  /**
   * 0 when the channel has no message yet.
   */
  'messageid': (number);
}
