// Original file: proto/channels.proto


export interface ExistsReply {
  'exists'?: (boolean);
}

export interface ExistsReply__Output {
  'exists': (boolean);
}
