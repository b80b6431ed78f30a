// Original file: proto/channels.proto


export interface CreateChannelReply {
  'channel'?: (string);
  'created'?: (boolean);
}

export interface CreateChannelReply__Output {
  'channel': (string);
  'created': (boolean);
}
