// Original file: proto/auth.proto


export interface LogoffReply {
  'ok'?: (boolean);
}

export interface LogoffReply__Output {
  'ok': (boolean);
}
