// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface ChannelList {
  'channels'?: (string)[];
  /**
   * The list's version: the timestamp (ms) of its last write (a create or a change of a channel's
   * permissions), strictly increasing (the ETag of GET /v1/channels).
   */
  'version'?: (number | string | Long);
  /**
   * Each channel's last_modified (ms: the timestamp of its last write), in the order of `channels`.
   */
  'last_modified'?: (number | string | Long)[];
}

export interface ChannelList__Output {
  'channels': (string)[];
  /**
   * The list's version: the timestamp (ms) of its last write (a create or a change of a channel's
   * permissions), strictly increasing (the ETag of GET /v1/channels).
   */
  'version': (number);
  /**
   * Each channel's last_modified (ms: the timestamp of its last write), in the order of `channels`.
   */
  'last_modified': (number)[];
}
