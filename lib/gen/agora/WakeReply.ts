// Original file: proto/wake.proto


export interface WakeReply {
  'node_id'?: (string);
  'host'?: (string);
  'port'?: (number);
}

export interface WakeReply__Output {
  'node_id': (string);
  'host': (string);
  'port': (number);
}
