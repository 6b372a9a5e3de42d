/**
 * The daemon's bounded history (`/api/history`): one row per interval, the last
 * `limits.historyRows` kept in typed arrays (a ring), so a reload or a second browser sees the
 * past hour. Rows are appended off the hot path, by the snapshot timer (pipeline-metrics.ts);
 * nothing here runs per frame.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { JsHistogram } from 'hdr-histogram-js';
import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';
import { LATENCY_SERIES, type DeviceLatencySource, type HistoryColumns, type IntervalLatencyColumns, type LatencySeries } from '../server/api-types.js';
import type { LatencySummaryUs } from './snapshot.js';

/** Heatmap edges per decade of microseconds. */
const HEATMAP_STEPS_PER_DECADE = 5;
/** The heatmap spans 1 us to 10^7 us (`limits.histogramMaxUs`); below 1 us is bucket 0. */
const HEATMAP_DECADES = Math.round(Math.log10(limits.histogramMaxUs));

/**
 * The e2e heatmap's bucket edges, microseconds: 0, then 10^(k/5) for k = 0..35 (1 us to 10 s),
 * five to a decade. Bucket b holds [edges[b], edges[b + 1]); the last one is open.
 */
export const HEATMAP_EDGES_US: readonly number[] = [0, ...Array.from({ length: HEATMAP_DECADES * HEATMAP_STEPS_PER_DECADE + 1 }, (_, k) => Number((10 ** (k / HEATMAP_STEPS_PER_DECADE)).toPrecision(6)))];

/** Counts per interval of a row, beside its rates. */
export interface HistoryRow {
  /** Wall-clock end of the interval, seconds since the epoch. */
  tS: number;
  fps: number;
  triggersPerS: number;
  late: number;
  budgetViolations: number;
  dropped: number;
  errors: number;
  suppressed: number;
}

const SCALARS = ['tS', 'fps', 'triggersPerS', 'late', 'budgetViolations', 'dropped', 'errors', 'suppressed'] as const;
const STATS = ['count', 'p50', 'p99', 'p999', 'max', 'mean'] as const;

/**
 * The ring of rows. Memory is fixed at construction: 8 scalar columns, 6 statistics of each
 * of the 9 latency series and the heatmap's buckets, all Float64Array of `rows` (about 2.8 MB
 * for 3600 rows). `columns()` builds the public object once per appended row and caches it.
 */
export class HistoryRing {
  private readonly scalars: Float64Array[];
  /** [series][stat] columns. */
  private readonly latency: Float64Array[][];
  /** rows x buckets, row-major. */
  private readonly heat: Float64Array;
  private readonly buckets = HEATMAP_EDGES_US.length;
  private next = 0;
  private size = 0;
  private cached: HistoryColumns | null = null;
  /** What the `device` series holds, carried in `columns()`. */
  deviceSource: DeviceLatencySource = 'none';

  constructor(
    readonly rows: number = limits.historyRows,
    readonly resolutionS: number = limits.historyResolutionS,
  ) {
    assert(rows > 0 && resolutionS > 0, 'a history has rows and a positive resolution');
    this.scalars = SCALARS.map(() => new Float64Array(rows));
    this.latency = LATENCY_SERIES.map(() => STATS.map(() => new Float64Array(rows)));
    this.heat = new Float64Array(rows * this.buckets);
  }

  /** Rows held (at most `rows`). */
  get length(): number {
    return this.size;
  }

  /**
   * Appends a row, overwriting the oldest once full. `latency[k]` is the interval's summary of
   * `LATENCY_SERIES[k]`; `heatmap` has one count per bucket of `HEATMAP_EDGES_US`.
   */
  append(row: HistoryRow, latency: readonly LatencySummaryUs[], heatmap: ArrayLike<number>): void {
    assert(latency.length === LATENCY_SERIES.length && heatmap.length === this.buckets, 'a history row has every series and bucket');
    const i = this.next;
    for (let c = 0; c < SCALARS.length; c++) this.scalars[c][i] = row[SCALARS[c]];
    for (let k = 0; k < LATENCY_SERIES.length; k++) {
      for (let s = 0; s < STATS.length; s++) this.latency[k][s][i] = latency[k][STATS[s]];
    }
    for (let b = 0; b < this.buckets; b++) this.heat[i * this.buckets + b] = heatmap[b];
    this.next = (i + 1) % this.rows;
    this.size = Math.min(this.size + 1, this.rows);
    this.cached = null;
  }

  /** The rows as columns, oldest first. Built once per appended row; callers must not mutate it. */
  columns(): HistoryColumns {
    this.cached ??= this.build();
    return this.cached;
  }

