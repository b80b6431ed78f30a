// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

export interface RouteRequest {
  'sesskey'?: (number | string | Long);
  'source'?: (string);
}

export interface RouteRequest__Output {
  'sesskey': (number);
  'source': (string);
}
