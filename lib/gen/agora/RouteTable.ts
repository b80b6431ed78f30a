// Original file: proto/routes.proto

import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { NodeTarget as _agora_NodeTarget, NodeTarget__Output as _agora_NodeTarget__Output } from '../agora/NodeTarget';

export interface RouteTable {
  'routes'?: (_agora_Route)[];
  'nodes'?: (_agora_NodeTarget)[];
}

export interface RouteTable__Output {
  'routes': (_agora_Route__Output)[];
  'nodes': (_agora_NodeTarget__Output)[];
}
