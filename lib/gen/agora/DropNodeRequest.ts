// Original file: proto/routes.proto

import type { Long } from '@grpc/proto-loader';

export interface DropNodeRequest {
  'id'?: (string);
  /**
   * The node record's last version and its epoch (as in NodeTarget): a sync of that version or
   * older, in that epoch, arriving after the drop is ignored.
   */
  'version'?: (number | string | Long);
  'epoch'?: (string);
}

export interface DropNodeRequest__Output {
  'id': (string);
  /**
   * The node record's last version and its epoch (as in NodeTarget): a sync of that version or
   * older, in that epoch, arriving after the drop is ignored.
   */
  'version': (number);
  'epoch': (string);
}
