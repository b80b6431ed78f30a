// Original file: proto/compute.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateNodeRequest as _agora_CreateNodeRequest, CreateNodeRequest__Output as _agora_CreateNodeRequest__Output } from '../agora/CreateNodeRequest';
import type { DeleteNodeRequest as _agora_DeleteNodeRequest, DeleteNodeRequest__Output as _agora_DeleteNodeRequest__Output } from '../agora/DeleteNodeRequest';
import type { ListNodesRequest as _agora_ListNodesRequest, ListNodesRequest__Output as _agora_ListNodesRequest__Output } from '../agora/ListNodesRequest';
import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from '../agora/Node';
import type { NodeIdRequest as _agora_NodeIdRequest, NodeIdRequest__Output as _agora_NodeIdRequest__Output } from '../agora/NodeIdRequest';
import type { NodeList as _agora_NodeList, NodeList__Output as _agora_NodeList__Output } from '../agora/NodeList';
import type { NodeOutput as _agora_NodeOutput, NodeOutput__Output as _agora_NodeOutput__Output } from '../agora/NodeOutput';
import type { NodeRequest as _agora_NodeRequest, NodeRequest__Output as _agora_NodeRequest__Output } from '../agora/NodeRequest';
import type { UpdateNodeRequest as _agora_UpdateNodeRequest, UpdateNodeRequest__Output as _agora_UpdateNodeRequest__Output } from '../agora/UpdateNodeRequest';

