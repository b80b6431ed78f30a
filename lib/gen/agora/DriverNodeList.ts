// Original file: proto/driver.proto

import type { DriverNode as _agora_DriverNode, DriverNode__Output as _agora_DriverNode__Output } from '../agora/DriverNode';

export interface DriverNodeList {
  'nodes'?: (_agora_DriverNode)[];
}

export interface DriverNodeList__Output {
  'nodes': (_agora_DriverNode__Output)[];
}
