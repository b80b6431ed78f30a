// Original file: proto/compute.proto

import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';
import type { NodeTombstone as _agora_NodeTombstone, NodeTombstone__Output as _agora_NodeTombstone__Output } from '../agora/NodeTombstone';
import type { Long } from '@grpc/proto-loader';

export interface NodeList {
  'nodes'?: (_agora_Node)[];
  /**
   * The timestamp (ms) of the list the caller sees: the last write of any of the caller's nodes,
   * or the store's sharing stamp (the last write of any shared node) when later; the list's
   * ETag, and what a create's check_version compares.
   */
  'version'?: (number | string | Long);
  /**
   * Some of the nodes are another user's, shared with the caller.
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
   * The timestamp (ms) of the list the caller sees: the last write of any of the caller's nodes,
   * or the store's sharing stamp (the last write of any shared node) when later; the list's
   * ETag, and what a create's check_version compares.
   */
  'version': (number);
  /**
   * Some of the nodes are another user's, shared with the caller.
   */
  'shared': (boolean);
  /**
   * The caller's nodes deleted within AGORA_TOMBSTONE_TTL_S, by timestamp.
   */
  'deleted': (_agora_NodeTombstone__Output)[];
}
