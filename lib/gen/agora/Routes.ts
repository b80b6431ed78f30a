// Original file: proto/routes.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeleteRouteRequest as _agora_DeleteRouteRequest, DeleteRouteRequest__Output as _agora_DeleteRouteRequest__Output } from '../agora/DeleteRouteRequest';
import type { DropNodeRequest as _agora_DropNodeRequest, DropNodeRequest__Output as _agora_DropNodeRequest__Output } from '../agora/DropNodeRequest';
import type { ListRoutesRequest as _agora_ListRoutesRequest, ListRoutesRequest__Output as _agora_ListRoutesRequest__Output } from '../agora/ListRoutesRequest';
import type { NodeTarget as _agora_NodeTarget, NodeTarget__Output as _agora_NodeTarget__Output } from '../agora/NodeTarget';
import type { PutRouteRequest as _agora_PutRouteRequest, PutRouteRequest__Output as _agora_PutRouteRequest__Output } from '../agora/PutRouteRequest';
import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from '../agora/Route';
import type { RouteChange as _agora_RouteChange, RouteChange__Output as _agora_RouteChange__Output } from '../agora/RouteChange';
import type { RouteList as _agora_RouteList, RouteList__Output as _agora_RouteList__Output } from '../agora/RouteList';
import type { RouteRequest as _agora_RouteRequest, RouteRequest__Output as _agora_RouteRequest__Output } from '../agora/RouteRequest';
import type { RouteTable as _agora_RouteTable, RouteTable__Output as _agora_RouteTable__Output } from '../agora/RouteTable';
import type { SyncReply as _agora_SyncReply, SyncReply__Output as _agora_SyncReply__Output } from '../agora/SyncReply';
import type { TableRequest as _agora_TableRequest, TableRequest__Output as _agora_TableRequest__Output } from '../agora/TableRequest';
import type { WatchRoutesRequest as _agora_WatchRoutesRequest, WatchRoutesRequest__Output as _agora_WatchRoutesRequest__Output } from '../agora/WatchRoutesRequest';

