// Original file: proto/wake.proto


export interface WakeRequest {
  'node_id'?: (string);
}

export interface WakeRequest__Output {
  'node_id': (string);
}
