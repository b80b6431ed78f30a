import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ComputeClient as _agora_ComputeClient, ComputeDefinition as _agora_ComputeDefinition } from './agora/Compute';
import type { CreateNodeRequest as _agora_CreateNodeRequest, CreateNodeRequest__Output as _agora_CreateNodeRequest__Output } from './agora/CreateNodeRequest';
import type { DeleteNodeRequest as _agora_DeleteNodeRequest, DeleteNodeRequest__Output as _agora_DeleteNodeRequest__Output } from './agora/DeleteNodeRequest';
import type { ListNodesRequest as _agora_ListNodesRequest, ListNodesRequest__Output as _agora_ListNodesRequest__Output } from './agora/ListNodesRequest';
import type { Node as _agora_Node, Node__Output as _agora_Node__Output } from './agora/Node';
import type { NodeIdRequest as _agora_NodeIdRequest, NodeIdRequest__Output as _agora_NodeIdRequest__Output } from './agora/NodeIdRequest';
import type { NodeList as _agora_NodeList, NodeList__Output as _agora_NodeList__Output } from './agora/NodeList';
import type { NodeOutput as _agora_NodeOutput, NodeOutput__Output as _agora_NodeOutput__Output } from './agora/NodeOutput';
import type { NodePermissions as _agora_NodePermissions, NodePermissions__Output as _agora_NodePermissions__Output } from './agora/NodePermissions';
import type { NodeRequest as _agora_NodeRequest, NodeRequest__Output as _agora_NodeRequest__Output } from './agora/NodeRequest';
import type { NodeTombstone as _agora_NodeTombstone, NodeTombstone__Output as _agora_NodeTombstone__Output } from './agora/NodeTombstone';
import type { UpdateNodeRequest as _agora_UpdateNodeRequest, UpdateNodeRequest__Output as _agora_UpdateNodeRequest__Output } from './agora/UpdateNodeRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    Compute: SubtypeConstructor<typeof grpc.Client, _agora_ComputeClient> & { service: _agora_ComputeDefinition }
    CreateNodeRequest: MessageTypeDefinition<_agora_CreateNodeRequest, _agora_CreateNodeRequest__Output>
    DeleteNodeRequest: MessageTypeDefinition<_agora_DeleteNodeRequest, _agora_DeleteNodeRequest__Output>
    ListNodesRequest: MessageTypeDefinition<_agora_ListNodesRequest, _agora_ListNodesRequest__Output>
    Node: MessageTypeDefinition<_agora_Node, _agora_Node__Output>
    NodeIdRequest: MessageTypeDefinition<_agora_NodeIdRequest, _agora_NodeIdRequest__Output>
    NodeList: MessageTypeDefinition<_agora_NodeList, _agora_NodeList__Output>
    NodeOutput: MessageTypeDefinition<_agora_NodeOutput, _agora_NodeOutput__Output>
    NodePermissions: MessageTypeDefinition<_agora_NodePermissions, _agora_NodePermissions__Output>
    NodeRequest: MessageTypeDefinition<_agora_NodeRequest, _agora_NodeRequest__Output>
    NodeTombstone: MessageTypeDefinition<_agora_NodeTombstone, _agora_NodeTombstone__Output>
    UpdateNodeRequest: MessageTypeDefinition<_agora_UpdateNodeRequest, _agora_UpdateNodeRequest__Output>
  }
}

