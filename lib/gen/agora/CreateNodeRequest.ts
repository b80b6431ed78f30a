// Original file: proto/compute.proto

import type { NodePermissions as _agora_NodePermissions, NodePermissions__Output as _agora_NodePermissions__Output } from '../agora/NodePermissions';
import type { Long } from '@grpc/proto-loader';

export interface CreateNodeRequest {
  'sesskey'?: (number | string | Long);
  'name'?: (string);
  'image'?: (string);
  /**
   * "" means the driver's default ("small").
   */
  'size'?: (string);
  /**
   * For image "command" only.
   */
  'command'?: (string);
  /**
   * With check_version, create only if the caller's node list is still at expected_version
   * (NodeList.version); otherwise AGORA_ERR_NODE_LIST_STALE and nothing is created. The
   * check and the insert are one step in the store.
   */
  'check_version'?: (boolean);
  'expected_version'?: (number | string | Long);
  /**
   * Absent: the owner's alone. The owner always gets write.
   */
  'permissions'?: (_agora_NodePermissions | null);
}

export interface CreateNodeRequest__Output {
  'sesskey': (number);
  'name': (string);
  'image': (string);
  /**
   * "" means the driver's default ("small").
   */
  'size': (string);
  /**
   * For image "command" only.
   */
  'command': (string);
  /**
   * With check_version, create only if the caller's node list is still at expected_version
   * (NodeList.version); otherwise AGORA_ERR_NODE_LIST_STALE and nothing is created. The
   * check and the insert are one step in the store.
   */
  'check_version': (boolean);
  'expected_version': (number);
  /**
   * Absent: the owner's alone. The owner always gets write.
   */
  'permissions': (_agora_NodePermissions__Output | null);
}
