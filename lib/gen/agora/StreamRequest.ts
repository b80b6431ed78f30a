// Original file: proto/messages.proto


export interface StreamRequest {
  'channel'?: (string);
}

export interface StreamRequest__Output {
  'channel': (string);
}
