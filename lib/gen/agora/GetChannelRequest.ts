// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface GetChannelRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
}

export interface GetChannelRequest__Output {
  'sesskey': (number);
  'channel': (string);
}
