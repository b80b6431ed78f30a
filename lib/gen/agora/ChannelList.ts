// Original file: proto/channels.proto


export interface ChannelList {
  'channels'?: (string)[];
}

export interface ChannelList__Output {
  'channels': (string)[];
}
