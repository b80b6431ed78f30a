// Original file: proto/messages.proto

import type { Message as _agora_Message, Message__Output as _agora_Message__Output } from '../agora/Message';
import type { Long } from '@grpc/proto-loader';

export interface StreamEvent {
  /**
   * First event of a stream: every message posted after it follows.
   */
  'hello'?: (boolean);
  'message'?: (_agora_Message | null);
  /**
   * Messages may have been missed (the instance's broadcast broke): fetch what follows your last.
   */
  'reload'?: (boolean);
  /**
   * Message `posted` was posted, too long to travel here whole: fetch it with Retrieve.
   */
  'posted'?: (number | string | Long);
  'kind'?: "hello"|"message"|"reload"|"posted";
}

export interface StreamEvent__Output {
  /**
   * First event of a stream: every message posted after it follows.
   */
  'hello'?: (boolean);
  'message'?: (_agora_Message__Output | null);
  /**
   * Messages may have been missed (the instance's broadcast broke): fetch what follows your last.
   */
  'reload'?: (boolean);
  /**
   * Message `posted` was posted, too long to travel here whole: fetch it with Retrieve.
   */
  'posted'?: (number);
  'kind'?: "hello"|"message"|"reload"|"posted";
}
