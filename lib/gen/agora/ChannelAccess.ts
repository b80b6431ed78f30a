// Original file: proto/channels.proto

import type { ChannelPermissions as _agora_ChannelPermissions, ChannelPermissions__Output as _agora_ChannelPermissions__Output } from '../agora/ChannelPermissions';

export interface ChannelAccess {
  'exists'?: (boolean);
  'permissions'?: (_agora_ChannelPermissions | null);
}

export interface ChannelAccess__Output {
  'exists': (boolean);
  'permissions': (_agora_ChannelPermissions__Output | null);
}
