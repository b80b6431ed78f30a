// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

export interface Route {
  /**
   * The host the proxy matches (lower case, no port); unique across all routes.
   */
  'source'?: (string);
  'owner'?: (string);
  /**
   * Exactly one of target_node (a node id) and target_url (http:// or https://, admins only).
   */
  'target_node'?: (string);
  'target_url'?: (string);
  /**
   * "proxy" (default) or "redirect" (307 to the target).
   */
  'mode'?: (string);
  /**
   * A request that came over plain HTTP is redirected to https:// first.
   */
  'enforce_https'?: (boolean);
  /**
   * 0: the proxy's defaults.
   */
  'connect_timeout_ms'?: (number);
  'read_timeout_ms'?: (number);
  /**
   * ms since the epoch.
   */
  'created_at'?: (number | string | Long);
  'updated_at'?: (number | string | Long);
  /**
   * The timestamp (ms) of the route's last write, strictly increasing across the writes of its
   * owner's routes: its last_modified and its ETag at the edge.
   */
  'version'?: (number | string | Long);
}

export interface Route__Output {
  /**
   * The host the proxy matches (lower case, no port); unique across all routes.
   */
  'source': (string);
  'owner': (string);
  /**
   * Exactly one of target_node (a node id) and target_url (http:// or https://, admins only).
   */
  'target_node': (string);
  'target_url': (string);
  /**
   * "proxy" (default) or "redirect" (307 to the target).
   */
  'mode': (string);
  /**
   * A request that came over plain HTTP is redirected to https:// first.
   */
  'enforce_https': (boolean);
  /**
   * 0: the proxy's defaults.
   */
  'connect_timeout_ms': (number);
  'read_timeout_ms': (number);
  /**
   * ms since the epoch.
   */
  'created_at': (number);
  'updated_at': (number);
  /**
   * The timestamp (ms) of the route's last write, strictly increasing across the writes of its
   * owner's routes: its last_modified and its ETag at the edge.
   */
  'version': (number);
}
