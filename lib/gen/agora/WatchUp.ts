// Original file: proto/auth.proto

import type { Touch as _agora_Touch, Touch__Output as _agora_Touch__Output } from '../agora/Touch';
import type { Ack as _agora_Ack, Ack__Output as _agora_Ack__Output } from '../agora/Ack';

export interface WatchUp {
  'touch'?: (_agora_Touch | null);
  'ack'?: (_agora_Ack | null);
  'kind'?: "touch"|"ack";
}

export interface WatchUp__Output {
  'touch'?: (_agora_Touch__Output | null);
  'ack'?: (_agora_Ack__Output | null);
  'kind'?: "touch"|"ack";
}
