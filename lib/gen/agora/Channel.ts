// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';

export interface Channel {
  'channel'?: (string);
  'permissions'?: (_agora_ChannelPermissions | null);
}

export interface Channel__Output {
  'channel': (string);
  'permissions': (_agora_ChannelPermissions__Output | null);
}
