import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DeleteRouteRequest as _agora_DeleteRouteRequest, DeleteRouteRequest__Output as _agora_DeleteRouteRequest__Output } from './agora/DeleteRouteRequest';
import type { DropNodeRequest as _agora_DropNodeRequest, DropNodeRequest__Output as _agora_DropNodeRequest__Output } from './agora/DropNodeRequest';
import type { ListRoutesRequest as _agora_ListRoutesRequest, ListRoutesRequest__Output as _agora_ListRoutesRequest__Output } from './agora/ListRoutesRequest';
import type { NodeTarget as _agora_NodeTarget, NodeTarget__Output as _agora_NodeTarget__Output } from './agora/NodeTarget';
import type { PutRouteRequest as _agora_PutRouteRequest, PutRouteRequest__Output as _agora_PutRouteRequest__Output } from './agora/PutRouteRequest';
import type { Route as _agora_Route, Route__Output as _agora_Route__Output } from './agora/Route';
import type { RouteChange as _agora_RouteChange, RouteChange__Output as _agora_RouteChange__Output } from './agora/RouteChange';
import type { RouteList as _agora_RouteList, RouteList__Output as _agora_RouteList__Output } from './agora/RouteList';
import type { RouteRequest as _agora_RouteRequest, RouteRequest__Output as _agora_RouteRequest__Output } from './agora/RouteRequest';
import type { RouteTable as _agora_RouteTable, RouteTable__Output as _agora_RouteTable__Output } from './agora/RouteTable';
import type { RouteTombstone as _agora_RouteTombstone, RouteTombstone__Output as _agora_RouteTombstone__Output } from './agora/RouteTombstone';
import type { RoutesClient as _agora_RoutesClient, RoutesDefinition as _agora_RoutesDefinition } from './agora/Routes';
import type { SyncReply as _agora_SyncReply, SyncReply__Output as _agora_SyncReply__Output } from './agora/SyncReply';
import type { TableRequest as _agora_TableRequest, TableRequest__Output as _agora_TableRequest__Output } from './agora/TableRequest';
import type { WatchRoutesRequest as _agora_WatchRoutesRequest, WatchRoutesRequest__Output as _agora_WatchRoutesRequest__Output } from './agora/WatchRoutesRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  agora: {
    DeleteRouteRequest: MessageTypeDefinition<_agora_DeleteRouteRequest, _agora_DeleteRouteRequest__Output>
    DropNodeRequest: MessageTypeDefinition<_agora_DropNodeRequest, _agora_DropNodeRequest__Output>
    ListRoutesRequest: MessageTypeDefinition<_agora_ListRoutesRequest, _agora_ListRoutesRequest__Output>
    NodeTarget: MessageTypeDefinition<_agora_NodeTarget, _agora_NodeTarget__Output>
    PutRouteRequest: MessageTypeDefinition<_agora_PutRouteRequest, _agora_PutRouteRequest__Output>
    Route: MessageTypeDefinition<_agora_Route, _agora_Route__Output>
    RouteChange: MessageTypeDefinition<_agora_RouteChange, _agora_RouteChange__Output>
    RouteList: MessageTypeDefinition<_agora_RouteList, _agora_RouteList__Output>
    RouteRequest: MessageTypeDefinition<_agora_RouteRequest, _agora_RouteRequest__Output>
    RouteTable: MessageTypeDefinition<_agora_RouteTable, _agora_RouteTable__Output>
    RouteTombstone: MessageTypeDefinition<_agora_RouteTombstone, _agora_RouteTombstone__Output>
    Routes: SubtypeConstructor<typeof grpc.Client, _agora_RoutesClient> & { service: _agora_RoutesDefinition }
    SyncReply: MessageTypeDefinition<_agora_SyncReply, _agora_SyncReply__Output>
    TableRequest: MessageTypeDefinition<_agora_TableRequest, _agora_TableRequest__Output>
    WatchRoutesRequest: MessageTypeDefinition<_agora_WatchRoutesRequest, _agora_WatchRoutesRequest__Output>
  }
}

