// Original file: proto/routes.proto

import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { RouteTombstone as _agora_RouteTombstone, RouteTombstone__Output as _agora_RouteTombstone__Output } from '../agora/RouteTombstone';
import type { Long } from '@grpc/proto-loader';

export interface RouteList {
  'routes'?: (_agora_Route)[];
  /**
   * The timestamp (ms) of the last write of any of the caller's routes.
   */
  'version'?: (number | string | Long);
  /**
   * The caller's routes deleted within AGORA_TOMBSTONE_TTL_S, by timestamp.
   */
  'deleted'?: (_agora_RouteTombstone)[];
}

export interface RouteList__Output {
  'routes': (_agora_Route__Output)[];
  /**
   * The timestamp (ms) of the last write of any of the caller's routes.
   */
  'version': (number);
  /**
   * The caller's routes deleted within AGORA_TOMBSTONE_TTL_S, by timestamp.
   */
  'deleted': (_agora_RouteTombstone__Output)[];
}
