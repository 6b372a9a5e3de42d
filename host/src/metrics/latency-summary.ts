import { JsHistogram, type Histogram } from 'hdr-histogram-js';
import type { BlockCounts } from './history.js';
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
  return summarise(hs.map(asJs), sumNs, null);
}

/** log2 of the HDR bucket indices a `BlockedHistogram` block counts (128: 64 and 256 timed alike). */
const BLOCK_SHIFT = 7;

/**
 * An HDR histogram of integer nanoseconds with the count of every block of 128 consecutive
 * bucket indices kept beside it, and the exact sum of what it holds (the summary's mean).
 * Record and reset only through it. Why: a summary walked every bucket from the smallest
 * value to the p99.9 one (~5,000 for millisecond latencies), 27 walks a snapshot, and the
 * Prometheus counts walked up to the max, 9 more; with the blocks a summary adds up whole
 * blocks until the next percentile's rank falls in one and walks only that block, and the
 * counts add whole blocks between bounds (side by side: bench/snapshot-build.ts, summaries 8x
 * faster; a keyword daemon's metrics snapshot took ~1.2 ms before, 214 us after).
 */
export class BlockedHistogram {
  readonly h: JsHistogram;
  readonly blocks: Float64Array;
  /** The block counts as `cumulativeCounts` takes them. */
  readonly blockCounts: BlockCounts;
  sumNs = 0;

  constructor(h: Histogram) {
    this.h = asJs(h);
    const blocks = (this.blocks = new Float64Array(Math.ceil(this.h.countsArrayLength / 2 ** BLOCK_SHIFT)));
    this.blockCounts = { size: 2 ** BLOCK_SHIFT, counts: blocks };
    // The library's reset clears all ~25,600 counts (1.7% of a core running 100 keyword
    // daemons, whose snapshots reset 9 histograms a second each); every count is recorded
    // through this object, so only the blocks holding some need it. The library's own reset
    // (totals, min, max) runs as it is, calling this in place of its clearCounts.
    const counts = (this.h as { _counts?: Int32Array | Float64Array | Int16Array | Int8Array })._counts;
    assert(counts !== undefined && counts.length === this.h.countsArrayLength, 'a typed-array histogram: its counts are cleared by block');
    Object.defineProperty(this.h, 'clearCounts', {
      value: () => {
        for (let k = 0; k < blocks.length; k++) if (blocks[k] !== 0) counts.fill(0, k << BLOCK_SHIFT, (k + 1) << BLOCK_SHIFT);
        blocks.fill(0);
      },
    });
  }

  /** As the histogram's own, and counts `count` in the value's block. Off the hot path. */
  recordValueWithCount(value: number, count: number): void {
    this.h.recordValueWithCount(value, count);
    this.blocks[this.h.countsArrayIndex(value) >>> BLOCK_SHIFT] += count;
  }

  reset(): void {
    this.h.reset(); // clears the counts by block, and the blocks
    this.sumNs = 0;
  }
}

/** `summariseUs` of blocked histograms (the same values), skipping the blocks no percentile falls in. */
export function summariseBlocked(xs: readonly BlockedHistogram[]): LatencySummaryUs {
  let sumNs = 0;
  for (const x of xs) sumNs += x.sumNs;
  return summarise(xs.map((x) => x.h), sumNs, xs.map((x) => x.blocks));
}

function summarise(js: readonly JsHistogram[], sumNs: number, blocks: readonly Float64Array[] | null): LatencySummaryUs {
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
  const blockSize = 2 ** BLOCK_SHIFT;
  for (let i = 0; i < first.countsArrayLength && q < PERCENTILES.length; i = i === 0 ? Math.max(1, from) : i + 1) {
    // At a block's first bucket (or the walk's first past bucket 0): whole blocks whose counts
    // leave the next rank unreached are added at once. Bucket 0 is walked on its own, so block
    // 0's sum leaves it out.
    if (blocks !== null && i > 0 && ((i & (blockSize - 1)) === 0 || i === Math.max(1, from))) {
      let b = i >>> BLOCK_SHIFT;
      for (;;) {
        let c = 0;
        for (let k = 0; k < blocks.length; k++) c += blocks[k][b];
        if (b === 0) for (let k = 0; k < js.length; k++) c -= js[k].getCountAtIndex(0);
        // Only a block walked from its start can be skipped whole: a partial one (the walk's
        // first) holds nothing below `from` but bucket 0, already left out.
        if (seen + c >= want || b + 1 >= blocks[0].length) break;
        seen += c;
        b++;
      }
      if (b > i >>> BLOCK_SHIFT) i = b << BLOCK_SHIFT;
      if (i >= first.countsArrayLength) break;
    }
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
