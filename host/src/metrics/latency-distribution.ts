import type { JsHistogram } from 'hdr-histogram-js';
import type { PercentilePoint } from '../server/api-types.js';

/** Percentile steps per half distance to 100 %, as `outputPercentileDistribution`'s default. */
export const PERCENTILE_TICKS_PER_HALF_DISTANCE = 5;

/**
 * The percentile distribution of `h` (integer nanoseconds), in microseconds: the points
 * hdr-histogram-js's `outputPercentileDistribution(ticks)` prints (value, percentile, count to
 * that value, 1/(1-p)), read from the library's own percentile iterator rather than parsed
 * from its text. The last point (100 %) has `inverted` Infinity, which JSON cannot carry: it
 * is given as the previous point's times two (one more "nine" on the log axis), or 1 alone.
 * Off the hot path; allocates one object per point. Resets `h`'s shared iterator.
 */
export function percentileDistribution(h: JsHistogram, ticks = PERCENTILE_TICKS_PER_HALF_DISTANCE): PercentilePoint[] {
  const points: PercentilePoint[] = [];
  if (h.totalCount === 0) return points;
  const it = h.percentileIterator;
  it.reset(ticks);
  while (it.hasNext()) {
    const v = it.next();
    const p = v.percentileLevelIteratedTo;
    const inverted = p < 100 ? 1 / (1 - p / 100) : (points.at(-1)?.inverted ?? 0.5) * 2;
    points.push({ percentile: p, valueUs: v.valueIteratedTo / 1000, inverted, count: v.totalCountToThisValue });
  }
  return points;
}
