/**
 * One of Node's tick objects (what `process.nextTick` queues) kept alive for the life of the process, so
 * that every later one is built on V8's fast path.
 *
 * Node 20 builds each tick object from an object literal with computed keys (its async id symbols), whose
 * properties V8 adds one map transition at a time, each step remembered by that literal's inline cache. The
 * intermediate maps live only as long as some tick object does: a full garbage collection while the tick
 * queue is empty (at rest, or the gateway's compaction before it listens, lib/young-generation.ts) frees
 * them, the next tick builds new ones, and after a few such collections the cache gives up
 * (megamorphic) for good. From then on every `nextTick` adds its properties in V8's runtime, through a
 * lookup per property. Node calls it several times per HTTP request (a body's end, `finish`, writes): under
 * load that was 5–6 % of the gateway's CPU samples (`perf`), none once one tick object is kept, since it
 * keeps its maps, and with them the cache, as they are.
 *
 * It is caught with an async hook that is on for one `nextTick` only, before the process does anything.
 */
import { createHook } from 'node:async_hooks';

let held: object | undefined;

/** Catch and keep one tick object (once per process); answers whether one is held. */
export function keepTickShape(): boolean {
  if (held !== undefined) return true;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && held === undefined) held = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return held !== undefined;
}

function noop(): void {}
