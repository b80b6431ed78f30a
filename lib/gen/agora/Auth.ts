// Original file: proto/auth.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Identity as _agora_Identity, Identity__Output as _agora_Identity__Output } from '../agora/Identity';
import type { LogoffReply as _agora_LogoffReply, LogoffReply__Output as _agora_LogoffReply__Output } from '../agora/LogoffReply';
import type { LogoffRequest as _agora_LogoffRequest, LogoffRequest__Output as _agora_LogoffRequest__Output } from '../agora/LogoffRequest';
import type { LogonReply as _agora_LogonReply, LogonReply__Output as _agora_LogonReply__Output } from '../agora/LogonReply';
import type { LogonRequest as _agora_LogonRequest, LogonRequest__Output as _agora_LogonRequest__Output } from '../agora/LogonRequest';
import type { SessionRequest as _agora_SessionRequest, SessionRequest__Output as _agora_SessionRequest__Output } from '../agora/SessionRequest';
import type { WatchDown as _agora_WatchDown, WatchDown__Output as _agora_WatchDown__Output } from '../agora/WatchDown';
import type { WatchUp as _agora_WatchUp, WatchUp__Output as _agora_WatchUp__Output } from '../agora/WatchUp';

export interface AuthClient extends grpc.Client {
  /**
   * End a session. Answers only once every watcher has dropped the key.
   */
  Logoff(argument: _agora_LogoffRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  Logoff(argument: _agora_LogoffRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  Logoff(argument: _agora_LogoffRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  Logoff(argument: _agora_LogoffRequest, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  /**
   * End a session. Answers only once every watcher has dropped the key.
   */
  logoff(argument: _agora_LogoffRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  logoff(argument: _agora_LogoffRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  logoff(argument: _agora_LogoffRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  logoff(argument: _agora_LogoffRequest, callback: grpc.requestCallback<_agora_LogoffReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Log a user on; creates the user on first logon while open registration is on.
   */
  Logon(argument: _agora_LogonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  Logon(argument: _agora_LogonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  Logon(argument: _agora_LogonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  Logon(argument: _agora_LogonRequest, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  /**
   * Log a user on; creates the user on first logon while open registration is on.
   */
  logon(argument: _agora_LogonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  logon(argument: _agora_LogonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  logon(argument: _agora_LogonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  logon(argument: _agora_LogonRequest, callback: grpc.requestCallback<_agora_LogonReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Who holds this session key? Refreshes the session's idle timer.
   */
  Resolve(argument: _agora_SessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _agora_SessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _agora_SessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _agora_SessionRequest, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  /**
   * Who holds this session key? Refreshes the session's idle timer.
   */
  resolve(argument: _agora_SessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  resolve(argument: _agora_SessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  resolve(argument: _agora_SessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  resolve(argument: _agora_SessionRequest, callback: grpc.requestCallback<_agora_Identity__Output>): grpc.ClientUnaryCall;
  
  /**
   * Session cache coherence for other services (gRPC only): the caller reports keys it
   * used (touch) and acknowledges invalidations; the server streams invalidations.
   */
  Watch(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_agora_WatchUp, _agora_WatchDown__Output>;
  Watch(options?: grpc.CallOptions): grpc.ClientDuplexStream<_agora_WatchUp, _agora_WatchDown__Output>;
  /**
   * Session cache coherence for other services (gRPC only): the caller reports keys it
   * used (touch) and acknowledges invalidations; the server streams invalidations.
   */
  watch(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_agora_WatchUp, _agora_WatchDown__Output>;
  watch(options?: grpc.CallOptions): grpc.ClientDuplexStream<_agora_WatchUp, _agora_WatchDown__Output>;
  
}

export interface AuthHandlers extends grpc.UntypedServiceImplementation {
  /**
   * End a session. Answers only once every watcher has dropped the key.
   */
  Logoff: grpc.handleUnaryCall<_agora_LogoffRequest__Output, _agora_LogoffReply>;
  
  /**
   * Log a user on; creates the user on first logon while open registration is on.
   */
  Logon: grpc.handleUnaryCall<_agora_LogonRequest__Output, _agora_LogonReply>;
  
  /**
   * Who holds this session key? Refreshes the session's idle timer.
   */
  Resolve: grpc.handleUnaryCall<_agora_SessionRequest__Output, _agora_Identity>;
  
  /**
   * Session cache coherence for other services (gRPC only): the caller reports keys it
   * used (touch) and acknowledges invalidations; the server streams invalidations.
   */
  Watch: grpc.handleBidiStreamingCall<_agora_WatchUp__Output, _agora_WatchDown>;
  
}

export interface AuthDefinition extends grpc.ServiceDefinition {
  Logoff: MethodDefinition<_agora_LogoffRequest, _agora_LogoffReply, _agora_LogoffRequest__Output, _agora_LogoffReply__Output>
  Logon: MethodDefinition<_agora_LogonRequest, _agora_LogonReply, _agora_LogonRequest__Output, _agora_LogonReply__Output>
  Resolve: MethodDefinition<_agora_SessionRequest, _agora_Identity, _agora_SessionRequest__Output, _agora_Identity__Output>
  Watch: MethodDefinition<_agora_WatchUp, _agora_WatchDown, _agora_WatchUp__Output, _agora_WatchDown__Output>
}
