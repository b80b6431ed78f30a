/**
 * The clock of a heartbeat loop (RFC 7 §Heartbeating) that knows when its own process was not
 * running. Node runs the timers that are due before it reads its sockets, so a tick that comes
 * late, after the event loop stalled (a long garbage collection, CPU starvation, synchronous
 * work), judges the peers before reading what they sent during the stall: their silence then
 * is ours, not theirs. `late()` says by how much to push every peer's expiry back before
 * judging it, so that a peer is lost only after interval × liveness of silence that this
 * process was awake to hear.
 */
export class HeartbeatClock {
  private last: number;

  constructor(
    private readonly intervalMs: number,
    now = Date.now(),
  ) {
    this.last = now;
  }

  /** Call at each tick: how many ms later than due it comes (0 when on time). */
  late(now: number): number {
    const late = now - this.last - this.intervalMs;
    this.last = now;
    return late > 0 ? late : 0;
  }
}
