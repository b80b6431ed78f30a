// Original file: proto/auth.proto


export interface LogonRequest {
  'username'?: (string);
  'password'?: (string);
  /**
   * Address of the HTTP client, for throttling repeated failures.
   */
  'client_addr'?: (string);
}

export interface LogonRequest__Output {
  'username': (string);
  'password': (string);
  /**
   * Address of the HTTP client, for throttling repeated failures.
   */
  'client_addr': (string);
}
