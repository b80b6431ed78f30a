// Original file: proto/messages.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChannelMessagesRequest as _agora_ChannelMessagesRequest, ChannelMessagesRequest__Output as _agora_ChannelMessagesRequest__Output } from '../agora/ChannelMessagesRequest';
import type { LastReply as _agora_LastReply, LastReply__Output as _agora_LastReply__Output } from '../agora/LastReply';
import type { MessageList as _agora_MessageList, MessageList__Output as _agora_MessageList__Output } from '../agora/MessageList';
import type { PostReply as _agora_PostReply, PostReply__Output as _agora_PostReply__Output } from '../agora/PostReply';
import type { PostRequest as _agora_PostRequest, PostRequest__Output as _agora_PostRequest__Output } from '../agora/PostRequest';
import type { RetrieveRequest as _agora_RetrieveRequest, RetrieveRequest__Output as _agora_RetrieveRequest__Output } from '../agora/RetrieveRequest';
import type { StreamEvent as _agora_StreamEvent, StreamEvent__Output as _agora_StreamEvent__Output } from '../agora/StreamEvent';
import type { StreamRequest as _agora_StreamRequest, StreamRequest__Output as _agora_StreamRequest__Output } from '../agora/StreamRequest';

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
  
  /**
   * Gateways (gRPC only, no session: each gateway checks its clients' sessions itself): every
   * message posted to the channel after the stream's hello, through any Messages instance, in the
   * order each instance hears them (ids may come out of order across instances: the follower
   * fetches a gap with Retrieve). `reload` when messages may have been missed.
   */
  Stream(argument: _agora_StreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_StreamEvent__Output>;
  Stream(argument: _agora_StreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_StreamEvent__Output>;
  /**
   * Gateways (gRPC only, no session: each gateway checks its clients' sessions itself): every
   * message posted to the channel after the stream's hello, through any Messages instance, in the
   * order each instance hears them (ids may come out of order across instances: the follower
   * fetches a gap with Retrieve). `reload` when messages may have been missed.
   */
  stream(argument: _agora_StreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_StreamEvent__Output>;
  stream(argument: _agora_StreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_StreamEvent__Output>;
  
}

export interface MessagesHandlers extends grpc.UntypedServiceImplementation {
  Last: grpc.handleUnaryCall<_agora_ChannelMessagesRequest__Output, _agora_LastReply>;
  
  Post: grpc.handleUnaryCall<_agora_PostRequest__Output, _agora_PostReply>;
  
  Retrieve: grpc.handleUnaryCall<_agora_RetrieveRequest__Output, _agora_MessageList>;
  
  /**
   * Gateways (gRPC only, no session: each gateway checks its clients' sessions itself): every
   * message posted to the channel after the stream's hello, through any Messages instance, in the
   * order each instance hears them (ids may come out of order across instances: the follower
   * fetches a gap with Retrieve). `reload` when messages may have been missed.
   */
  Stream: grpc.handleServerStreamingCall<_agora_StreamRequest__Output, _agora_StreamEvent>;
  
}

export interface MessagesDefinition extends grpc.ServiceDefinition {
  Last: MethodDefinition<_agora_ChannelMessagesRequest, _agora_LastReply, _agora_ChannelMessagesRequest__Output, _agora_LastReply__Output>
  Post: MethodDefinition<_agora_PostRequest, _agora_PostReply, _agora_PostRequest__Output, _agora_PostReply__Output>
  Retrieve: MethodDefinition<_agora_RetrieveRequest, _agora_MessageList, _agora_RetrieveRequest__Output, _agora_MessageList__Output>
  Stream: MethodDefinition<_agora_StreamRequest, _agora_StreamEvent, _agora_StreamRequest__Output, _agora_StreamEvent__Output>
}
