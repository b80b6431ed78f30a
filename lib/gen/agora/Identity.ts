// Original file: proto/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface Identity {
  'sesskey'?: (number | string | Long);
  'username'?: (string);
  /**
   * Idle timeout of sessions, so a cache can expire entries on its own.
   */
  'idle_s'?: (number);
  /**
   * The session's version (as in LogonReply).
   */
  'version'?: (number | string | Long);
}

export interface Identity__Output {
  'sesskey': (number);
  'username': (string);
  /**
   * Idle timeout of sessions, so a cache can expire entries on its own.
   */
  'idle_s': (number);
  /**
   * The session's version (as in LogonReply).
   */
  'version': (number);
}
