// Original file: proto/channels.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One channel as Get answers it: its name and last_modified (ms: the timestamp of its create).
 */
export interface ChannelRecord {
  'channel'?: (string);
  'last_modified'?: (number | string | Long);
}

/**
 * One channel as Get answers it: its name and last_modified (ms: the timestamp of its create).
 */
export interface ChannelRecord__Output {
  'channel': (string);
  'last_modified': (number);
}
