/**
 * The echo service: the smallest real service, used by the bus's tests, its benchmark,
 * and as the example to copy when writing a new one.
 */
import { AgoraError, isErrorCode } from '../../lib/errors';
import type { Handler, Handlers } from '../../lib/bus/worker';
import { describeHandler, DESCRIBE_METHOD, type PublicMethods } from '../../lib/rpc/describe';

/** Longest `sleep` accepted, so a caller cannot park a worker forever. */
export const MAX_SLEEP_MS = 60_000;

/**
 * `echo` is public: the gateway calls it for a signed-in user (`POST /v1/rpc/echo/echo`, the
 * body being its one param). The others are for tests and stay on the bus.
 */
export const ECHO_PUBLIC: PublicMethods = {
  echo: { summary: 'Answers its body unchanged', params: {}, result: {} },
};

export function buildEchoHandlers(): Handlers {
  const handlers: Record<string, Handler> = {
    /** Answers its first parameter unchanged. */
    echo: (params) => (params.length > 0 ? params[0] : null),
    /** Answers after `ms` milliseconds (for deadline and drain tests). */
    sleep: async (params) => {
      const ms = params[0];
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
        throw new AgoraError('AGORA_ERR_RPC_BAD_PARAMS', [`sleep takes an integer from 0 to ${MAX_SLEEP_MS}`]);
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
    /** Fails with the registry code it is given (for error-path tests). */
    fail: (params) => {
      const code = params[0];
      if (isErrorCode(code)) throw new AgoraError(code, params.slice(1));
      throw new Error('an unexpected failure whose text must not leak');
    },
    /** The process id of the worker that served the call. */
    pid: () => process.pid,
  };
  handlers[DESCRIBE_METHOD] = describeHandler(ECHO_PUBLIC, Object.keys(handlers));
  return handlers;
}
