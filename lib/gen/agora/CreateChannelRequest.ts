// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateChannelRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
}

export interface CreateChannelRequest__Output {
  'sesskey': (number);
  'channel': (string);
}
