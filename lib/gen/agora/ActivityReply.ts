// Original file: proto/wake.proto


export interface ActivityReply {
  /**
   * Nodes the report named.
   */
  'recorded'?: (number);
}

export interface ActivityReply__Output {
  /**
   * Nodes the report named.
   */
  'recorded': (number);
}
