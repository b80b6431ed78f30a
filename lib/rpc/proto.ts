/**
 * Loading `proto/*.proto` at run time, with the same options the generated types in
 * `lib/gen/` were made with (`npm run gen:proto`): keepCase, longs as Number, enums as
 * String, defaults, oneofs. Change one, change both.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { registerMessageTypes } from './shape';
import type { ProtoGrpcType as AuthProto } from '../gen/auth';
import type { ProtoGrpcType as ChannelsProto } from '../gen/channels';
import type { ProtoGrpcType as ComputeProto } from '../gen/compute';
import type { ProtoGrpcType as DriverProto } from '../gen/driver';
import type { ProtoGrpcType as MessagesProto } from '../gen/messages';
import type { ProtoGrpcType as RoutesProto } from '../gen/routes';
import type { ProtoGrpcType as WakeProto } from '../gen/wake';

/** The proto folder (this file runs from dist/lib/rpc or lib/rpc). */
export const PROTO_DIR = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..',
  'proto',
);

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

interface Protos {
  'auth.proto': AuthProto;
  'channels.proto': ChannelsProto;
  'compute.proto': ComputeProto;
  'driver.proto': DriverProto;
  'messages.proto': MessagesProto;
  'routes.proto': RoutesProto;
  'wake.proto': WakeProto;
}

const cache = new Map<string, unknown>();

/** The typed gRPC package of one proto file. */
export function loadProto<F extends keyof Protos>(file: F): Protos[F] {
  let loaded = cache.get(file);
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(file, LOADER_OPTIONS);
    registerMessageTypes(definition);
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(file, loaded);
  }
  return loaded as Protos[F];
}
