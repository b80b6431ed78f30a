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

/**
 * The least-squares line through `points`: its slope per ms and its value at `t`; undefined with fewer
 * than two points (or all at one time).
 */
function fit(points: readonly Sample[]): { slope: number; at(t: number): number } | undefined {
  if (points.length < 2) return undefined;
  const tx = mean(points.map((s) => s.t));
  const vy = mean(points.map((s) => s.value));
  let num = 0;
  let den = 0;
  for (const s of points) {
    num += (s.t - tx) * (s.value - vy);
    den += (s.t - tx) ** 2;
  }
  if (den === 0) return undefined;
  const slope = num / den;
  return { slope, at: (t) => vy + (t - tx) * slope };
}

/** That line's value at the last of `points` over its value at the first, minus 1. */
function lineGrowth(points: readonly Sample[]): number | undefined {
  const line = fit(points);
  if (line === undefined) return undefined;
  const start = line.at(points[0].t);
  return start <= 0 ? undefined : line.at(points[points.length - 1].t) / start - 1;
}

/** Least-squares slope of the samples from `fromMs` on, per minute; undefined with fewer than two. */
export function slopePerMinute(samples: readonly Sample[], fromMs: number): number | undefined {
  const line = fit(samples.filter((s) => s.t >= fromMs));
  return line === undefined ? undefined : line.slope * 60_000;
}

/**
 * Growth of the trend from `fromMs` to the end: the least-squares line through the samples from
 * `fromMs` on, its value at the last sample over its value at the first, minus 1. Unlike `growth`,
 * it does not rest on the phase of a sawtooth (a young generation filling and emptied by a collection
 * every minute or two) at the two ends alone, but a sawtooth of a few periods still tilts it by some
 * per cent either way (`peakGrowth` does not). Undefined with fewer than six samples from there.
 */
export function trendGrowth(samples: readonly Sample[], fromMs: number): number | undefined {
  const after = samples.filter((s) => s.t >= fromMs);
  return after.length < 6 ? undefined : lineGrowth(after);
}

/** The windows whose highest samples make the peaks (`peakGrowth`): 2 minutes. */
export const PEAK_WINDOW_MS = 120_000;

/**
 * Growth of the peaks from `fromMs` to the end: the samples from there cut into windows of `windowMs`
 * (what is left at the end joins the last whole window, or makes one when it spans half a window or
 * more), the highest sample of each, and the least-squares line's growth through those. A sawtooth whose
 * period is shorter than a window peaks in every window at the same height, whatever phase the run ends
 * in; memory that leaks lifts every peak. Undefined with fewer than three windows.
 */
export function peakGrowth(samples: readonly Sample[], fromMs: number, windowMs = PEAK_WINDOW_MS): number | undefined {
  const after = samples.filter((s) => s.t >= fromMs);
  if (after.length === 0) return undefined;
  const windows = Math.round((after[after.length - 1].t - fromMs) / windowMs);
  if (windows < 3) return undefined;
  const peaks: Sample[] = [];
  for (const s of after) {
    const w = Math.min(windows - 1, Math.floor((s.t - fromMs) / windowMs));
    if (peaks[w] === undefined || s.value > peaks[w].value) peaks[w] = s;
  }
  const points = peaks.filter((p) => p !== undefined);
  return points.length < 3 ? undefined : lineGrowth(points);
}
