// Original file: proto/routes.proto


export interface SyncReply {
  'ok'?: (boolean);
}

export interface SyncReply__Output {
  'ok': (boolean);
}
