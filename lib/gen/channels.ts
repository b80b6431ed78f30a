import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ChannelList as _agora_ChannelList, ChannelList__Output as _agora_ChannelList__Output } from './agora/ChannelList';
import type { ChannelRecord as _agora_ChannelRecord, ChannelRecord__Output as _agora_ChannelRecord__Output } from './agora/ChannelRecord';
import type { ChannelRef as _agora_ChannelRef, ChannelRef__Output as _agora_ChannelRef__Output } from './agora/ChannelRef';
import type { ChannelsClient as _agora_ChannelsClient, ChannelsDefinition as _agora_ChannelsDefinition } from './agora/Channels';
import type { CreateChannelReply as _agora_CreateChannelReply, CreateChannelReply__Output as _agora_CreateChannelReply__Output } from './agora/CreateChannelReply';
import type { CreateChannelRequest as _agora_CreateChannelRequest, CreateChannelRequest__Output as _agora_CreateChannelRequest__Output } from './agora/CreateChannelRequest';
import type { ExistsReply as _agora_ExistsReply, ExistsReply__Output as _agora_ExistsReply__Output } from './agora/ExistsReply';
import type { GetChannelRequest as _agora_GetChannelRequest, GetChannelRequest__Output as _agora_GetChannelRequest__Output } from './agora/GetChannelRequest';
import type { ListChannelsRequest as _agora_ListChannelsRequest, ListChannelsRequest__Output as _agora_ListChannelsRequest__Output } from './agora/ListChannelsRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    ChannelList: MessageTypeDefinition<_agora_ChannelList, _agora_ChannelList__Output>
    ChannelRecord: MessageTypeDefinition<_agora_ChannelRecord, _agora_ChannelRecord__Output>
    ChannelRef: MessageTypeDefinition<_agora_ChannelRef, _agora_ChannelRef__Output>
    Channels: SubtypeConstructor<typeof grpc.Client, _agora_ChannelsClient> & { service: _agora_ChannelsDefinition }
    CreateChannelReply: MessageTypeDefinition<_agora_CreateChannelReply, _agora_CreateChannelReply__Output>
    CreateChannelRequest: MessageTypeDefinition<_agora_CreateChannelRequest, _agora_CreateChannelRequest__Output>
    ExistsReply: MessageTypeDefinition<_agora_ExistsReply, _agora_ExistsReply__Output>
    GetChannelRequest: MessageTypeDefinition<_agora_GetChannelRequest, _agora_GetChannelRequest__Output>
    ListChannelsRequest: MessageTypeDefinition<_agora_ListChannelsRequest, _agora_ListChannelsRequest__Output>
  }
}

