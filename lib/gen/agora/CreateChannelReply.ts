// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateChannelReply {
  'channel'?: (string);
  'created'?: (boolean);
  /**
   * The list's version after the create.
   */
  'version'?: (number | string | Long);
  /**
   * The channel's last_modified (ms), created now or before.
   */
  'last_modified'?: (number | string | Long);
}

export interface CreateChannelReply__Output {
  'channel': (string);
  'created': (boolean);
  /**
   * The list's version after the create.
   */
  'version': (number);
  /**
   * The channel's last_modified (ms), created now or before.
   */
  'last_modified': (number);
}
