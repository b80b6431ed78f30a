// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface Message {
  'messageid'?: (number | string | Long);
  'username'?: (string);
  'message'?: (string);
  /**
   * When the store stored it, ms since the epoch, strictly increasing in id order within a channel
   * (the /v1 protocol's last_modified, docs/API-V1.md). Retrieve and Stream events set it (0 in the
   * event of a post announced by an instance that did not know it).
   */
  'last_modified'?: (number | string | Long);
}

export interface Message__Output {
  'messageid': (number);
  'username': (string);
  'message': (string);
  /**
   * When the store stored it, ms since the epoch, strictly increasing in id order within a channel
   * (the /v1 protocol's last_modified, docs/API-V1.md). Retrieve and Stream events set it (0 in the
   * event of a post announced by an instance that did not know it).
   */
  'last_modified': (number);
}
