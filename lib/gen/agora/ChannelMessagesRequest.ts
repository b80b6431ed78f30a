// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface ChannelMessagesRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
}

export interface ChannelMessagesRequest__Output {
  'sesskey': (number);
  'channel': (string);
}
