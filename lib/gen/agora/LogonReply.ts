// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface LogonReply {
  'sesskey'?: (number | string | Long);
  'username'?: (string);
  'created'?: (boolean);
  /**
   * The session's version (its ETag at the edge); no two sessions share one.
   */
  'version'?: (number | string | Long);
}

export interface LogonReply__Output {
  'sesskey': (number);
  'username': (string);
  'created': (boolean);
  /**
   * The session's version (its ETag at the edge); no two sessions share one.
   */
  'version': (number);
}
