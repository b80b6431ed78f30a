// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface PostReply {
  'messageid'?: (number | string | Long);
  /**
   * The message's last_modified (as Message's); for a replayed idempotency key whose message is no
   * longer retained, 0.
   */
  'last_modified'?: (number | string | Long);
}

export interface PostReply__Output {
  'messageid': (number);
  /**
   * The message's last_modified (as Message's); for a replayed idempotency key whose message is no
   * longer retained, 0.
   */
  'last_modified': (number);
}
