// Original file: proto/compute.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What is left of a deleted node for a while: its id and the timestamp (ms) of its deletion.
 */
export interface NodeTombstone {
  'id'?: (string);
  'last_modified'?: (number | string | Long);
}

/**
 * What is left of a deleted node for a while: its id and the timestamp (ms) of its deletion.
 */
export interface NodeTombstone__Output {
  'id': (string);
  'last_modified': (number);
}
