// Original file: proto/auth.proto


export interface LogonRequest {
  'username'?: (string);
  'password'?: (string);
  /**
   * Address of the HTTP client, for throttling repeated failures. Required: a logon without it
   * is refused (AGORA_ERR_RPC_BAD_PARAMS).
   */
  'client_addr'?: (string);
}

export interface LogonRequest__Output {
  'username': (string);
  'password': (string);
  /**
   * Address of the HTTP client, for throttling repeated failures. Required: a logon without it
   * is refused (AGORA_ERR_RPC_BAD_PARAMS).
   */
  'client_addr': (string);
}
