// Original file: proto/compute.proto

import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';

export interface NodeList {
  'nodes'?: (_agora_Node)[];
}

export interface NodeList__Output {
  'nodes': (_agora_Node__Output)[];
}
