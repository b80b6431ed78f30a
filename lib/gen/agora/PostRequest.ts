// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface PostRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  'message'?: (string);
}

export interface PostRequest__Output {
  'sesskey': (number);
  'channel': (string);
  'message': (string);
}
