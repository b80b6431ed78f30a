// Original file: proto/compute.proto


export interface NodeOutput {
  'id'?: (string);
  'lines'?: (string)[];
}

export interface NodeOutput__Output {
  'id': (string);
  'lines': (string)[];
}
