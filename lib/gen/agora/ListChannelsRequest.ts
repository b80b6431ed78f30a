// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Lists the channels the session may read.
 */
export interface ListChannelsRequest {
  'sesskey'?: (number | string | Long);
}

/**
 * Lists the channels the session may read.
 */
export interface ListChannelsRequest__Output {
  'sesskey': (number);
}
