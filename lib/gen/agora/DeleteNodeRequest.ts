// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteNodeRequest {
  'sesskey'?: (number | string | Long);
  'id'?: (string);
  /**
   * With check_version, delete only if the node is still at expected_version (as Update).
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
}

export interface DeleteNodeRequest__Output {
  'sesskey': (number);
  'id': (string);
  /**
   * With check_version, delete only if the node is still at expected_version (as Update).
   */
  'check_version': (boolean);
  'expected_version': (number);
}
