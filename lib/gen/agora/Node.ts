// Original file: proto/compute.proto

import type { NodePermissions as _agora_NodePermissions, NodePermissions__Output as _agora_NodePermissions__Output } from '../agora/NodePermissions';
import type { Long } from '@grpc/proto-loader';

export interface Node {
  'id'?: (string);
  'name'?: (string);
  'owner'?: (string);
  'image'?: (string);
  'size'?: (string);
  'command'?: (string);
  /**
   * BUILDING, ACTIVE, STOPPED, DELETING or ERROR.
   */
  'status'?: (string);
  /**
   * What is under way: "stopping" (an ACTIVE node being stopped), else "".
   */
  'task'?: (string);
  /**
   * Why the node is in ERROR; else "".
   */
  'reason'?: (string);
  /**
   * Where the node answers while BUILDING or ACTIVE; "" and 0 otherwise.
   */
  'host'?: (string);
  'port'?: (number);
  /**
   * How its last process ended: exit code (-1: by a signal, or none yet) and signal name.
   */
  'exit_code'?: (number);
  'signal'?: (string);
  /**
   * ms since the epoch.
   */
  'created_at'?: (number | string | Long);
  'updated_at'?: (number | string | Long);
  /**
   * OS process id of the node while it has one (TypeScript driver), else 0.
   */
  'pid'?: (number);
  /**
   * The timestamp (ms) of the record's last write, strictly increasing across the writes of its
   * owner's nodes: its last_modified and its ETag at the edge.
   */
  'version'?: (number | string | Long);
  /**
   * The node's static URL, http://<name>.<owner's label>.<AGORA_PROXY_DOMAIN>:<AGORA_PROXY_PORT>/
   * (docs/ROUTING.md "Static URLs"); "" for a node whose name is not a DNS label.
   */
  'url'?: (string);
  'permissions'?: (_agora_NodePermissions | null);
}

export interface Node__Output {
  'id': (string);
  'name': (string);
  'owner': (string);
  'image': (string);
  'size': (string);
  'command': (string);
  /**
   * BUILDING, ACTIVE, STOPPED, DELETING or ERROR.
   */
  'status': (string);
  /**
   * What is under way: "stopping" (an ACTIVE node being stopped), else "".
   */
  'task': (string);
  /**
   * Why the node is in ERROR; else "".
   */
  'reason': (string);
  /**
   * Where the node answers while BUILDING or ACTIVE; "" and 0 otherwise.
   */
  'host': (string);
  'port': (number);
  /**
   * How its last process ended: exit code (-1: by a signal, or none yet) and signal name.
   */
  'exit_code': (number);
  'signal': (string);
  /**
   * ms since the epoch.
   */
  'created_at': (number);
  'updated_at': (number);
  /**
   * OS process id of the node while it has one (TypeScript driver), else 0.
   */
  'pid': (number);
  /**
   * The timestamp (ms) of the record's last write, strictly increasing across the writes of its
   * owner's nodes: its last_modified and its ETag at the edge.
   */
  'version': (number);
  /**
   * The node's static URL, http://<name>.<owner's label>.<AGORA_PROXY_DOMAIN>:<AGORA_PROXY_PORT>/
   * (docs/ROUTING.md "Static URLs"); "" for a node whose name is not a DNS label.
   */
  'url': (string);
  'permissions': (_agora_NodePermissions__Output | null);
}
