/**
 * Waking stopped nodes. The proxy does not start nodes itself: it asks a `Waker` (the wake
 * service, reached over the bus) and holds the requests meanwhile. `Wakes` makes sure that
 * every request for one node shares one wake, that each waits no longer than its own
 * deadline (docs/ARCHITECTURE.md "Every call has a deadline"), and that no more than
 * `maxWaiting` requests are held at once (docs/ARCHITECTURE.md "Bounded queues").
 */
import { AgoraError, errorMessage, isAgoraError } from '../../lib/errors';

/** Where an ACTIVE node listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** Starts a node that is not running and answers once it is ACTIVE. */
export interface Waker {
  /**
   * Resolve with the node's address once it is ACTIVE and answering; reject when it cannot
   * be woken by `deadline` (ms since the epoch, lib/deadline.ts).
   */
  wake(nodeId: string, deadline: number): Promise<NodeAddress>;
}

/** A Waker for a proxy without a wake service: every wake fails at once. */
export const NO_WAKER: Waker = {
  wake: async () => Promise.reject(new Error('no wake service is configured')),
};

export interface WakesOptions {
  waker: Waker;
  /** How long a request waits for its node (AGORA_PROXY_WAKE_TIMEOUT_MS). */
  timeoutMs: number;
  /** Requests waiting at once, all nodes together (AGORA_PROXY_WAKE_MAX_WAITING). */
  maxWaiting: number;
  /** The Retry-After told to a request refused because `maxWaiting` already wait (AGORA_RETRY_AFTER_S). */
  retryAfterS: number;
  /** Told once per successful wake, before any waiter goes on (the proxy updates its table). */
  onWoken: (nodeId: string, address: NodeAddress) => void;
  /** Told once per failed wake. */
  onFailed?: (nodeId: string, err: AgoraError) => void;
}

/** The wakes under way, one per node. */
export class Wakes {
  private readonly inFlight = new Map<string, Promise<NodeAddress>>();
  private held = 0;

  constructor(private readonly options: WakesOptions) {}

  /** Requests waiting now. */
  get waiting(): number {
    return this.held;
  }

  /** Nodes being woken now. */
  get nodes(): number {
    return this.inFlight.size;
  }

  /** The wake of `nodeId`: the one under way, or a new one. Never rejects unhandled. */
  start(nodeId: string): Promise<NodeAddress> {
    const current = this.inFlight.get(nodeId);
    if (current !== undefined) return current;
    const timeoutMs = this.options.timeoutMs;
    let woken: Promise<NodeAddress>;
    try {
      woken = this.options.waker.wake(nodeId, Date.now() + timeoutMs);
    } catch (e) {
      woken = Promise.reject(e instanceof Error ? e : new Error(errorMessage(e)));
    }
    const wake = woken.then(
      (address) => {
        this.inFlight.delete(nodeId);
        if (!isAddress(address)) throw new Error(`the wake answered no address: ${JSON.stringify(address)}`);
        this.options.onWoken(nodeId, address);
        return address;
      },
      (e: unknown) => {
        this.inFlight.delete(nodeId);
        throw e;
      },
    );
    const failed = wake.catch((e: unknown) => {
      const err = asWakeError(nodeId, e);
      this.options.onFailed?.(nodeId, err);
      throw err;
    });
    failed.catch(() => undefined);
    this.inFlight.set(nodeId, failed);
    return failed;
  }

  /**
   * Wait for `nodeId` to wake (starting its wake if none is under way), for at most the
   * timeout. Rejects with AGORA_ERR_PROXY_WAKE_TIMEOUT, AGORA_ERR_PROXY_WAKE_FAILED, or
   * AGORA_ERR_HTTP_OVERLOADED when `maxWaiting` requests already wait.
   */
  wait(nodeId: string): Promise<NodeAddress> {
    if (this.held >= this.options.maxWaiting)
      return Promise.reject(new AgoraError('AGORA_ERR_HTTP_OVERLOADED', [this.options.retryAfterS]));
    const wake = this.start(nodeId);
    this.held++;
    return new Promise<NodeAddress>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        this.held--;
        clearTimeout(timer);
        return true;
      };
      const timer = setTimeout(() => {
        if (finish()) reject(new AgoraError('AGORA_ERR_PROXY_WAKE_TIMEOUT', [nodeId, this.options.timeoutMs]));
      }, this.options.timeoutMs);
      wake.then(
        (address) => finish() && resolve(address),
        (e: unknown) => finish() && reject(e as Error),
      );
    });
  }
}

function isAddress(a: unknown): a is NodeAddress {
  const x = a as Partial<NodeAddress> | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof x.host === 'string' &&
    x.host !== '' &&
    Number.isInteger(x.port) &&
    (x.port as number) > 0 &&
    (x.port as number) <= 65535
  );
}

function asWakeError(nodeId: string, e: unknown): AgoraError {
  if (isAgoraError(e) && (e.code === 'AGORA_ERR_PROXY_WAKE_FAILED' || e.code === 'AGORA_ERR_PROXY_WAKE_TIMEOUT'))
    return e;
  return new AgoraError('AGORA_ERR_PROXY_WAKE_FAILED', [nodeId, errorMessage(e)], { cause: e });
}
