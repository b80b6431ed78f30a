// Original file: proto/channels.proto


export interface ChannelRef {
  'channel'?: (string);
}

export interface ChannelRef__Output {
  'channel': (string);
}
