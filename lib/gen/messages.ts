import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ChannelMessagesRequest as _agora_ChannelMessagesRequest, ChannelMessagesRequest__Output as _agora_ChannelMessagesRequest__Output } from './agora/ChannelMessagesRequest';
import type { LastReply as _agora_LastReply, LastReply__Output as _agora_LastReply__Output } from './agora/LastReply';
import type { Message as _agora_Message, Message__Output as _agora_Message__Output } from './agora/Message';
import type { MessageList as _agora_MessageList, MessageList__Output as _agora_MessageList__Output } from './agora/MessageList';
import type { MessagesClient as _agora_MessagesClient, MessagesDefinition as _agora_MessagesDefinition } from './agora/Messages';
import type { PostReply as _agora_PostReply, PostReply__Output as _agora_PostReply__Output } from './agora/PostReply';
import type { PostRequest as _agora_PostRequest, PostRequest__Output as _agora_PostRequest__Output } from './agora/PostRequest';
import type { RetrieveRequest as _agora_RetrieveRequest, RetrieveRequest__Output as _agora_RetrieveRequest__Output } from './agora/RetrieveRequest';
import type { StreamEvent as _agora_StreamEvent, StreamEvent__Output as _agora_StreamEvent__Output } from './agora/StreamEvent';
import type { StreamRequest as _agora_StreamRequest, StreamRequest__Output as _agora_StreamRequest__Output } from './agora/StreamRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    ChannelMessagesRequest: MessageTypeDefinition<_agora_ChannelMessagesRequest, _agora_ChannelMessagesRequest__Output>
    LastReply: MessageTypeDefinition<_agora_LastReply, _agora_LastReply__Output>
    Message: MessageTypeDefinition<_agora_Message, _agora_Message__Output>
    MessageList: MessageTypeDefinition<_agora_MessageList, _agora_MessageList__Output>
    Messages: SubtypeConstructor<typeof grpc.Client, _agora_MessagesClient> & { service: _agora_MessagesDefinition }
    PostReply: MessageTypeDefinition<_agora_PostReply, _agora_PostReply__Output>
    PostRequest: MessageTypeDefinition<_agora_PostRequest, _agora_PostRequest__Output>
    RetrieveRequest: MessageTypeDefinition<_agora_RetrieveRequest, _agora_RetrieveRequest__Output>
    StreamEvent: MessageTypeDefinition<_agora_StreamEvent, _agora_StreamEvent__Output>
    StreamRequest: MessageTypeDefinition<_agora_StreamRequest, _agora_StreamRequest__Output>
  }
}