  private build(): HistoryColumns {
    const first = (this.next - this.size + this.rows) % this.rows;
    // Plain loops: `Array.from` of a typed array goes through its iterator, ten times slower
    // (an hour's columns took 5-10 ms that way; bench/history.ts).
    const col = (a: Float64Array): number[] => {
      const out: number[] = [];
      for (let j = 0; j < this.size; j++) out.push(a[(first + j) % this.rows]);
      return out;
    };
    const [t, fps, triggersPerS, late, budgetViolations, dropped, errors, suppressed] = this.scalars.map(col);
    const latency = Object.fromEntries(
      LATENCY_SERIES.map((name, k) => [name, Object.fromEntries(STATS.map((stat, s) => [stat, col(this.latency[k][s])])) as unknown as IntervalLatencyColumns]),
    ) as Record<LatencySeries, IntervalLatencyColumns>;
    const counts: number[][] = [];
    for (let j = 0; j < this.size; j++) {
      const at = ((first + j) % this.rows) * this.buckets;
      const row: number[] = [];
      for (let b = 0; b < this.buckets; b++) row.push(this.heat[at + b]);
      counts.push(row);
    }
    return { resolutionS: this.resolutionS, t, fps, triggersPerS, late, budgetViolations, dropped, errors, suppressed, latency, heatmap: { bucketEdgesUs: [...HEATMAP_EDGES_US], counts }, deviceSource: this.deviceSource };
  }
}

/**
 * Adds the counts of `h` (a histogram of integer nanoseconds) into `out`, one slot per bucket
 * of `HEATMAP_EDGES_US`; each HDR bucket goes by its lowest value. Why by hand: the library
 * has no re-bucketing, and its iterators allocate an object per step; this walks the counts
 * array once, the edges ascending with it.
 */
export function addHeatmap(h: JsHistogram, out: Float64Array): void {
  assert(out.length === HEATMAP_EDGES_US.length, 'a heatmap row has one slot per bucket');
  if (h.totalCount === 0) return;
  let b = 0;
  const top = h.countsArrayIndex(h.maxValue);
  for (let i = 0; i <= top; i++) {
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    const us = h.lowestEquivalentValue(h.valueFromIndex(i)) / 1000;
    while (b + 1 < HEATMAP_EDGES_US.length && us >= HEATMAP_EDGES_US[b + 1]) b++;
    out[b] += c;
  }
}

/**
 * Upper bounds of the Prometheus latency buckets, microseconds: 1-2.5-5 per decade from 1 us
 * to 10 s (`hairtrigger_latency_seconds_bucket{le}`; +Inf is the count).
 */
export const PROMETHEUS_LE_US: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 1e7];

/** The counts of every block of `size` consecutive HDR bucket indices (a `BlockedHistogram`'s). */
export interface BlockCounts {
  readonly size: number;
  readonly counts: Float64Array;
}

/**
 * Cumulative counts of `h` (integer ns) at or below each of `leUs` (ascending), each HDR
 * bucket by its lowest value (the value the hot path's counts were drained at). Off the hot
 * path; walks the counts array once, skipping whole blocks below a bound when given `blocks`.
 */
export function cumulativeCounts(h: JsHistogram, leUs: readonly number[], blocks: BlockCounts | null = null): number[] {
  const out = new Array<number>(leUs.length).fill(0);
  if (h.totalCount === 0) return out;
  const top = h.countsArrayIndex(h.maxValue);
  let b = 0;
  let seen = 0;
  for (let i = 0; i <= top; i++) {
    // With the histogram's block counts (latency-summary.ts): the bounds below a block's first
    // bucket close at what came before it, and a whole block whose last bucket lies at or below
    // the next bound is added at once (its buckets close no bound).
    if (blocks !== null && (i & (blocks.size - 1)) === 0) {
      for (let k = i / blocks.size; i + blocks.size - 1 <= top; k++, i += blocks.size) {
        const lowest = h.valueFromIndex(i) / 1000;
        while (b < leUs.length && lowest > leUs[b]) out[b++] = seen;
        if (b < leUs.length && h.valueFromIndex(i + blocks.size - 1) / 1000 > leUs[b]) break;
        seen += blocks.counts[k];
      }
      if (i > top) break;
    }
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    const us = h.valueFromIndex(i) / 1000;
    while (b < leUs.length && us > leUs[b]) out[b++] = seen;
    seen += c;
  }
  while (b < leUs.length) out[b++] = seen;
  return out;
}

/** Numbers serialised between two yields to the event loop (a few hundred microseconds). */
const JSON_SLICE_NUMBERS = 5_000;

/**
 * `JSON.stringify(value)` of a tree of plain objects, number arrays and arrays of number
 * arrays (the history's columns), built in slices with a macrotask between them. Why: the
 * full hour is ~1.4 MB and one `JSON.stringify` took ~28 ms, a stall of the event loop the
 * hot path runs on (bench/history.ts); each slice here stays under a millisecond. The same
 * text as `JSON.stringify` (tested).
 */
export async function jsonInSlices(value: unknown): Promise<string> {
  const parts: string[] = [];
  let since = 0;
  const write = async (x: unknown): Promise<void> => {
    if (Array.isArray(x) && x.length > 0 && Array.isArray(x[0])) {
      parts.push('[');
      for (let i = 0; i < x.length; i++) {
        if (i > 0) parts.push(',');
        await write(x[i]);
      }
      parts.push(']');
    } else if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      parts.push('{');
      let first = true;
      for (const [k, v] of Object.entries(x)) {
        if (v === undefined) continue;
        parts.push(`${first ? '' : ','}${JSON.stringify(k)}:`);
        first = false;
        await write(v);
      }
      parts.push('}');
    } else {
      parts.push(JSON.stringify(x));
      since += Array.isArray(x) ? x.length : 1;
      if (since >= JSON_SLICE_NUMBERS) {
        since = 0;
        await nextMacrotask();
      }
    }
  };
  await write(value);
  return parts.join('');
}
