// Original file: proto/driver.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DriverCreateRequest as _agora_DriverCreateRequest, DriverCreateRequest__Output as _agora_DriverCreateRequest__Output } from '../agora/DriverCreateRequest';
import type { DriverListRequest as _agora_DriverListRequest, DriverListRequest__Output as _agora_DriverListRequest__Output } from '../agora/DriverListRequest';
import type { DriverNode as _agora_DriverNode, DriverNode__Output as _agora_DriverNode__Output } from '../agora/DriverNode';
import type { DriverNodeList as _agora_DriverNodeList, DriverNodeList__Output as _agora_DriverNodeList__Output } from '../agora/DriverNodeList';
import type { DriverNodeRef as _agora_DriverNodeRef, DriverNodeRef__Output as _agora_DriverNodeRef__Output } from '../agora/DriverNodeRef';
import type { DriverUpdateRequest as _agora_DriverUpdateRequest, DriverUpdateRequest__Output as _agora_DriverUpdateRequest__Output } from '../agora/DriverUpdateRequest';

export interface DriverClient extends grpc.Client {
  /**
   * Make a node and start it: answers the node in BUILDING; it turns ACTIVE once its
   * process answers the health check, or ERROR. A Create with an id the driver already
   * holds answers that node unchanged (retry after a lost reply).
   */
  Create(argument: _agora_DriverCreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_DriverCreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_DriverCreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_DriverCreateRequest, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * Make a node and start it: answers the node in BUILDING; it turns ACTIVE once its
   * process answers the health check, or ERROR. A Create with an id the driver already
   * holds answers that node unchanged (retry after a lost reply).
   */
  create(argument: _agora_DriverCreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_DriverCreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_DriverCreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_DriverCreateRequest, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
  /**
   * Remove a node: its process is stopped like Stop does (→ DELETING), then the node is
   * gone (Status answers AGORA_ERR_NODE_NOT_FOUND, List leaves it out). On a DELETING
   * node: answers it unchanged. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  Delete(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * Remove a node: its process is stopped like Stop does (→ DELETING), then the node is
   * gone (Status answers AGORA_ERR_NODE_NOT_FOUND, List leaves it out). On a DELETING
   * node: answers it unchanged. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  delete(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
  /**
   * Every node the driver holds (optionally one owner's), without output. Compute
   * rebuilds and reconciles its records from this after a restart.
   */
  List(argument: _agora_DriverListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_DriverListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_DriverListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_DriverListRequest, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  /**
   * Every node the driver holds (optionally one owner's), without output. Compute
   * rebuilds and reconciles its records from this after a restart.
   */
  list(argument: _agora_DriverListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_DriverListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_DriverListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_DriverListRequest, callback: grpc.requestCallback<_agora_DriverNodeList__Output>): grpc.ClientUnaryCall;
  
  /**
   * Start a STOPPED or ERROR node again (→ BUILDING → ACTIVE). On a BUILDING or ACTIVE
   * node: answers it unchanged. On STOPPING or DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Start(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Start(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Start(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Start(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * Start a STOPPED or ERROR node again (→ BUILDING → ACTIVE). On a BUILDING or ACTIVE
   * node: answers it unchanged. On STOPPING or DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  start(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  start(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  start(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  start(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
  /**
   * One node, with the last lines of its output. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  Status(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Status(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Status(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Status(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * One node, with the last lines of its output. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  status(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  status(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  status(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  status(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
  /**
   * Stop a node's process: SIGTERM, then SIGKILL after the grace period (→ STOPPING →
   * STOPPED). On a STOPPED or STOPPING node: answers it unchanged. On an ERROR node (no
   * process left): STOPPED at once. On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Stop(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Stop(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Stop(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Stop(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * Stop a node's process: SIGTERM, then SIGKILL after the grace period (→ STOPPING →
   * STOPPED). On a STOPPED or STOPPING node: answers it unchanged. On an ERROR node (no
   * process left): STOPPED at once. On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  stop(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  stop(argument: _agora_DriverNodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  stop(argument: _agora_DriverNodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  stop(argument: _agora_DriverNodeRef, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
  /**
   * Change a node's recorded name and/or size (empty = unchanged). The record changes at
   * once; the process sees the new values (NODE_NAME, NODE_SIZE) at its next start.
   * On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Update(argument: _agora_DriverUpdateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_DriverUpdateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_DriverUpdateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_DriverUpdateRequest, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  /**
   * Change a node's recorded name and/or size (empty = unchanged). The record changes at
   * once; the process sees the new values (NODE_NAME, NODE_SIZE) at its next start.
   * On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  update(argument: _agora_DriverUpdateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_DriverUpdateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_DriverUpdateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_DriverUpdateRequest, callback: grpc.requestCallback<_agora_DriverNode__Output>): grpc.ClientUnaryCall;
  
}

export interface DriverHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Make a node and start it: answers the node in BUILDING; it turns ACTIVE once its
   * process answers the health check, or ERROR. A Create with an id the driver already
   * holds answers that node unchanged (retry after a lost reply).
   */
  Create: grpc.handleUnaryCall<_agora_DriverCreateRequest__Output, _agora_DriverNode>;
  
  /**
   * Remove a node: its process is stopped like Stop does (→ DELETING), then the node is
   * gone (Status answers AGORA_ERR_NODE_NOT_FOUND, List leaves it out). On a DELETING
   * node: answers it unchanged. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  Delete: grpc.handleUnaryCall<_agora_DriverNodeRef__Output, _agora_DriverNode>;
  
  /**
   * Every node the driver holds (optionally one owner's), without output. Compute
   * rebuilds and reconciles its records from this after a restart.
   */
  List: grpc.handleUnaryCall<_agora_DriverListRequest__Output, _agora_DriverNodeList>;
  
  /**
   * Start a STOPPED or ERROR node again (→ BUILDING → ACTIVE). On a BUILDING or ACTIVE
   * node: answers it unchanged. On STOPPING or DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Start: grpc.handleUnaryCall<_agora_DriverNodeRef__Output, _agora_DriverNode>;
  
  /**
   * One node, with the last lines of its output. Unknown id: AGORA_ERR_NODE_NOT_FOUND.
   */
  Status: grpc.handleUnaryCall<_agora_DriverNodeRef__Output, _agora_DriverNode>;
  
  /**
   * Stop a node's process: SIGTERM, then SIGKILL after the grace period (→ STOPPING →
   * STOPPED). On a STOPPED or STOPPING node: answers it unchanged. On an ERROR node (no
   * process left): STOPPED at once. On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Stop: grpc.handleUnaryCall<_agora_DriverNodeRef__Output, _agora_DriverNode>;
  
  /**
   * Change a node's recorded name and/or size (empty = unchanged). The record changes at
   * once; the process sees the new values (NODE_NAME, NODE_SIZE) at its next start.
   * On DELETING: AGORA_ERR_NODE_CONFLICT.
   */
  Update: grpc.handleUnaryCall<_agora_DriverUpdateRequest__Output, _agora_DriverNode>;
  
}

export interface DriverDefinition extends grpc.ServiceDefinition {
  Create: MethodDefinition<_agora_DriverCreateRequest, _agora_DriverNode, _agora_DriverCreateRequest__Output, _agora_DriverNode__Output>
  Delete: MethodDefinition<_agora_DriverNodeRef, _agora_DriverNode, _agora_DriverNodeRef__Output, _agora_DriverNode__Output>
  List: MethodDefinition<_agora_DriverListRequest, _agora_DriverNodeList, _agora_DriverListRequest__Output, _agora_DriverNodeList__Output>
  Start: MethodDefinition<_agora_DriverNodeRef, _agora_DriverNode, _agora_DriverNodeRef__Output, _agora_DriverNode__Output>
  Status: MethodDefinition<_agora_DriverNodeRef, _agora_DriverNode, _agora_DriverNodeRef__Output, _agora_DriverNode__Output>
  Stop: MethodDefinition<_agora_DriverNodeRef, _agora_DriverNode, _agora_DriverNodeRef__Output, _agora_DriverNode__Output>
  Update: MethodDefinition<_agora_DriverUpdateRequest, _agora_DriverNode, _agora_DriverUpdateRequest__Output, _agora_DriverNode__Output>
}
