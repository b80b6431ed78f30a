// Original file: proto/driver.proto


export interface DriverListRequest {
  /**
   * Only this owner's nodes; empty: every node.
   */
  'owner'?: (string);
}

export interface DriverListRequest__Output {
  /**
   * Only this owner's nodes; empty: every node.
   */
  'owner': (string);
}
