// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteRouteRequest {
  'sesskey'?: (number | string | Long);
  'source'?: (string);
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
}

export interface DeleteRouteRequest__Output {
  'sesskey': (number);
  'source': (string);
  'check_version': (boolean);
  'expected_version': (number);
}
