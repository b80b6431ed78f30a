// Original file: proto/messages.proto

import type { Long } from '@grpc/proto-loader';

export interface PostRequest {
  'sesskey'?: (number | string | Long);
  'channel'?: (string);
  'message'?: (string);
  /**
   * With check_last, post only if the channel's last message id is still expected_last
   * (0: no message yet); otherwise AGORA_ERR_MESSAGE_STALE and nothing is posted. The check
   * and the append are one step in the store, so two posters cannot both pass it.
   */
  'check_last'?: (boolean);
  'expected_last'?: (number | string | Long);
  /**
   * An idempotency key (1 to 255 visible ASCII characters; empty: none), kept per channel and
   * username: the store records it with the message, in the same atomic step, and a post whose
   * key it already holds stores nothing and answers the id that key was given (the gateway's
   * Idempotency-Key, docs/API-V1.md "Idempotency-Key"). Keys are kept AGORA_IDEMPOTENCY_TTL_S,
   * whatever the channel's retention.
   */
  'idempotency_key'?: (string);
  /**
   * With check_last_modified, post only if the last_modified of the channel's last message is still
   * expected_last_modified (0: no message yet), compared and appended in one step as check_last:
   * the /v1 protocol's If-Match on the message list, whose version is that timestamp.
   */
  'check_last_modified'?: (boolean);
  'expected_last_modified'?: (number | string | Long);
}

export interface PostRequest__Output {
  'sesskey': (number);
  'channel': (string);
  'message': (string);
  /**
   * With check_last, post only if the channel's last message id is still expected_last
   * (0: no message yet); otherwise AGORA_ERR_MESSAGE_STALE and nothing is posted. The check
   * and the append are one step in the store, so two posters cannot both pass it.
   */
  'check_last': (boolean);
  'expected_last': (number);
  /**
   * An idempotency key (1 to 255 visible ASCII characters; empty: none), kept per channel and
   * username: the store records it with the message, in the same atomic step, and a post whose
   * key it already holds stores nothing and answers the id that key was given (the gateway's
   * Idempotency-Key, docs/API-V1.md "Idempotency-Key"). Keys are kept AGORA_IDEMPOTENCY_TTL_S,
   * whatever the channel's retention.
   */
  'idempotency_key': (string);
  /**
   * With check_last_modified, post only if the last_modified of the channel's last message is still
   * expected_last_modified (0: no message yet), compared and appended in one step as check_last:
   * the /v1 protocol's If-Match on the message list, whose version is that timestamp.
   */
  'check_last_modified': (boolean);
  'expected_last_modified': (number);
}
