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

/**
 * `p`, or a rejection with `late()` if it has not settled `ms` from now; the timer is cleared once either
 * happens.
 */
export async function within<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
