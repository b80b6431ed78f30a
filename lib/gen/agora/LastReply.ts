// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface LastReply {
  /**
   * 0 when the channel has no message yet.
   */
  'messageid'?: (number | string | Long);
  /**
   * The last message's last_modified: the version of the channel's message list (0: no message yet).
   */
  'last_modified'?: (number | string | Long);
}

export interface LastReply__Output {
  /**
   * 0 when the channel has no message yet.
   */
  'messageid': (number);
  /**
   * The last message's last_modified: the version of the channel's message list (0: no message yet).
   */
  'last_modified': (number);
}
