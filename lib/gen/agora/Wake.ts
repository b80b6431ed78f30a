// Original file: proto/wake.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ActivityReply as _agora_ActivityReply, ActivityReply__Output as _agora_ActivityReply__Output } from '../agora/ActivityReply';
import type { ActivityReport as _agora_ActivityReport, ActivityReport__Output as _agora_ActivityReport__Output } from '../agora/ActivityReport';
import type { WakeReply as _agora_WakeReply, WakeReply__Output as _agora_WakeReply__Output } from '../agora/WakeReply';
import type { WakeRequest as _agora_WakeRequest, WakeRequest__Output as _agora_WakeRequest__Output } from '../agora/WakeRequest';

export interface WakeClient extends grpc.Client {
  /**
   * A proxy's report: these nodes served requests since its last report. A node that serves
   * none for AGORA_NODE_IDLE_S is stopped (when that is above 0).
   */
  Activity(argument: _agora_ActivityReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  Activity(argument: _agora_ActivityReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  Activity(argument: _agora_ActivityReport, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  Activity(argument: _agora_ActivityReport, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  /**
   * A proxy's report: these nodes served requests since its last report. A node that serves
   * none for AGORA_NODE_IDLE_S is stopped (when that is above 0).
   */
  activity(argument: _agora_ActivityReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  activity(argument: _agora_ActivityReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  activity(argument: _agora_ActivityReport, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  activity(argument: _agora_ActivityReport, callback: grpc.requestCallback<_agora_ActivityReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Start node `node_id` if it is not running and answer once it is ACTIVE, with where it
   * answers. Concurrent wakes of one node are one start. Fails with AGORA_ERR_PROXY_WAKE_FAILED
   * (the node is in ERROR, being deleted, unknown, or compute failed) or
   * AGORA_ERR_PROXY_WAKE_TIMEOUT (not ACTIVE by the call's deadline).
   */
  Wake(argument: _agora_WakeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_WakeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_WakeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  Wake(argument: _agora_WakeRequest, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  /**
   * Start node `node_id` if it is not running and answer once it is ACTIVE, with where it
   * answers. Concurrent wakes of one node are one start. Fails with AGORA_ERR_PROXY_WAKE_FAILED
   * (the node is in ERROR, being deleted, unknown, or compute failed) or
   * AGORA_ERR_PROXY_WAKE_TIMEOUT (not ACTIVE by the call's deadline).
   */
  wake(argument: _agora_WakeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_WakeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_WakeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  wake(argument: _agora_WakeRequest, callback: grpc.requestCallback<_agora_WakeReply__Output>): grpc.ClientUnaryCall;
  
}

export interface WakeHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A proxy's report: these nodes served requests since its last report. A node that serves
   * none for AGORA_NODE_IDLE_S is stopped (when that is above 0).
   */
  Activity: grpc.handleUnaryCall<_agora_ActivityReport__Output, _agora_ActivityReply>;
  
  /**
   * Start node `node_id` if it is not running and answer once it is ACTIVE, with where it
   * answers. Concurrent wakes of one node are one start. Fails with AGORA_ERR_PROXY_WAKE_FAILED
   * (the node is in ERROR, being deleted, unknown, or compute failed) or
   * AGORA_ERR_PROXY_WAKE_TIMEOUT (not ACTIVE by the call's deadline).
   */
  Wake: grpc.handleUnaryCall<_agora_WakeRequest__Output, _agora_WakeReply>;
  
}

export interface WakeDefinition extends grpc.ServiceDefinition {
  Activity: MethodDefinition<_agora_ActivityReport, _agora_ActivityReply, _agora_ActivityReport__Output, _agora_ActivityReply__Output>
  Wake: MethodDefinition<_agora_WakeRequest, _agora_WakeReply, _agora_WakeRequest__Output, _agora_WakeReply__Output>
}
