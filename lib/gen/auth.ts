import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _agora_Ack, Ack__Output as _agora_Ack__Output } from './agora/Ack';
import type { AuthClient as _agora_AuthClient, AuthDefinition as _agora_AuthDefinition } from './agora/Auth';
import type { Identity as _agora_Identity, Identity__Output as _agora_Identity__Output } from './agora/Identity';
import type { LogoffReply as _agora_LogoffReply, LogoffReply__Output as _agora_LogoffReply__Output } from './agora/LogoffReply';
import type { LogoffRequest as _agora_LogoffRequest, LogoffRequest__Output as _agora_LogoffRequest__Output } from './agora/LogoffRequest';
import type { LogonReply as _agora_LogonReply, LogonReply__Output as _agora_LogonReply__Output } from './agora/LogonReply';
import type { LogonRequest as _agora_LogonRequest, LogonRequest__Output as _agora_LogonRequest__Output } from './agora/LogonRequest';
import type { SessionRequest as _agora_SessionRequest, SessionRequest__Output as _agora_SessionRequest__Output } from './agora/SessionRequest';
import type { Touch as _agora_Touch, Touch__Output as _agora_Touch__Output } from './agora/Touch';
import type { WatchDown as _agora_WatchDown, WatchDown__Output as _agora_WatchDown__Output } from './agora/WatchDown';
import type { WatchUp as _agora_WatchUp, WatchUp__Output as _agora_WatchUp__Output } from './agora/WatchUp';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    Ack: MessageTypeDefinition<_agora_Ack, _agora_Ack__Output>
    Auth: SubtypeConstructor<typeof grpc.Client, _agora_AuthClient> & { service: _agora_AuthDefinition }
    Identity: MessageTypeDefinition<_agora_Identity, _agora_Identity__Output>
    LogoffReply: MessageTypeDefinition<_agora_LogoffReply, _agora_LogoffReply__Output>
    LogoffRequest: MessageTypeDefinition<_agora_LogoffRequest, _agora_LogoffRequest__Output>
    LogonReply: MessageTypeDefinition<_agora_LogonReply, _agora_LogonReply__Output>
    LogonRequest: MessageTypeDefinition<_agora_LogonRequest, _agora_LogonRequest__Output>
    SessionRequest: MessageTypeDefinition<_agora_SessionRequest, _agora_SessionRequest__Output>
    Touch: MessageTypeDefinition<_agora_Touch, _agora_Touch__Output>
    WatchDown: MessageTypeDefinition<_agora_WatchDown, _agora_WatchDown__Output>
    WatchUp: MessageTypeDefinition<_agora_WatchUp, _agora_WatchUp__Output>
  }
}

