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
   * The node record's version: a sync older than the one held (in the same epoch) is ignored.
   */
  'version'?: (number | string | Long);
  /**
   * The sequence `version` counts in: compute's shared store (every compute instance alike), or
   * one compute process on the memory backend, whose versions start again at each start. A sync
   * in another epoch than the one held replaces it, whatever its version.
   */
  'epoch'?: (string);
  /**
   * Who may control the node (its permissions' write, lib/permissions.ts): a user holding one of
   * these may route to it. Empty (a compute from before permissions): its owner alone.
   */
  'write'?: (string)[];
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
   * The node record's version: a sync older than the one held (in the same epoch) is ignored.
   */
  'version': (number);
  /**
   * The sequence `version` counts in: compute's shared store (every compute instance alike), or
   * one compute process on the memory backend, whose versions start again at each start. A sync
   * in another epoch than the one held replaces it, whatever its version.
   */
  'epoch': (string);
  /**
   * Who may control the node (its permissions' write, lib/permissions.ts): a user holding one of
   * these may route to it. Empty (a compute from before permissions): its owner alone.
   */
  'write': (string)[];
}
