// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface Touch {
  'sesskeys'?: (number | string | Long)[];
}

export interface Touch__Output {
  'sesskeys': (number)[];
}
