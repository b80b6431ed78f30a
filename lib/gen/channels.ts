import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Channel as _agora_Channel, Channel__Output as _agora_Channel__Output } from './agora/Channel';
import type { ChannelAccess as _agora_ChannelAccess, ChannelAccess__Output as _agora_ChannelAccess__Output } from './agora/ChannelAccess';
import type { ChannelList as _agora_ChannelList, ChannelList__Output as _agora_ChannelList__Output } from './agora/ChannelList';
import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from './agora/ChannelPermissions';
import type { ChannelRef as _agora_ChannelRef, ChannelRef__Output as _agora_ChannelRef__Output } from './agora/ChannelRef';
import type { ChannelsClient as _agora_ChannelsClient, ChannelsDefinition as _agora_ChannelsDefinition } from './agora/Channels';
import type { CreateChannelReply as _agora_CreateChannelReply, CreateChannelReply__Output as _agora_CreateChannelReply__Output } from './agora/CreateChannelReply';
import type { CreateChannelRequest as _agora_CreateChannelRequest, CreateChannelRequest__Output as _agora_CreateChannelRequest__Output } from './agora/CreateChannelRequest';
import type { ExistsReply as _agora_ExistsReply, ExistsReply__Output as _agora_ExistsReply__Output } from './agora/ExistsReply';
import type { ExistsRequest as _agora_ExistsRequest, ExistsRequest__Output as _agora_ExistsRequest__Output } from './agora/ExistsRequest';
import type { GetChannelRequest as _agora_GetChannelRequest, GetChannelRequest__Output as _agora_GetChannelRequest__Output } from './agora/GetChannelRequest';
import type { ListChannelsRequest as _agora_ListChannelsRequest, ListChannelsRequest__Output as _agora_ListChannelsRequest__Output } from './agora/ListChannelsRequest';
import type { SetChannelPermissionsRequest as _agora_SetChannelPermissionsRequest, SetChannelPermissionsRequest__Output as _agora_SetChannelPermissionsRequest__Output } from './agora/SetChannelPermissionsRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    Channel: MessageTypeDefinition<_agora_Channel, _agora_Channel__Output>
    ChannelAccess: MessageTypeDefinition<_agora_ChannelAccess, _agora_ChannelAccess__Output>
    ChannelList: MessageTypeDefinition<_agora_ChannelList, _agora_ChannelList__Output>
    ChannelPermissions: MessageTypeDefinition<_agora_ChannelPermissions, _agora_ChannelPermissions__Output>
    ChannelRef: MessageTypeDefinition<_agora_ChannelRef, _agora_ChannelRef__Output>
    Channels: SubtypeConstructor<typeof grpc.Client, _agora_ChannelsClient> & { service: _agora_ChannelsDefinition }
    CreateChannelReply: MessageTypeDefinition<_agora_CreateChannelReply, _agora_CreateChannelReply__Output>
    CreateChannelRequest: MessageTypeDefinition<_agora_CreateChannelRequest, _agora_CreateChannelRequest__Output>
    ExistsReply: MessageTypeDefinition<_agora_ExistsReply, _agora_ExistsReply__Output>
    ExistsRequest: MessageTypeDefinition<_agora_ExistsRequest, _agora_ExistsRequest__Output>
    GetChannelRequest: MessageTypeDefinition<_agora_GetChannelRequest, _agora_GetChannelRequest__Output>
    ListChannelsRequest: MessageTypeDefinition<_agora_ListChannelsRequest, _agora_ListChannelsRequest__Output>
    SetChannelPermissionsRequest: MessageTypeDefinition<_agora_SetChannelPermissionsRequest, _agora_SetChannelPermissionsRequest__Output>
  }
}

