/**
 * The one error registry of Agora (docs/ARCHITECTURE.md "One error registry"). Every failure that crosses a process
 * boundary carries one of these codes; its HTTP status, Kinto errno and gRPC status
 * are looked up here, never chosen at the throw site. Codes are never renumbered or reused.
 */

/** grpc-js `Status` values, repeated here so this leaf imports nothing. */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export interface ErrorSpec {
  /** HTTP status at the edge. */
  readonly status: number;
  /**
   * Kinto errno (105 invalid auth, 107 invalid parameters, 111 missing resource, 113 too large, 117 over capacity,
   * 201 backend, 999 internal, …).
   */
  readonly errno: number;
  /** grpc-js Status. */
  readonly grpc: number;
  /** Message template; each `%s` is filled from the throw site's arguments. */
  readonly message: string;
}

export const ERRORS = {
  AGORA_ERR_INTERNAL: { status: 500, errno: 999, grpc: GRPC.INTERNAL, message: 'Internal error' },
  AGORA_ERR_CONFIG_INVALID: { status: 500, errno: 999, grpc: GRPC.INTERNAL, message: 'Invalid configuration: %s' },
  AGORA_ERR_BUS_TIMEOUT: {
    status: 504,
    errno: 201,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'Call to %s.%s passed its deadline',
  },
  AGORA_ERR_BUS_DISCONNECTED: {
    status: 503,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'Lost the connection to the broker',
  },
  AGORA_ERR_BUS_CLOSED: { status: 503, errno: 201, grpc: GRPC.UNAVAILABLE, message: 'The bus client is closed' },
  AGORA_ERR_BUS_NO_SERVICE: { status: 503, errno: 201, grpc: GRPC.UNAVAILABLE, message: 'No worker serves %s' },
  AGORA_ERR_BUS_QUEUE_FULL: {
    status: 503,
    errno: 201,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Too many requests waiting for %s',
  },
  AGORA_ERR_BUS_TOO_MANY_PENDING: {
    status: 503,
    errno: 201,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Too many calls in flight on this client',
  },
  AGORA_ERR_BUS_WORKER_LOST: {
    status: 502,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'The worker serving %s went away during the call',
  },
  AGORA_ERR_BUS_TOO_LARGE: {
    status: 413,
    errno: 113,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Message of %s bytes exceeds the limit of %s',
  },
  AGORA_ERR_BUS_BAD_MESSAGE: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Malformed bus message: %s',
  },
  AGORA_ERR_BUS_BAD_REPLY: { status: 502, errno: 999, grpc: GRPC.INTERNAL, message: 'Malformed reply from %s' },
  AGORA_ERR_RPC_NO_METHOD: {
    status: 404,
    errno: 111,
    grpc: GRPC.UNIMPLEMENTED,
    message: 'Service %s has no method %s',
  },
  AGORA_ERR_RPC_BAD_PARAMS: { status: 400, errno: 107, grpc: GRPC.INVALID_ARGUMENT, message: 'Invalid parameters: %s' },
  AGORA_ERR_RPC_UNAVAILABLE: { status: 503, errno: 201, grpc: GRPC.UNAVAILABLE, message: 'Service %s is unavailable' },
  AGORA_ERR_RPC_TIMEOUT: {
    status: 504,
    errno: 201,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'Call to %s passed its deadline',
  },
  AGORA_ERR_AUTH_BAD_CREDENTIALS: {
    status: 401,
    errno: 105,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'Wrong username or password',
  },
  AGORA_ERR_AUTH_UNKNOWN_USER: {
    status: 401,
    errno: 105,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'Unknown user %s and registration is closed',
  },
  AGORA_ERR_AUTH_THROTTLED: {
    status: 429,
    errno: 117,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Too many failed logons; try again in %s seconds',
  },
  AGORA_ERR_AUTH_BAD_SESSION: {
    status: 401,
    errno: 105,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'Invalid or expired session key',
  },
  AGORA_ERR_CHANNEL_INVALID_NAME: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Invalid channel name: %s',
  },
  AGORA_ERR_CHANNEL_NOT_FOUND: { status: 404, errno: 111, grpc: GRPC.NOT_FOUND, message: 'No channel named %s' },
  AGORA_ERR_MESSAGE_TOO_LONG: {
    status: 413,
    errno: 113,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Message of %s bytes exceeds the limit of %s',
  },
  AGORA_ERR_MESSAGE_INVALID: { status: 400, errno: 107, grpc: GRPC.INVALID_ARGUMENT, message: 'Invalid message: %s' },
  AGORA_ERR_NODE_INVALID: { status: 400, errno: 107, grpc: GRPC.INVALID_ARGUMENT, message: 'Invalid node: %s' },
  AGORA_ERR_NODE_UNKNOWN_IMAGE: {
    status: 422,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Unknown image %s; known images: %s',
  },
  AGORA_ERR_NODE_UNKNOWN_SIZE: {
    status: 422,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Unknown size %s; known sizes: %s',
  },
  AGORA_ERR_NODE_COMMAND_NOT_ALLOWED: {
    status: 422,
    errno: 107,
    grpc: GRPC.PERMISSION_DENIED,
    message: 'Commands are not allowed by this driver: %s',
  },
  AGORA_ERR_NODE_NOT_FOUND: { status: 404, errno: 111, grpc: GRPC.NOT_FOUND, message: 'No node %s' },
  AGORA_ERR_NODE_CONFLICT: {
    status: 409,
    errno: 122,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Cannot %s a node that is %s',
  },
  AGORA_ERR_NODE_LIMIT: {
    status: 403,
    errno: 121,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Node limit reached: %s nodes per user',
  },
  AGORA_ERR_STORE_UNAVAILABLE: {
    status: 503,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'The %s backend is unavailable: %s',
  },
  AGORA_ERR_DRIVER_FAILED: { status: 502, errno: 201, grpc: GRPC.UNAVAILABLE, message: 'The driver failed: %s' },
  AGORA_ERR_DRIVER_FULL: {
    status: 503,
    errno: 201,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'The driver already holds its maximum of %s nodes',
  },
  AGORA_ERR_MESSAGE_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Channel %s has moved on from version %s: nothing was posted',
  },
  AGORA_ERR_MESSAGE_NOT_FOUND: {
    status: 404,
    errno: 111,
    grpc: GRPC.NOT_FOUND,
    message: 'No message %s in channel %s (never posted, or no longer retained)',
  },
  AGORA_ERR_CHANNEL_LIST_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'The channel list has moved on from version %s: nothing was created',
  },
  AGORA_ERR_SESSION_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'The session is not at version %s: it was not ended',
  },
  AGORA_ERR_NODE_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Node %s has moved on from version %s: nothing was changed',
  },
  AGORA_ERR_NODE_LIST_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Your node list has moved on from version %s: no node was created',
  },
  AGORA_ERR_HTTP_MISSING_AUTH: {
    status: 401,
    errno: 104,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'Authorization: Bearer <session key> is required',
  },
  AGORA_ERR_HTTP_BAD_AUTH: {
    status: 401,
    errno: 105,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'Malformed Authorization header: %s',
  },
  AGORA_ERR_HTTP_METRICS_AUTH: {
    status: 401,
    errno: 104,
    grpc: GRPC.UNAUTHENTICATED,
    message: 'GET /metrics requires Authorization: Bearer <the metrics token>',
  },
  AGORA_ERR_HTTP_BAD_JSON: {
    status: 400,
    errno: 106,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'The body is not valid JSON',
  },
  AGORA_ERR_HTTP_INVALID_PARAMS: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Invalid parameters: %s',
  },
  AGORA_ERR_HTTP_NOT_FOUND: { status: 404, errno: 111, grpc: GRPC.NOT_FOUND, message: 'Unknown path %s' },
  AGORA_ERR_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    errno: 115,
    grpc: GRPC.UNIMPLEMENTED,
    message: '%s %s is not allowed; use %s',
  },
  AGORA_ERR_HTTP_NOT_ACCEPTABLE: {
    status: 406,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'This resource only answers application/json, and Accept excludes it',
  },
  AGORA_ERR_HTTP_LENGTH_REQUIRED: {
    status: 411,
    errno: 112,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'A %s request needs a Content-Length header or Transfer-Encoding: chunked',
  },
  AGORA_ERR_HTTP_PRECONDITION_FAILED: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Resource was modified meanwhile (%s)',
  },
  AGORA_ERR_HTTP_TOO_LARGE: {
    status: 413,
    errno: 113,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'The request body is larger than %s',
  },
  AGORA_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Unsupported Content-Type %s; send application/json',
  },
  AGORA_ERR_HTTP_RATE_LIMITED: {
    status: 429,
    errno: 117,
    grpc: GRPC.RESOURCE_EXHAUSTED,
    message: 'Too many requests; retry in %s seconds',
  },
  AGORA_ERR_HTTP_OVERLOADED: {
    status: 503,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'The server is overloaded; retry in %s seconds',
  },
  AGORA_ERR_PROXY_UNKNOWN_HOST: { status: 404, errno: 111, grpc: GRPC.NOT_FOUND, message: 'No route for host %s' },
  AGORA_ERR_PROXY_TARGET_FAILED: {
    status: 502,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'The target of %s failed: %s',
  },
  AGORA_ERR_PROXY_TARGET_TIMEOUT: {
    status: 504,
    errno: 201,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'The target of %s did not %s within %s ms',
  },
  AGORA_ERR_PROXY_NODE_UNAVAILABLE: {
    status: 503,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'Node %s is %s; retry later',
  },
  AGORA_ERR_PROXY_WAKE_FAILED: {
    status: 503,
    errno: 201,
    grpc: GRPC.UNAVAILABLE,
    message: 'Node %s could not be woken: %s',
  },
  AGORA_ERR_PROXY_WAKE_TIMEOUT: {
    status: 503,
    errno: 201,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'Node %s did not wake within %s ms',
  },
  AGORA_ERR_PROXY_INVALID_ROUTE: { status: 400, errno: 107, grpc: GRPC.INVALID_ARGUMENT, message: 'Invalid route: %s' },
  AGORA_ERR_NODE_NAME_TAKEN: {
    status: 409,
    errno: 122,
    grpc: GRPC.ALREADY_EXISTS,
    message: 'You already have a node named %s (a name is its URL)',
  },
  AGORA_ERR_ROUTE_INVALID: { status: 400, errno: 107, grpc: GRPC.INVALID_ARGUMENT, message: 'Invalid route: %s' },
  AGORA_ERR_ROUTE_FORBIDDEN: { status: 403, errno: 121, grpc: GRPC.PERMISSION_DENIED, message: 'Route refused: %s' },
  AGORA_ERR_ROUTE_NOT_FOUND: { status: 404, errno: 111, grpc: GRPC.NOT_FOUND, message: 'No route of yours for %s' },
  AGORA_ERR_ROUTE_NODE_NOT_FOUND: {
    status: 404,
    errno: 111,
    grpc: GRPC.NOT_FOUND,
    message: 'No node %s of yours to route to',
  },
  AGORA_ERR_ROUTE_EXISTS: { status: 409, errno: 122, grpc: GRPC.ALREADY_EXISTS, message: 'Host %s is already routed' },
  AGORA_ERR_ROUTE_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Route %s has moved on from version %s: nothing was changed',
  },
  AGORA_ERR_ROUTE_LIST_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Your route list has moved on from version %s: no route was created',
  },
  AGORA_ERR_RPC_NOT_PUBLIC: {
    status: 404,
    errno: 111,
    grpc: GRPC.NOT_FOUND,
    message: 'No public method %s.%s',
  },
  AGORA_ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    errno: 107,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'The request did not arrive in full within %s ms',
  },
  AGORA_ERR_STORE_OUTCOME_UNKNOWN: {
    status: 503,
    errno: 201,
    grpc: GRPC.DEADLINE_EXCEEDED,
    message: 'The %s backend was lost during a write, which may or may not have been applied: read before retrying',
  },
  AGORA_ERR_HTTP_GONE: {
    status: 410,
    errno: 202,
    grpc: GRPC.NOT_FOUND,
    message: 'The service you are trying to connect no longer exists at this location.',
  },
  AGORA_ERR_BUS_FORBIDDEN: {
    status: 403,
    errno: 121,
    grpc: GRPC.PERMISSION_DENIED,
    message: 'The bus key %s may not call %s',
  },
  AGORA_ERR_IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Invalid Idempotency-Key: %s',
  },
  AGORA_ERR_IDEMPOTENCY_NOT_TAKEN: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: '%s takes no Idempotency-Key: %s',
  },
  AGORA_ERR_IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    errno: 107,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'This Idempotency-Key was first sent with another %s: use a new key for a new request',
  },
  AGORA_ERR_IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    errno: 122,
    grpc: GRPC.ABORTED,
    message: 'A request with this Idempotency-Key is still running; retry in %s seconds',
  },
  AGORA_ERR_FORBIDDEN: { status: 403, errno: 121, grpc: GRPC.PERMISSION_DENIED, message: 'You may not %s %s' },
  AGORA_ERR_PERMISSIONS_INVALID: {
    status: 400,
    errno: 107,
    grpc: GRPC.INVALID_ARGUMENT,
    message: 'Invalid permissions: %s',
  },
  AGORA_ERR_CHANNEL_STALE: {
    status: 412,
    errno: 114,
    grpc: GRPC.FAILED_PRECONDITION,
    message: 'Channel %s has moved on from version %s: nothing was changed',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Every code of the registry, as a type. */
export type ErrorCode = keyof typeof ERRORS;

/** The wire shape of an error on the bus (msgpack-RPC error slot) and in logs. */
export interface WireError {
  code: string;
  message: string;
  data?: unknown;
}

/** The only error class Agora throws on purpose. */
export class AgoraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errno: number;
  readonly grpc: number;
  readonly data?: unknown;

  constructor(
    code: ErrorCode,
    args: readonly unknown[] = [],
    options: { data?: unknown; cause?: unknown; message?: string } = {},
  ) {
    const spec: ErrorSpec = ERRORS[code];
    super(
      options.message ?? formatMessage(spec.message, args),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AgoraError';
    this.code = code;
    this.status = spec.status;
    this.errno = spec.errno;
    this.grpc = spec.grpc;
    if (options.data !== undefined) this.data = options.data;
  }

  /** The shape that travels on the bus: `{ code, message, data? }`. */
  toWire(): WireError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Fill each `%s` of a template with the next argument. */
export function formatMessage(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}

/** Narrowing guard for `catch (e: unknown)`. */
export function isAgoraError(e: unknown): e is AgoraError {
  return e instanceof AgoraError;
}

/** Whether `code` is in the registry. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** A printable message from anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
}

/**
 * Rebuild an error received from the bus (moleculer's Regenerator). A code outside the
 * registry — a worker in another language may invent its own — is kept in `data.code`
 * under AGORA_ERR_INTERNAL's numbers, and its message is kept.
 */
export function fromWire(wire: unknown): AgoraError {
  if (wire !== null && typeof wire === 'object') {
    const w = wire as Partial<WireError>;
    const message = typeof w.message === 'string' ? w.message : 'Remote error';
    if (isErrorCode(w.code)) return new AgoraError(w.code, [], { message, data: w.data });
    return new AgoraError('AGORA_ERR_INTERNAL', [], { message, data: { code: w.code, data: w.data } });
  }
  return new AgoraError('AGORA_ERR_INTERNAL', [], {
    message: typeof wire === 'string' ? wire : 'Remote error',
    data: wire,
  });
}

/**
 * The error to send back for anything a handler threw. An AgoraError travels as it is;
 * anything else becomes AGORA_ERR_INTERNAL and its text is not echoed (grpc-js
 * serverErrorToStatus): the caller's log must not learn the worker's internals.
 */
export function toWire(e: unknown): WireError {
  return isAgoraError(e) ? e.toWire() : { code: 'AGORA_ERR_INTERNAL', message: ERRORS.AGORA_ERR_INTERNAL.message };
}
