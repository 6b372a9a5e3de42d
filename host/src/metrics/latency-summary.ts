import { JsHistogram, type Histogram } from 'hdr-histogram-js';
import { assert } from '../core/assert.js';
import type { LatencySummaryUs } from './snapshot.js';

/** Percentiles a summary carries, in the order of `QUANTILE_FIELDS`. */
const PERCENTILES = [50, 90, 99, 99.9] as const;
const QUANTILE_FIELDS = ['p50', 'p90', 'p99', 'p999'] as const;

/**
 * Summary of the sum of histograms of integer nanoseconds (all built alike, so bucket `i`
 * means the same values in each), in microseconds. Why not the library's
 * `getValueAtPercentile`, `mean` and `add`: each percentile walks all ~25,600 buckets again,
 * `mean` walks them through an iterator that allocates an object per recorded value (3.7 ms
 * per histogram, 45 of the 55 ms a snapshot took), and adding two histograms to summarise
 * them walks them twice more. This walks the buckets once for the four percentiles, with
 * the library's own rank rounding (so the values are the same as `getValueAtPercentile` of
 * the sum), and takes the mean from the exact sum of the recorded values (`sumNs`), kept
 * beside the histograms.
 */
export function summariseUs(hs: readonly Histogram[], sumNs: number): LatencySummaryUs {
  const js = hs.map(asJs);
  const n = js.reduce((a, h) => a + h.totalCount, 0);
  if (n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const us = (ns: number) => Math.round(ns) / 1000;
  const maxNs = Math.max(...js.map((h) => h.maxValue));
  const out: LatencySummaryUs = { count: n, p50: 0, p90: 0, p99: 0, p999: 0, max: us(maxNs), mean: us(sumNs / n) };
  const first = js[0];
  assert(js.every((h) => h.countsArrayLength === first.countsArrayLength), 'summed histograms share one bucket layout');
  let q = 0;
  let want = countAtPercentile(PERCENTILES[0], n);
  let seen = 0;
  // The snapshot's summaries are of one histogram (since start) or two (the recent pair):
  // those read without an inner loop, which cost more than the reads (a snapshot with ~10 ms
  // latencies took 4-5 ms, 16 walks of ~15,000 buckets; a daemon per stream pays it twice a
  // second: bench/keywords.ts).
  const second = js.length === 2 ? js[1] : null;
  // Every bucket below the smallest non-zero value recorded is empty but bucket 0 (the value
  // 0): the walk skips them, about half of it for millisecond latencies (each histogram keeps
  // its minimum through records, adds and resets). A snapshot of ~10 ms latencies walked
  // ~14,000 buckets per summary, 18 summaries: 77% of its 1.4-2 ms.
  const from = Math.min(...js.map((h) => (h.minNonZeroValue > h.maxValue ? h.countsArrayLength : h.countsArrayIndex(h.minNonZeroValue))));
  for (let i = 0; i < first.countsArrayLength && q < PERCENTILES.length; i = i === 0 ? Math.max(1, from) : i + 1) {
    if (js.length === 1) seen += first.getCountAtIndex(i);
    else if (second !== null) seen += first.getCountAtIndex(i) + second.getCountAtIndex(i);
    else for (let k = 0; k < js.length; k++) seen += js[k].getCountAtIndex(i);
    while (q < PERCENTILES.length && seen >= want) {
      // HDR reports a percentile as the upper bound of its bucket, which can lie above the
      // largest value recorded; no sample exceeds the max, so neither does a percentile.
      out[QUANTILE_FIELDS[q]] = us(Math.min(first.highestEquivalentValue(first.valueFromIndex(i)), maxNs));
      q++;
      if (q < PERCENTILES.length) want = countAtPercentile(PERCENTILES[q], n);
    }
  }
  return out;
}

function asJs(h: Histogram): JsHistogram {
  assert(h instanceof JsHistogram, 'latency histograms are the pure-JS build');
  return h;
}

/** The rank of a percentile as hdr-histogram-js's `getValueAtPercentile` computes it. */
function countAtPercentile(percentile: number, total: number): number {
  const fp = (percentile / 100) * total;
  return Math.max(Math.ceil(fp - 2 ** (Math.floor(Math.log2(fp)) - 52)), 1);
}
