// Original file: proto/routes.proto

import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { NodeTarget as _agora_NodeTarget, NodeTarget__Output as _agora_NodeTarget__Output } from '../agora/NodeTarget';

export interface RouteChange {
  /**
   * First message of a stream: load Table now; every later change follows it.
   */
  'hello'?: (boolean);
  'route'?: (_agora_Route | null);
  /**
   * The source host of a deleted route.
   */
  'route_deleted'?: (string);
  'node'?: (_agora_NodeTarget | null);
  /**
   * The id of a node that is gone.
   */
  'node_deleted'?: (string);
  /**
   * Changes may have been missed (a store or broadcast reconnected): load Table again.
   */
  'reload'?: (boolean);
  'kind'?: "hello"|"route"|"route_deleted"|"node"|"node_deleted"|"reload";
}

export interface RouteChange__Output {
  /**
   * First message of a stream: load Table now; every later change follows it.
   */
  'hello'?: (boolean);
  'route'?: (_agora_Route__Output | null);
  /**
   * The source host of a deleted route.
   */
  'route_deleted'?: (string);
  'node'?: (_agora_NodeTarget__Output | null);
  /**
   * The id of a node that is gone.
   */
  'node_deleted'?: (string);
  /**
   * Changes may have been missed (a store or broadcast reconnected): load Table again.
   */
  'reload'?: (boolean);
  'kind'?: "hello"|"route"|"route_deleted"|"node"|"node_deleted"|"reload";
}
