// Original file: proto/routes.proto

import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { Long } from '@grpc/proto-loader';

export interface RouteList {
  'routes'?: (_agora_Route)[];
  /**
   * The timestamp (ms) of the last write of any of the caller's routes.
   */
  'version'?: (number | string | Long);
}

export interface RouteList__Output {
  'routes': (_agora_Route__Output)[];
  /**
   * The timestamp (ms) of the last write of any of the caller's routes.
   */
  'version': (number);
}
