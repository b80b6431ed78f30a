import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DriverClient as _agora_DriverClient, DriverDefinition as _agora_DriverDefinition } from './agora/Driver';
import type { DriverCreateRequest as _agora_DriverCreateRequest, DriverCreateRequest__Output as _agora_DriverCreateRequest__Output } from './agora/DriverCreateRequest';
import type { DriverListRequest as _agora_DriverListRequest, DriverListRequest__Output as _agora_DriverListRequest__Output } from './agora/DriverListRequest';
import type { DriverNode as _agora_DriverNode, DriverNode__Output as _agora_DriverNode__Output } from './agora/DriverNode';
import type { DriverNodeList as _agora_DriverNodeList, DriverNodeList__Output as _agora_DriverNodeList__Output } from './agora/DriverNodeList';
import type { DriverNodeRef as _agora_DriverNodeRef, DriverNodeRef__Output as _agora_DriverNodeRef__Output } from './agora/DriverNodeRef';
import type { DriverUpdateRequest as _agora_DriverUpdateRequest, DriverUpdateRequest__Output as _agora_DriverUpdateRequest__Output } from './agora/DriverUpdateRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    Driver: SubtypeConstructor<typeof grpc.Client, _agora_DriverClient> & { service: _agora_DriverDefinition }
    DriverCreateRequest: MessageTypeDefinition<_agora_DriverCreateRequest, _agora_DriverCreateRequest__Output>
    DriverListRequest: MessageTypeDefinition<_agora_DriverListRequest, _agora_DriverListRequest__Output>
    DriverNode: MessageTypeDefinition<_agora_DriverNode, _agora_DriverNode__Output>
    DriverNodeList: MessageTypeDefinition<_agora_DriverNodeList, _agora_DriverNodeList__Output>
    DriverNodeRef: MessageTypeDefinition<_agora_DriverNodeRef, _agora_DriverNodeRef__Output>
    DriverUpdateRequest: MessageTypeDefinition<_agora_DriverUpdateRequest, _agora_DriverUpdateRequest__Output>
  }
}

