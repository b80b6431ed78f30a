// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface LogonReply {
  'sesskey'?: (number | string | Long);
  'username'?: (string);
  'created'?: (boolean);
}

export interface LogonReply__Output {
  'sesskey': (number);
  'username': (string);
  'created': (boolean);
}
