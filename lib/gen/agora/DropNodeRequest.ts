// Original file: proto/routes.proto


export interface DropNodeRequest {
  'id'?: (string);
}

export interface DropNodeRequest__Output {
  'id': (string);
}
