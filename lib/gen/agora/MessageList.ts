// Original file: proto/messages.proto

import type { Message as _agora_Message, Message__Output as _agora_Message__Output } from '../agora/Message';

export interface MessageList {
  'messages'?: (_agora_Message)[];
}

export interface MessageList__Output {
  'messages': (_agora_Message__Output)[];
}
