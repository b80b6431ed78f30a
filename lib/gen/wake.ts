import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ActivityReply as _agora_ActivityReply, ActivityReply__Output as _agora_ActivityReply__Output } from './agora/ActivityReply';
import type { ActivityReport as _agora_ActivityReport, ActivityReport__Output as _agora_ActivityReport__Output } from './agora/ActivityReport';
import type { WakeClient as _agora_WakeClient, WakeDefinition as _agora_WakeDefinition } from './agora/Wake';
import type { WakeReply as _agora_WakeReply, WakeReply__Output as _agora_WakeReply__Output } from './agora/WakeReply';
import type { WakeRequest as _agora_WakeRequest, WakeRequest__Output as _agora_WakeRequest__Output } from './agora/WakeRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    ActivityReply: MessageTypeDefinition<_agora_ActivityReply, _agora_ActivityReply__Output>
    ActivityReport: MessageTypeDefinition<_agora_ActivityReport, _agora_ActivityReport__Output>
    Wake: SubtypeConstructor<typeof grpc.Client, _agora_WakeClient> & { service: _agora_WakeDefinition }
    WakeReply: MessageTypeDefinition<_agora_WakeReply, _agora_WakeReply__Output>
    WakeRequest: MessageTypeDefinition<_agora_WakeRequest, _agora_WakeRequest__Output>
  }
}

