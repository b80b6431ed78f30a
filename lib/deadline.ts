/** Deadlines are absolute wall-clock times in milliseconds since the epoch, so they survive process hops. */

/** The deadline `ms` from now. */
export function deadlineIn(ms: number): number {
  return Date.now() + ms;
}

/** Milliseconds left until `deadline` (never negative). */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** Whether `deadline` has passed. */
export function expired(deadline: number | undefined): boolean {
  return deadline !== undefined && deadline <= Date.now();
}
