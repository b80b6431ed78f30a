// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeRequest {
  'sesskey'?: (number | string | Long);
  'id'?: (string);
}

export interface NodeRequest__Output {
  'sesskey': (number);
  'id': (string);
}
