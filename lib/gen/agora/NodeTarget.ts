// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Where a node is, as compute last recorded it.
 */
export interface NodeTarget {
  'id'?: (string);
  'name'?: (string);
  'owner'?: (string);
  /**
   * BUILDING, ACTIVE, STOPPED, DELETING or ERROR.
   */
  'status'?: (string);
  /**
   * Where the node answers while ACTIVE; "" and 0 otherwise.
   */
  'host'?: (string);
  'port'?: (number);
  /**
   * The node record's version: a sync older than the one held is ignored.
   */
  'version'?: (number | string | Long);
}

/**
 * Where a node is, as compute last recorded it.
 */
export interface NodeTarget__Output {
  'id': (string);
  'name': (string);
  'owner': (string);
  /**
   * BUILDING, ACTIVE, STOPPED, DELETING or ERROR.
   */
  'status': (string);
  /**
   * Where the node answers while ACTIVE; "" and 0 otherwise.
   */
  'host': (string);
  'port': (number);
  /**
   * The node record's version: a sync older than the one held is ignored.
   */
  'version': (number);
}
