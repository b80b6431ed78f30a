// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface SessionRequest {
  'sesskey'?: (number | string | Long);
}

export interface SessionRequest__Output {
  'sesskey': (number);
}
