/** The soak's arithmetic (bench/soak.ts): growth and slope of a sampled series. */

/** One sample: ms since the soak began, and the value. */
export interface Sample {
  t: number;
  value: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Growth from `fromMs` to the end: the mean of the last three samples over the mean of the three
 * from `fromMs` on, minus 1 (0.1: grew by 10 %). Undefined with fewer than six samples from there.
 */
export function growth(samples: readonly Sample[], fromMs: number): number | undefined {
  const after = samples.filter((s) => s.t >= fromMs).map((s) => s.value);
  if (after.length < 6) return undefined;
  const start = mean(after.slice(0, 3));
  return start === 0 ? undefined : mean(after.slice(-3)) / start - 1;
}

/** Least-squares slope of the samples from `fromMs` on, per minute; undefined with fewer than two. */
export function slopePerMinute(samples: readonly Sample[], fromMs: number): number | undefined {
  const after = samples.filter((s) => s.t >= fromMs);
  if (after.length < 2) return undefined;
  const tx = mean(after.map((s) => s.t));
  const vy = mean(after.map((s) => s.value));
  let num = 0;
  let den = 0;
  for (const s of after) {
    num += (s.t - tx) * (s.value - vy);
    den += (s.t - tx) ** 2;
  }
  return den === 0 ? undefined : (num / den) * 60_000;
}

/**
 * Growth of the trend from `fromMs` to the end: the least-squares line through the samples from
 * `fromMs` on, its value at the last sample over its value at the first, minus 1. Unlike `growth`,
 * a sawtooth (a young generation filling and emptied by a collection every minute or two) moves it
 * only by its drift, whatever phase the run ends in. Undefined with fewer than six samples from there.
 */
export function trendGrowth(samples: readonly Sample[], fromMs: number): number | undefined {
  const after = samples.filter((s) => s.t >= fromMs);
  const slope = slopePerMinute(samples, fromMs);
  if (after.length < 6 || slope === undefined) return undefined;
  const tx = mean(after.map((s) => s.t));
  const vy = mean(after.map((s) => s.value));
  const at = (t: number): number => vy + ((t - tx) * slope) / 60_000;
  const start = at(after[0].t);
  return start <= 0 ? undefined : at(after[after.length - 1].t) / start - 1;
}
