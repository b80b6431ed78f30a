// Original file: proto/channels.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Channel as _agora_Channel, Channel__Output as _agora_Channel__Output } from '../agora/Channel';
import type { ChannelAccess as _agora_ChannelAccess, ChannelAccess__Output as _agora_ChannelAccess__Output } from '../agora/ChannelAccess';
import type { ChannelList as _agora_ChannelList, ChannelList__Output as _agora_ChannelList__Output } from '../agora/ChannelList';
import type { ChannelRef as _agora_ChannelRef, ChannelRef__Output as _agora_ChannelRef__Output } from '../agora/ChannelRef';
import type { CreateChannelReply as _agora_CreateChannelReply, CreateChannelReply__Output as _agora_CreateChannelReply__Output } from '../agora/CreateChannelReply';
import type { CreateChannelRequest as _agora_CreateChannelRequest, CreateChannelRequest__Output as _agora_CreateChannelRequest__Output } from '../agora/CreateChannelRequest';
import type { ExistsReply as _agora_ExistsReply, ExistsReply__Output as _agora_ExistsReply__Output } from '../agora/ExistsReply';
import type { ExistsRequest as _agora_ExistsRequest, ExistsRequest__Output as _agora_ExistsRequest__Output } from '../agora/ExistsRequest';
import type { GetChannelRequest as _agora_GetChannelRequest, GetChannelRequest__Output as _agora_GetChannelRequest__Output } from '../agora/GetChannelRequest';
import type { ListChannelsRequest as _agora_ListChannelsRequest, ListChannelsRequest__Output as _agora_ListChannelsRequest__Output } from '../agora/ListChannelsRequest';
import type { SetChannelPermissionsRequest as _agora_SetChannelPermissionsRequest, SetChannelPermissionsRequest__Output as _agora_SetChannelPermissionsRequest__Output } from '../agora/SetChannelPermissionsRequest';

export interface ChannelsClient extends grpc.Client {
  /**
   * Internal (gRPC only, no session): whether the channel exists and its permissions, for
   * Messages to judge a post or a read (lib/permissions.ts).
   */
  Access(argument: _agora_ChannelRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  Access(argument: _agora_ChannelRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  Access(argument: _agora_ChannelRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  Access(argument: _agora_ChannelRef, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  /**
   * Internal (gRPC only, no session): whether the channel exists and its permissions, for
   * Messages to judge a post or a read (lib/permissions.ts).
   */
  access(argument: _agora_ChannelRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  access(argument: _agora_ChannelRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  access(argument: _agora_ChannelRef, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  access(argument: _agora_ChannelRef, callback: grpc.requestCallback<_agora_ChannelAccess__Output>): grpc.ClientUnaryCall;
  
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
   * Does this channel exist for the session? A channel it may not read is absent to it, and to a
   * call without a session (sesskey 0) every channel is but those system.Everyone may read.
   */
  Exists(argument: _agora_ExistsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ExistsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ExistsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  Exists(argument: _agora_ExistsRequest, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  /**
   * Does this channel exist for the session? A channel it may not read is absent to it, and to a
   * call without a session (sesskey 0) every channel is but those system.Everyone may read.
   */
  exists(argument: _agora_ExistsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ExistsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ExistsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  exists(argument: _agora_ExistsRequest, callback: grpc.requestCallback<_agora_ExistsReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * One channel the session may read (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when
   * absent or not readable by it.
   */
  Get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_GetChannelRequest, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  /**
   * One channel the session may read (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when
   * absent or not readable by it.
   */
  get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_GetChannelRequest, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  
  List(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListChannelsRequest, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListChannelsRequest, callback: grpc.requestCallback<_agora_ChannelList__Output>): grpc.ClientUnaryCall;
  
  /**
   * Change a channel's permissions (PATCH /v1/channels/{name}): the session must hold write
   * (AGORA_ERR_FORBIDDEN otherwise; AGORA_ERR_CHANNEL_NOT_FOUND when it may not even read it).
   */
  SetPermissions(argument: _agora_SetChannelPermissionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  SetPermissions(argument: _agora_SetChannelPermissionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  SetPermissions(argument: _agora_SetChannelPermissionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  SetPermissions(argument: _agora_SetChannelPermissionsRequest, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  /**
   * Change a channel's permissions (PATCH /v1/channels/{name}): the session must hold write
   * (AGORA_ERR_FORBIDDEN otherwise; AGORA_ERR_CHANNEL_NOT_FOUND when it may not even read it).
   */
  setPermissions(argument: _agora_SetChannelPermissionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  setPermissions(argument: _agora_SetChannelPermissionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  setPermissions(argument: _agora_SetChannelPermissionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  setPermissions(argument: _agora_SetChannelPermissionsRequest, callback: grpc.requestCallback<_agora_Channel__Output>): grpc.ClientUnaryCall;
  
}

export interface ChannelsHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Internal (gRPC only, no session): whether the channel exists and its permissions, for
   * Messages to judge a post or a read (lib/permissions.ts).
   */
  Access: grpc.handleUnaryCall<_agora_ChannelRef__Output, _agora_ChannelAccess>;
  
  /**
   * Creating a channel that exists succeeds and answers created = false (idempotent).
   */
  Create: grpc.handleUnaryCall<_agora_CreateChannelRequest__Output, _agora_CreateChannelReply>;
  
  /**
   * Does this channel exist for the session? A channel it may not read is absent to it, and to a
   * call without a session (sesskey 0) every channel is but those system.Everyone may read.
   */
  Exists: grpc.handleUnaryCall<_agora_ExistsRequest__Output, _agora_ExistsReply>;
  
  /**
   * One channel the session may read (GET /v1/channels/{name}); AGORA_ERR_CHANNEL_NOT_FOUND when
   * absent or not readable by it.
   */
  Get: grpc.handleUnaryCall<_agora_GetChannelRequest__Output, _agora_Channel>;
  
  List: grpc.handleUnaryCall<_agora_ListChannelsRequest__Output, _agora_ChannelList>;
  
  /**
   * Change a channel's permissions (PATCH /v1/channels/{name}): the session must hold write
   * (AGORA_ERR_FORBIDDEN otherwise; AGORA_ERR_CHANNEL_NOT_FOUND when it may not even read it).
   */
  SetPermissions: grpc.handleUnaryCall<_agora_SetChannelPermissionsRequest__Output, _agora_Channel>;
  
}

export interface ChannelsDefinition extends grpc.ServiceDefinition {
  Access: MethodDefinition<_agora_ChannelRef, _agora_ChannelAccess, _agora_ChannelRef__Output, _agora_ChannelAccess__Output>
  Create: MethodDefinition<_agora_CreateChannelRequest, _agora_CreateChannelReply, _agora_CreateChannelRequest__Output, _agora_CreateChannelReply__Output>
  Exists: MethodDefinition<_agora_ExistsRequest, _agora_ExistsReply, _agora_ExistsRequest__Output, _agora_ExistsReply__Output>
  Get: MethodDefinition<_agora_GetChannelRequest, _agora_Channel, _agora_GetChannelRequest__Output, _agora_Channel__Output>
  List: MethodDefinition<_agora_ListChannelsRequest, _agora_ChannelList, _agora_ListChannelsRequest__Output, _agora_ChannelList__Output>
  SetPermissions: MethodDefinition<_agora_SetChannelPermissionsRequest, _agora_Channel, _agora_SetChannelPermissionsRequest__Output, _agora_Channel__Output>
}