export interface ComputeClient extends grpc.Client {
  /**
   * Make a node: answers at once with status BUILDING; it turns ACTIVE when it answers.
   */
  Create(argument: _agora_CreateNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * Make a node: answers at once with status BUILDING; it turns ACTIVE when it answers.
   */
  create(argument: _agora_CreateNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
  /**
   * Remove a node the caller may write: answers it in DELETING; it is gone once its process is.
   */
  Delete(argument: _agora_DeleteNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * Remove a node the caller may write: answers it in DELETING; it is gone once its process is.
   */
  delete(argument: _agora_DeleteNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
  /**
   * One node the caller may read.
   */
  Get(argument: _agora_NodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_NodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_NodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_NodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * One node the caller may read.
   */
  get(argument: _agora_NodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_NodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_NodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_NodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
  /**
   * The nodes the caller may read (its own and those shared with it), oldest first.
   */
  List(argument: _agora_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListNodesRequest, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  /**
   * The nodes the caller may read (its own and those shared with it), oldest first.
   */
  list(argument: _agora_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListNodesRequest, callback: grpc.requestCallback<_agora_NodeList__Output>): grpc.ClientUnaryCall;
  
  /**
   * The last lines the node's process wrote.
   */
  Output(argument: _agora_NodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  Output(argument: _agora_NodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  Output(argument: _agora_NodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  Output(argument: _agora_NodeRequest, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  /**
   * The last lines the node's process wrote.
   */
  output(argument: _agora_NodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  output(argument: _agora_NodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  output(argument: _agora_NodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  output(argument: _agora_NodeRequest, callback: grpc.requestCallback<_agora_NodeOutput__Output>): grpc.ClientUnaryCall;
  
  /**
   * Internal (the wake service's, as Wake): stop an ACTIVE node by id (an idle one); a node
   * in any other state is answered as it is.
   */
  Sleep(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Sleep(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Sleep(argument: _agora_NodeIdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Sleep(argument: _agora_NodeIdRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * Internal (the wake service's, as Wake): stop an ACTIVE node by id (an idle one); a node
   * in any other state is answered as it is.
   */
  sleep(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  sleep(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  sleep(argument: _agora_NodeIdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  sleep(argument: _agora_NodeIdRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
  /**
   * Rename, resize (STOPPED only), start or stop, or change the permissions of a node the caller may write.
   */
  Update(argument: _agora_UpdateNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_UpdateNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_UpdateNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Update(argument: _agora_UpdateNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * Rename, resize (STOPPED only), start or stop, or change the permissions of a node the caller may write.
   */
  update(argument: _agora_UpdateNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_UpdateNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_UpdateNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  update(argument: _agora_UpdateNodeRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
  /**
   * Internal (the wake service's, services/wake; no session, so the bus must grant it to that
   * service alone): start a STOPPED node by id, whoever owns it, and answer once it is ACTIVE
   * (the driver reports ACTIVE only once the node answers its health check). A node already
   * starting is waited for; one being stopped is waited for, then started. Fails with
   * AGORA_ERR_NODE_NOT_FOUND, AGORA_ERR_NODE_CONFLICT (ERROR, DELETING) or
   * AGORA_ERR_RPC_TIMEOUT at the call's deadline.
   */
  Wake(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_NodeIdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_NodeIdRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  /**
   * Internal (the wake service's, services/wake; no session, so the bus must grant it to that
   * service alone): start a STOPPED node by id, whoever owns it, and answer once it is ACTIVE
   * (the driver reports ACTIVE only once the node answers its health check). A node already
   * starting is waited for; one being stopped is waited for, then started. Fails with
   * AGORA_ERR_NODE_NOT_FOUND, AGORA_ERR_NODE_CONFLICT (ERROR, DELETING) or
   * AGORA_ERR_RPC_TIMEOUT at the call's deadline.
   */
  wake(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_NodeIdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_NodeIdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_NodeIdRequest, callback: grpc.requestCallback<_agora_Node__Output>): grpc.ClientUnaryCall;
  
}

export interface ComputeHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Make a node: answers at once with status BUILDING; it turns ACTIVE when it answers.
   */
  Create: grpc.handleUnaryCall<_agora_CreateNodeRequest__Output, _agora_Node>;
  
  /**
   * Remove a node the caller may write: answers it in DELETING; it is gone once its process is.
   */
  Delete: grpc.handleUnaryCall<_agora_DeleteNodeRequest__Output, _agora_Node>;
  
  /**
   * One node the caller may read.
   */
  Get: grpc.handleUnaryCall<_agora_NodeRequest__Output, _agora_Node>;
  
  /**
   * The nodes the caller may read (its own and those shared with it), oldest first.
   */
  List: grpc.handleUnaryCall<_agora_ListNodesRequest__Output, _agora_NodeList>;
  
  /**
   * The last lines the node's process wrote.
   */
  Output: grpc.handleUnaryCall<_agora_NodeRequest__Output, _agora_NodeOutput>;
  
  /**
   * Internal (the wake service's, as Wake): stop an ACTIVE node by id (an idle one); a node
   * in any other state is answered as it is.
   */
  Sleep: grpc.handleUnaryCall<_agora_NodeIdRequest__Output, _agora_Node>;
  
  /**
   * Rename, resize (STOPPED only), start or stop, or change the permissions of a node the caller may write.
   */
  Update: grpc.handleUnaryCall<_agora_UpdateNodeRequest__Output, _agora_Node>;
  
  /**
   * Internal (the wake service's, services/wake; no session, so the bus must grant it to that
   * service alone): start a STOPPED node by id, whoever owns it, and answer once it is ACTIVE
   * (the driver reports ACTIVE only once the node answers its health check). A node already
   * starting is waited for; one being stopped is waited for, then started. Fails with
   * AGORA_ERR_NODE_NOT_FOUND, AGORA_ERR_NODE_CONFLICT (ERROR, DELETING) or
   * AGORA_ERR_RPC_TIMEOUT at the call's deadline.
   */
  Wake: grpc.handleUnaryCall<_agora_NodeIdRequest__Output, _agora_Node>;
  
}

export interface ComputeDefinition extends grpc.ServiceDefinition {
  Create: MethodDefinition<_agora_CreateNodeRequest, _agora_Node, _agora_CreateNodeRequest__Output, _agora_Node__Output>
  Delete: MethodDefinition<_agora_DeleteNodeRequest, _agora_Node, _agora_DeleteNodeRequest__Output, _agora_Node__Output>
  Get: MethodDefinition<_agora_NodeRequest, _agora_Node, _agora_NodeRequest__Output, _agora_Node__Output>
  List: MethodDefinition<_agora_ListNodesRequest, _agora_NodeList, _agora_ListNodesRequest__Output, _agora_NodeList__Output>
  Output: MethodDefinition<_agora_NodeRequest, _agora_NodeOutput, _agora_NodeRequest__Output, _agora_NodeOutput__Output>
  Sleep: MethodDefinition<_agora_NodeIdRequest, _agora_Node, _agora_NodeIdRequest__Output, _agora_Node__Output>
  Update: MethodDefinition<_agora_UpdateNodeRequest, _agora_Node, _agora_UpdateNodeRequest__Output, _agora_Node__Output>
  Wake: MethodDefinition<_agora_NodeIdRequest, _agora_Node, _agora_NodeIdRequest__Output, _agora_Node__Output>
}
