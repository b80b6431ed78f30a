// Original file: proto/channels.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChannelList as _agora_ChannelList, ChannelList__Output as _agora_ChannelList__Output } from '../agora/ChannelList';
import type { ChannelRecord as _agora_ChannelRecord, ChannelRecord__Output as _agora_ChannelRecord__Output } from '../agora/ChannelRecord';
import type { ChannelRef as _agora_ChannelRef, ChannelRef__Output as _agora_ChannelRef__Output } from '../agora/ChannelRef';
import type { CreateChannelReply as _agora_CreateChannelReply, CreateChannelReply__Output as _agora_CreateChannelReply__Output } from '../agora/CreateChannelReply';
import type { CreateChannelRequest as _agora_CreateChannelRequest, CreateChannelRequest__Output as _agora_CreateChannelRequest__Output } from '../agora/CreateChannelRequest';
import type { ExistsReply as _agora_ExistsReply, ExistsReply__Output as _agora_ExistsReply__Output } from '../agora/ExistsReply';
import type { GetChannelRequest as _agora_GetChannelRequest, GetChannelRequest__Output as _agora_GetChannelRequest__Output } from '../agora/GetChannelRequest';
import type { ListChannelsRequest as _agora_ListChannelsRequest, ListChannelsRequest__Output as _agora_ListChannelsRequest__Output } from '../agora/ListChannelsRequest';

export interface ChannelsClient extends grpc.Client {
  /**
   * Creating a channel that exists succeeds and answers created = false (idempotent).
   */
  Create(argument: _agora_CreateChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_CreateChannelRequest, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  /**
   * Creating a channel that exists succeeds and answers created = false (idempotent).
   */
  create(argument: _agora_CreateChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_CreateChannelRequest, callback: grpc.requestCallback<_agora_CreateChannelReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Does this channel exist? (typed internal call; no session needed)
   */
  Exists(argument: _agora_ChannelRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ChannelRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ChannelRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ChannelRef, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  /**
   * Does this channel exist? (typed internal call; no session needed)
   */
  exists(argument: _agora_ChannelRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ChannelRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ChannelRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ChannelRef, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * One channel, for a session (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when absent.
   */
  Get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  /**
   * One channel, for a session (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when absent.
   */
  get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, callback: grpc.requestCallback<_agora_ChannelRecord__Output>): grpc.ClientUnaryCall;
  
  List(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  
}

export interface ChannelsHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Creating a channel that exists succeeds and answers created = false (idempotent).
   */
  Create: grpc.handleUnaryCall<_agora_CreateChannelRequest__Output, _agora_CreateChannelReply>;
  
  /**
   * Does this channel exist? (typed internal call; no session needed)
   */
  Exists: grpc.handleUnaryCall<_agora_ChannelRef__Output, _agora_ExistsReply>;
  
  /**
   * One channel, for a session (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when absent.
   */
  Get: grpc.handleUnaryCall<_agora_GetChannelRequest__Output, _agora_ChannelRecord>;
  
  List: grpc.handleUnaryCall<_agora_ListChannelsRequest__Output, _agora_ChannelList>;
  
}

export interface ChannelsDefinition extends grpc.ServiceDefinition {
  Create: MethodDefinition<_agora_CreateChannelRequest, _agora_CreateChannelReply, _agora_CreateChannelRequest__Output, _agora_CreateChannelReply__Output>
  Exists: MethodDefinition<_agora_ChannelRef, _agora_ExistsReply, _agora_ChannelRef__Output, _agora_ExistsReply__Output>
  Get: MethodDefinition<_agora_GetChannelRequest, _agora_ChannelRecord, _agora_GetChannelRequest__Output, _agora_ChannelRecord__Output>
  List: MethodDefinition<_agora_ListChannelsRequest, _agora_ChannelList, _agora_ListChannelsRequest__Output, _agora_ChannelList__Output>
}
