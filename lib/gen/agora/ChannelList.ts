// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface ChannelList {
  'channels'?: (string)[];
  /**
   * The list's version: bumped by each create and each change of a channel's permissions (the
   * ETag of GET /v1/channels).
   */
  'version'?: (number | string | Long);
}

export interface ChannelList__Output {
  'channels': (string)[];
  /**
   * The list's version: bumped by each create and each change of a channel's permissions (the
   * ETag of GET /v1/channels).
   */
  'version': (number);
}
