// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

export interface ListNodesRequest {
  'sesskey'?: (number | string | Long);
}

export interface ListNodesRequest__Output {
  'sesskey': (number);
}
