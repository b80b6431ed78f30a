// Original file: proto/wake.proto


export interface ActivityReport {
  'node_ids'?: (string)[];
}

export interface ActivityReport__Output {
  'node_ids': (string)[];
}
