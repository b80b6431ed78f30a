// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateNodeRequest {
  'sesskey'?: (number | string | Long);
  'name'?: (string);
  'image'?: (string);
  /**
   * "" means the driver's default ("small").
   */
  'size'?: (string);
  /**
   * For image "command" only.
   */
  'command'?: (string);
}

export interface CreateNodeRequest__Output {
  'sesskey': (number);
  'name': (string);
  'image': (string);
  /**
   * "" means the driver's default ("small").
   */
  'size': (string);
  /**
   * For image "command" only.
   */
  'command': (string);
}
