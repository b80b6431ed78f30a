// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface Message {
  'messageid'?: (number | string | Long);
  'username'?: (string);
  'message'?: (string);
}

export interface Message__Output {
  'messageid': (number);
  'username': (string);
  'message': (string);
}
