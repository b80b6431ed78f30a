// Original file: proto/messages.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChannelMessagesRequest as _agora_ChannelMessagesRequest, ChannelMessagesRequest__Output as _agora_ChannelMessagesRequest__Output } from '../agora/ChannelMessagesRequest';
import type { LastReply as _agora_LastReply, LastReply__Output as _agora_LastReply__Output } from '../agora/LastReply';
import type { MessageList as _agora_MessageList, MessageList__Output as _agora_MessageList__Output } from '../agora/MessageList';
import type { PostReply as _agora_PostReply, PostReply__Output as _agora_PostReply__Output } from '../agora/PostReply';
import type { PostRequest as _agora_PostRequest, PostRequest__Output as _agora_PostRequest__Output } from '../agora/PostRequest';
import type { RetrieveRequest as _agora_RetrieveRequest, RetrieveRequest__Output as _agora_RetrieveRequest__Output } from '../agora/RetrieveRequest';

export interface MessagesClient extends grpc.Client {
  Last(argument: _agora_ChannelMessagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  Last(argument: _agora_ChannelMessagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  Last(argument: _agora_ChannelMessagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  Last(argument: _agora_ChannelMessagesRequest, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  last(argument: _agora_ChannelMessagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  last(argument: _agora_ChannelMessagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  last(argument: _agora_ChannelMessagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  last(argument: _agora_ChannelMessagesRequest, callback: grpc.requestCallback<_agora_LastReply__Output>): grpc.ClientUnaryCall;
  
  Post(argument: _agora_PostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  Post(argument: _agora_PostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  Post(argument: _agora_PostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  Post(argument: _agora_PostRequest, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  post(argument: _agora_PostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  post(argument: _agora_PostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  post(argument: _agora_PostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  post(argument: _agora_PostRequest, callback: grpc.requestCallback<_agora_PostReply__Output>): grpc.ClientUnaryCall;
  
  Retrieve(argument: _agora_RetrieveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  Retrieve(argument: _agora_RetrieveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  Retrieve(argument: _agora_RetrieveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  Retrieve(argument: _agora_RetrieveRequest, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  retrieve(argument: _agora_RetrieveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  retrieve(argument: _agora_RetrieveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  retrieve(argument: _agora_RetrieveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  retrieve(argument: _agora_RetrieveRequest, callback: grpc.requestCallback<_agora_MessageList__Output>): grpc.ClientUnaryCall;
  
}

export interface MessagesHandlers extends grpc.UntypedServiceImplementation {
  Last: grpc.handleUnaryCall<_agora_ChannelMessagesRequest__Output, _agora_LastReply>;
  
  Post: grpc.handleUnaryCall<_agora_PostRequest__Output, _agora_PostReply>;
  
  Retrieve: grpc.handleUnaryCall<_agora_RetrieveRequest__Output, _agora_MessageList>;
  
}

export interface MessagesDefinition extends grpc.ServiceDefinition {
  Last: MethodDefinition<_agora_ChannelMessagesRequest, _agora_LastReply, _agora_ChannelMessagesRequest__Output, _agora_LastReply__Output>
  Post: MethodDefinition<_agora_PostRequest, _agora_PostReply, _agora_PostRequest__Output, _agora_PostReply__Output>
  Retrieve: MethodDefinition<_agora_RetrieveRequest, _agora_MessageList, _agora_RetrieveRequest__Output, _agora_MessageList__Output>
}
