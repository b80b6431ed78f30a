// Original file: proto/compute.proto

import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';
import type { NodeTombstone as _agora_NodeTombstone, NodeTombstone__Output as _agora_NodeTombstone__Output } from '../agora/NodeTombstone';
import type { Long } from '@grpc/proto-loader';

export interface NodeList {
  'nodes'?: (_agora_Node)[];
  /**
   * The version of the caller's own list: the timestamp (ms) of the last write of any of the
   * caller's nodes (what a create's check_version compares).
   */
  'version'?: (number | string | Long);
  /**
   * Some of the nodes are another user's, shared with the caller: their writes do not move
   * `version`, so the list's ETag is then a digest of the list.
   */
  'shared'?: (boolean);
  /**
   * The caller's nodes deleted within AGORA_TOMBSTONE_TTL_S, by timestamp.
   */
  'deleted'?: (_agora_NodeTombstone)[];
}

export interface NodeList__Output {
  'nodes': (_agora_Node__Output)[];
  /**
   * The version of the caller's own list: the timestamp (ms) of the last write of any of the
   * caller's nodes (what a create's check_version compares).
   */
  'version': (number);
  /**
   * Some of the nodes are another user's, shared with the caller: their writes do not move
   * `version`, so the list's ETag is then a digest of the list.
   */
  'shared': (boolean);
  /**
   * The caller's nodes deleted within AGORA_TOMBSTONE_TTL_S, by timestamp.
   */
  'deleted': (_agora_NodeTombstone__Output)[];
}
