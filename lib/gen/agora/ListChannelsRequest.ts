// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

export interface ListChannelsRequest {
  'sesskey'?: (number | string | Long);
}

export interface ListChannelsRequest__Output {
  'sesskey': (number);
}
