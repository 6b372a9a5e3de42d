import type { JsHistogram } from 'hdr-histogram-js';
import type { PercentilePoint } from '../server/api-types.js';

/** Percentile steps per half distance to 100 %, as `outputPercentileDistribution`'s default. */
export const PERCENTILE_TICKS_PER_HALF_DISTANCE = 5;

/**
 * The percentile distribution of `h` (integer nanoseconds), in microseconds: the points
 * hdr-histogram-js's `outputPercentileDistribution(ticks)` prints (value, percentile, count to
 * that value, 1/(1-p)), computed as its `PercentileIterator` steps (percentile levels that
 * halve their distance to 100 % every `ticks` steps; a level is reported at the first
 * non-empty bucket whose cumulative percentile reaches it, as that bucket's highest
 * equivalent value; at most one level at the last bucket, then 100 %).
 *
 * Why not the library's iterator: it calls `valueFromIndex` twice and allocates for every
 * bucket of the range (some 50,000 per histogram), and `/api/latency` walked nine of them in
 * about 10 ms, on the event loop the hot path shares; this walks the non-empty buckets only.
 * The test checks every point against the library's own text output.
 *
 * The last point (100 %) has `inverted` Infinity, which JSON cannot carry: it is given as the
 * previous point's times two (one more "nine" on the log axis), or 2 alone. Off the hot path.
 */
export function percentileDistribution(h: JsHistogram, ticks = PERCENTILE_TICKS_PER_HALF_DISTANCE): PercentilePoint[] {
  const points: PercentilePoint[] = [];
  const total = h.totalCount;
  if (total === 0) return points;
  const top = h.countsArrayIndex(h.maxValue);
  let level = 0;
  let seen = 0;
  let last = 0;
  for (let i = 0; i <= top && seen < total; i++) {
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    seen += c;
    last = i;
    const valueUs = h.highestEquivalentValue(h.valueFromIndex(i)) / 1000;
    // The library reports levels at this bucket while counts remain beyond it; at the last
    // bucket it reports one, then 100 %.
    while ((100 * seen) / total >= level) {
      points.push({ percentile: level, valueUs, inverted: 1 / (1 - level / 100), count: seen });
      level += 100 / (ticks * 2 ** (Math.floor(Math.log2(100 / (100 - level))) + 1));
      if (seen === total) break;
    }
  }
  const finalUs = h.highestEquivalentValue(h.valueFromIndex(last)) / 1000;
  points.push({ percentile: 100, valueUs: finalUs, inverted: (points.at(-1)?.inverted ?? 1) * 2, count: total });
  return points;
}
