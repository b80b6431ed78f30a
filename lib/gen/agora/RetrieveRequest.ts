// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface RetrieveRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  'first'?: (number | string | Long);
  'last'?: (number | string | Long);
}

export interface RetrieveRequest__Output {
  'sesskey': (number);
  'channel': (string);
  'first': (number);
  'last': (number);
}
