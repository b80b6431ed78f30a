// Original file: proto/compute.proto

import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';
import type { Long } from '@grpc/proto-loader';

export interface NodeList {
  'nodes'?: (_agora_Node)[];
  /**
   * The version of the caller's own list: bumped by every write of any of the caller's nodes
   * (what a create's check_version compares).
   */
  'version'?: (number | string | Long);
  /**
   * Some of the nodes are another user's, shared with the caller: their writes do not move
   * `version`, so the list's ETag is then a digest of the list.
   */
  'shared'?: (boolean);
}

export interface NodeList__Output {
  'nodes': (_agora_Node__Output)[];
  /**
   * The version of the caller's own list: bumped by every write of any of the caller's nodes
   * (what a create's check_version compares).
   */
  'version': (number);
  /**
   * Some of the nodes are another user's, shared with the caller: their writes do not move
   * `version`, so the list's ETag is then a digest of the list.
   */
  'shared': (boolean);
}
