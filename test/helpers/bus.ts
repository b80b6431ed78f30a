/**
 * Bus-level waits for integration tests. A started worker prints its ready line once its
 * sockets connect, but the broker registers it only when it reads the READY frame; RFC 8
 * `mmi.service` is the broker's own answer, so tests poll it, with a deadline.
 */
import assert from 'node:assert/strict';
import type { BusClient } from '../../lib/bus/client';
import { isAgoraError, type ErrorCode } from '../../lib/errors';

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
    if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${name} to be ${present ? 'registered' : 'gone'} (${last})`);
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
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Record<string, unknown>> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(isAgoraError(caught), `expected an AgoraError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught as unknown as Record<string, unknown>;
}

/** Poll `probe` until it answers true, or fail after `ms`. */
export async function until(probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
