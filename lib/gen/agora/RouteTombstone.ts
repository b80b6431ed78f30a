// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What is left of a deleted route for a while: its source and the timestamp of its delete.
 */
export interface RouteTombstone {
  'source'?: (string);
  'last_modified'?: (number | string | Long);
}

/**
 * What is left of a deleted route for a while: its source and the timestamp of its delete.
 */
export interface RouteTombstone__Output {
  'source': (string);
  'last_modified': (number);
}
