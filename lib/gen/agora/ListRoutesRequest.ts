// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

export interface ListRoutesRequest {
  'sesskey'?: (number | string | Long);
}

export interface ListRoutesRequest__Output {
  'sesskey': (number);
}
