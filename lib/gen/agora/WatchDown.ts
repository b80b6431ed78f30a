// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchDown {
  /**
   * Increasing per stream; the watcher acknowledges it once the keys are dropped.
   */
  'seq'?: (number | string | Long);
  'invalidate'?: (number | string | Long)[];
  /**
   * First message of a stream: the watcher may start caching.
   */
  'hello'?: (boolean);
}

export interface WatchDown__Output {
  /**
   * Increasing per stream; the watcher acknowledges it once the keys are dropped.
   */
  'seq': (number);
  'invalidate': (number)[];
  /**
   * First message of a stream: the watcher may start caching.
   */
  'hello': (boolean);
}
