// Original file: proto/driver.proto


export interface DriverCreateRequest {
  /**
   * Chosen by the caller, so a retry is recognised: 1-64 of [a-z0-9-], starting with a
   * letter or digit (compute sends a UUID).
   */
  'id'?: (string);
  /**
   * 1-64 of [A-Za-z0-9_.-], not starting with "." or "-".
   */
  'name'?: (string);
  /**
   * Who the node belongs to (compute's username). Recorded, never checked by the driver.
   */
  'owner'?: (string);
  /**
   * An image of the driver's catalogue (docs/COMPUTE.md "Images and sizes"), e.g. "http".
   */
  'image'?: (string);
  /**
   * A size of the catalogue ("small", "medium", "large"); empty means "small".
   */
  'size'?: (string);
  /**
   * The command of image "command" (run by /bin/sh -c); refused with
   * AGORA_ERR_NODE_COMMAND_NOT_ALLOWED unless the driver's config allows it. Must be
   * empty for other images.
   */
  'command'?: (string);
}

export interface DriverCreateRequest__Output {
  /**
   * Chosen by the caller, so a retry is recognised: 1-64 of [a-z0-9-], starting with a
   * letter or digit (compute sends a UUID).
   */
  'id': (string);
  /**
   * 1-64 of [A-Za-z0-9_.-], not starting with "." or "-".
   */
  'name': (string);
  /**
   * Who the node belongs to (compute's username). Recorded, never checked by the driver.
   */
  'owner': (string);
  /**
   * An image of the driver's catalogue (docs/COMPUTE.md "Images and sizes"), e.g. "http".
   */
  'image': (string);
  /**
   * A size of the catalogue ("small", "medium", "large"); empty means "small".
   */
  'size': (string);
  /**
   * The command of image "command" (run by /bin/sh -c); refused with
   * AGORA_ERR_NODE_COMMAND_NOT_ALLOWED unless the driver's config allows it. Must be
   * empty for other images.
   */
  'command': (string);
}
