// Original file: proto/routes.proto

import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { Long } from '@grpc/proto-loader';

export interface PutRouteRequest {
  'sesskey'?: (number | string | Long);
  /**
   * source, target and settings; owner, times and version are the server's.
   */
  'route'?: (_agora_Route | null);
  /**
   * With check_version, write only if the route (Replace) or the caller's list (Create) is still
   * at expected_version; otherwise AGORA_ERR_ROUTE_STALE (Replace) or AGORA_ERR_ROUTE_LIST_STALE
   * (Create) and nothing is written.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
}

export interface PutRouteRequest__Output {
  'sesskey': (number);
  /**
   * source, target and settings; owner, times and version are the server's.
   */
  'route': (_agora_Route__Output | null);
  /**
   * With check_version, write only if the route (Replace) or the caller's list (Create) is still
   * at expected_version; otherwise AGORA_ERR_ROUTE_STALE (Replace) or AGORA_ERR_ROUTE_LIST_STALE
   * (Create) and nothing is written.
   */
  'check_version': (boolean);
  'expected_version': (number);
}
