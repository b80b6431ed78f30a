// Original file: proto/compute.proto

import type { NodePermissions as _agora_NodePermissions, NodePermissions__Output as _agora_NodePermissions__Output } from '../agora/NodePermissions';
import type { Long } from '@grpc/proto-loader';

export interface UpdateNodeRequest {
  'sesskey'?: (number | string | Long);
  'id'?: (string);
  /**
   * "" = unchanged.
   */
  'name'?: (string);
  'size'?: (string);
  /**
   * "", "start" or "stop".
   */
  'action'?: (string);
  /**
   * With check_version, change the node only if it is still at expected_version; otherwise
   * AGORA_ERR_NODE_STALE and nothing is done. The check and the claim of the change are one
   * step in the store, before the driver is asked, so two writers cannot both pass it.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
  /**
   * New permissions: each of read and write replaced only when its set_ flag is true, the other
   * kept (Kinto's PATCH); the caller and the owner stay among the writers.
   */
  'permissions'?: (_agora_NodePermissions | null);
  'set_read'?: (boolean);
  'set_write'?: (boolean);
}

export interface UpdateNodeRequest__Output {
  'sesskey': (number);
  'id': (string);
  /**
   * "" = unchanged.
   */
  'name': (string);
  'size': (string);
  /**
   * "", "start" or "stop".
   */
  'action': (string);
  /**
   * With check_version, change the node only if it is still at expected_version; otherwise
   * AGORA_ERR_NODE_STALE and nothing is done. The check and the claim of the change are one
   * step in the store, before the driver is asked, so two writers cannot both pass it.
   */
  'check_version': (boolean);
  'expected_version': (number);
  /**
   * New permissions: each of read and write replaced only when its set_ flag is true, the other
   * kept (Kinto's PATCH); the caller and the owner stay among the writers.
   */
  'permissions': (_agora_NodePermissions__Output | null);
  'set_read': (boolean);
  'set_write': (boolean);
}
