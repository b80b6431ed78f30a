/**
 * Bus-level waits for integration tests. A started worker prints its ready line once its
 * sockets connect, but the broker registers it only when it reads the READY frame; RFC 8
 * `mmi.service` is the broker's own answer, so tests poll it, with a deadline.
 */
import assert from 'node:assert/strict';
import type { BusClient } from '../../lib/bus/client';
import { isAgoraError, type AgoraError, type ErrorCode } from '../../lib/errors';

/** How long one `mmi.service` probe may take (the broker may be restarting). */
const PROBE_MS = 250;
/** Pause between probes. */
const EVERY_MS = 20;

/** Resolve once the broker has a worker for `name`; reject after `ms`. */
export function waitForService(client: BusClient, name: string, ms: number): Promise<void> {
  return pollService(client, name, true, ms);
}

/** Resolve once the broker has no worker left for `name`; reject after `ms`. */
export function waitForServiceGone(client: BusClient, name: string, ms: number): Promise<void> {
  return pollService(client, name, false, ms);
}

async function pollService(client: BusClient, name: string, present: boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = 'no answer yet';
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(
        `timed out after ${ms} ms waiting for ${name} to be ${present ? 'registered' : 'gone'} (${last})`,
      );
    try {
      if ((await client.hasService(name, { timeoutMs: Math.min(PROBE_MS, left) })) === present) return;
      last = present ? 'mmi.service said 404' : 'mmi.service said 200';
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
  }
}

/** Assert that `promise` rejects with an AgoraError of `code`; returns it for further checks. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<AgoraError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(isAgoraError(caught), `expected an AgoraError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Poll `probe` every `everyMs` until it answers true, or fail naming `what` after `ms`. */
export async function until(
  probe: () => Promise<boolean>,
  ms: number,
  what = 'condition',
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A steady load: `callers` loops, each making its next call as soon as its last one settles. */
export interface Load {
  /** Calls made so far. */
  readonly made: number;
  /** Calls that failed, or answered something else than `check` accepts, with what they got. */
  readonly failures: unknown[];
  /** Resolve once `n` calls in all have been answered correctly; reject after `ms`. */
  answered(n: number, ms: number): Promise<void>;
  /** Stop making calls; resolves once every call made has settled. */
  stop(): Promise<void>;
}

/**
 * Start `callers` loops, loop i calling `call(i)`; an answer is correct when `check(result, i)`
 * accepts it. A loop ends at its first failure.
 */
export function keepCalling(
  callers: number,
  call: (caller: number) => Promise<unknown>,
  check: (result: unknown, caller: number) => boolean,
): Load {
  let stopped = false;
  let made = 0;
  let good = 0;
  const failures: unknown[] = [];
  const loop = async (_: unknown, caller: number): Promise<void> => {
    while (!stopped) {
      made++;
      try {
        const result = await call(caller);
        if (check(result, caller)) good++;
        else failures.push({ wrongAnswer: result });
      } catch (e) {
        // A caller stops at its first failure: a call failing at once (a closed client) must
        // not spin this loop on microtasks, starving the event loop.
        failures.push(e);
        return;
      }
    }
  };
  const loops = Array.from({ length: callers }, loop);
  return {
    get made() {
      return made;
    },
    failures,
    answered: (n, ms) => until(async () => good >= n, ms),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
