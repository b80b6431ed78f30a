// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface Message {
  'messageid'?: (number | string | Long);
  'username'?: (string);
  'message'?: (string);
  /**
   * When the store stored it, ms since the epoch, strictly increasing in id order within a channel
   * (the /v1 protocol's last_modified, docs/API-V1.md). Retrieve sets it; a Stream event does not (0).
   */
  'last_modified'?: (number | string | Long);
}

export interface Message__Output {
  'messageid': (number);
  'username': (string);
  'message': (string);
  /**
   * When the store stored it, ms since the epoch, strictly increasing in id order within a channel
   * (the /v1 protocol's last_modified, docs/API-V1.md). Retrieve sets it; a Stream event does not (0).
   */
  'last_modified': (number);
}
