// Original file: proto/compute.proto

import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';
import type { Long } from '@grpc/proto-loader';

export interface NodeList {
  'nodes'?: (_agora_Node)[];
  /**
   * The list's version: bumped by every write of any of the caller's nodes.
   */
  'version'?: (number | string | Long);
}

export interface NodeList__Output {
  'nodes': (_agora_Node__Output)[];
  /**
   * The list's version: bumped by every write of any of the caller's nodes.
   */
  'version': (number);
}
