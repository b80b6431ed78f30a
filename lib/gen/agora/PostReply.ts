// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface PostReply {
  'messageid'?: (number | string | Long);
}

export interface PostReply__Output {
  'messageid': (number);
}
