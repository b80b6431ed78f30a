// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

export interface UpdateNodeRequest {
  'sesskey'?: (number | string | Long);
  'id'?: (string);
  /**
   * "" = unchanged.
   */
  'name'?: (string);
  'size'?: (string);
  /**
   * "", "start" or "stop".
   */
  'action'?: (string);
}

export interface UpdateNodeRequest__Output {
  'sesskey': (number);
  'id': (string);
  /**
   * "" = unchanged.
   */
  'name': (string);
  'size': (string);
  /**
   * "", "start" or "stop".
   */
  'action': (string);
}