export interface RoutesClient extends grpc.Client {
  /**
   * Add a route for a source host nobody routes yet (AGORA_ERR_ROUTE_EXISTS otherwise).
   */
  Create(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_PutRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Create(argument: _agora_PutRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  /**
   * Add a route for a source host nobody routes yet (AGORA_ERR_ROUTE_EXISTS otherwise).
   */
  create(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_PutRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  create(argument: _agora_PutRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  
  /**
   * Remove one of the caller's routes; answers it as it was.
   */
  Delete(argument: _agora_DeleteRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Delete(argument: _agora_DeleteRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  /**
   * Remove one of the caller's routes; answers it as it was.
   */
  delete(argument: _agora_DeleteRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  delete(argument: _agora_DeleteRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  
  /**
   * Compute: a node is gone; routes to it stay, but lead nowhere.
   */
  DropNode(argument: _agora_DropNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  DropNode(argument: _agora_DropNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  DropNode(argument: _agora_DropNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  DropNode(argument: _agora_DropNodeRequest, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  /**
   * Compute: a node is gone; routes to it stay, but lead nowhere.
   */
  dropNode(argument: _agora_DropNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  dropNode(argument: _agora_DropNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  dropNode(argument: _agora_DropNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  dropNode(argument: _agora_DropNodeRequest, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * One of the caller's custom routes, by source host.
   */
  Get(argument: _agora_RouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_RouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_RouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Get(argument: _agora_RouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  /**
   * One of the caller's custom routes, by source host.
   */
  get(argument: _agora_RouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_RouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_RouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  get(argument: _agora_RouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  
  /**
   * The caller's custom routes, oldest first.
   */
  List(argument: _agora_ListRoutesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListRoutesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListRoutesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  List(argument: _agora_ListRoutesRequest, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  /**
   * The caller's custom routes, oldest first.
   */
  list(argument: _agora_ListRoutesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListRoutesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListRoutesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  list(argument: _agora_ListRoutesRequest, callback: grpc.requestCallback<_agora_RouteList__Output>): grpc.ClientUnaryCall;
  
  /**
   * Replace one of the caller's routes (same source host), target and settings together.
   */
  Replace(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Replace(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Replace(argument: _agora_PutRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  Replace(argument: _agora_PutRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  /**
   * Replace one of the caller's routes (same source host), target and settings together.
   */
  replace(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  replace(argument: _agora_PutRouteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  replace(argument: _agora_PutRouteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  replace(argument: _agora_PutRouteRequest, callback: grpc.requestCallback<_agora_Route__Output>): grpc.ClientUnaryCall;
  
  /**
   * Compute: a node's current name, owner, status and address (created or changed).
   */
  SyncNode(argument: _agora_NodeTarget, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  SyncNode(argument: _agora_NodeTarget, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  SyncNode(argument: _agora_NodeTarget, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  SyncNode(argument: _agora_NodeTarget, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  /**
   * Compute: a node's current name, owner, status and address (created or changed).
   */
  syncNode(argument: _agora_NodeTarget, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  syncNode(argument: _agora_NodeTarget, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  syncNode(argument: _agora_NodeTarget, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  syncNode(argument: _agora_NodeTarget, callback: grpc.requestCallback<_agora_SyncReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Proxies: the whole table, custom routes and every node's target.
   */
  Table(argument: _agora_TableRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  Table(argument: _agora_TableRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  Table(argument: _agora_TableRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  Table(argument: _agora_TableRequest, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  /**
   * Proxies: the whole table, custom routes and every node's target.
   */
  table(argument: _agora_TableRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  table(argument: _agora_TableRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  table(argument: _agora_TableRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  table(argument: _agora_TableRequest, callback: grpc.requestCallback<_agora_RouteTable__Output>): grpc.ClientUnaryCall;
  
  /**
   * Proxies (gRPC only): every change after the stream's first message, in order. A proxy loads
   * Table after the stream's hello and again whenever it is asked to (reload) or reconnects.
   */
  Watch(argument: _agora_WatchRoutesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_RouteChange__Output>;
  Watch(argument: _agora_WatchRoutesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_RouteChange__Output>;
  /**
   * Proxies (gRPC only): every change after the stream's first message, in order. A proxy loads
   * Table after the stream's hello and again whenever it is asked to (reload) or reconnects.
   */
  watch(argument: _agora_WatchRoutesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_RouteChange__Output>;
  watch(argument: _agora_WatchRoutesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_agora_RouteChange__Output>;
  
}

export interface RoutesHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Add a route for a source host nobody routes yet (AGORA_ERR_ROUTE_EXISTS otherwise).
   */
  Create: grpc.handleUnaryCall<_agora_PutRouteRequest__Output, _agora_Route>;
  
  /**
   * Remove one of the caller's routes; answers it as it was.
   */
  Delete: grpc.handleUnaryCall<_agora_DeleteRouteRequest__Output, _agora_Route>;
  
  /**
   * Compute: a node is gone; routes to it stay, but lead nowhere.
   */
  DropNode: grpc.handleUnaryCall<_agora_DropNodeRequest__Output, _agora_SyncReply>;
  
  /**
   * One of the caller's custom routes, by source host.
   */
  Get: grpc.handleUnaryCall<_agora_RouteRequest__Output, _agora_Route>;
  
  /**
   * The caller's custom routes, oldest first.
   */
  List: grpc.handleUnaryCall<_agora_ListRoutesRequest__Output, _agora_RouteList>;
  
  /**
   * Replace one of the caller's routes (same source host), target and settings together.
   */
  Replace: grpc.handleUnaryCall<_agora_PutRouteRequest__Output, _agora_Route>;
  
  /**
   * Compute: a node's current name, owner, status and address (created or changed).
   */
  SyncNode: grpc.handleUnaryCall<_agora_NodeTarget__Output, _agora_SyncReply>;
  
  /**
   * Proxies: the whole table, custom routes and every node's target.
   */
  Table: grpc.handleUnaryCall<_agora_TableRequest__Output, _agora_RouteTable>;
  
  /**
   * Proxies (gRPC only): every change after the stream's first message, in order. A proxy loads
   * Table after the stream's hello and again whenever it is asked to (reload) or reconnects.
   */
  Watch: grpc.handleServerStreamingCall<_agora_WatchRoutesRequest__Output, _agora_RouteChange>;
  
}

export interface RoutesDefinition extends grpc.ServiceDefinition {
  Create: MethodDefinition<_agora_PutRouteRequest, _agora_Route, _agora_PutRouteRequest__Output, _agora_Route__Output>
  Delete: MethodDefinition<_agora_DeleteRouteRequest, _agora_Route, _agora_DeleteRouteRequest__Output, _agora_Route__Output>
  DropNode: MethodDefinition<_agora_DropNodeRequest, _agora_SyncReply, _agora_DropNodeRequest__Output, _agora_SyncReply__Output>
  Get: MethodDefinition<_agora_RouteRequest, _agora_Route, _agora_RouteRequest__Output, _agora_Route__Output>
  List: MethodDefinition<_agora_ListRoutesRequest, _agora_RouteList, _agora_ListRoutesRequest__Output, _agora_RouteList__Output>
  Replace: MethodDefinition<_agora_PutRouteRequest, _agora_Route, _agora_PutRouteRequest__Output, _agora_Route__Output>
  SyncNode: MethodDefinition<_agora_NodeTarget, _agora_SyncReply, _agora_NodeTarget__Output, _agora_SyncReply__Output>
  Table: MethodDefinition<_agora_TableRequest, _agora_RouteTable, _agora_TableRequest__Output, _agora_RouteTable__Output>
  Watch: MethodDefinition<_agora_WatchRoutesRequest, _agora_RouteChange, _agora_WatchRoutesRequest__Output, _agora_RouteChange__Output>
}
