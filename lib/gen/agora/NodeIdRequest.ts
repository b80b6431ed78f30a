// Original file: proto/compute.proto


export interface NodeIdRequest {
  'id'?: (string);
}

export interface NodeIdRequest__Output {
  'id': (string);
}
