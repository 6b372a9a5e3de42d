import type * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';

/** Values below this are counted exactly; above, 11 significant bits per octave. */
const EXACT_BELOW = 2048;
const HALF = 1024;
/** Octaves above 2^11 covered: values up to 2^(11 + OCTAVES) - 1 (2^35 ns, 34 s). */
const OCTAVES = 24;
const SLOTS = EXACT_BELOW + OCTAVES * HALF;
const TWO32 = 4294967296;

/**
 * Counts of latencies recorded on the hot path, drained into an hdr-histogram-js histogram
 * off it. Why not record into the HDR histogram directly: its `recordValue` costs ~50 ns
 * (log2, floor and pow per value); at the jet tagger's rate, with six latencies a frame, that
 * was a fifth of the core. Here a value's slot is found with `Math.clz32` and one multiply
 * (a few ns), with 11 significant bits (relative error < 2^-10, as HDR's 3 significant
 * digits), and `drainInto` hands the counts to `recordValueWithCount`.
 */
export class HotCounts {
  private readonly counts = new Float64Array(SLOTS);
  private readonly touched = new Uint8Array(OCTAVES + 1);
  /** Largest value counted (values above are clamped to it by the caller). */
  static readonly maxValue = 2 ** (11 + OCTAVES) - 1;
  total = 0;
  /** Exact sum of the values counted since the last drain (the summary's mean). */
  sum = 0;

  /** Counts one non-negative integer value <= HotCounts.maxValue. Never allocates. */
  record(v: number): void {
    if (v < EXACT_BELOW) {
      this.counts[v]++;
      this.touched[0] = 1;
    } else {
      // Octave e: 2^e <= v < 2^(e+1), e in [11, 34].
      const e = v < TWO32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / TWO32));
      const m = Math.floor(v * SCALE[e]!); // [1024, 2047]
      this.counts[EXACT_BELOW + (e - 11) * HALF + (m - HALF)]++;
      this.touched[e - 10] = 1;
    }
    this.total++;
    this.sum += v;
  }

  /** Adds every count to `h` (each slot at its lowest value) and clears. Off the hot path. */
  drainInto(h: Pick<hdr.Histogram, 'recordValueWithCount'>): void {
    this.drainIntoAll([h]);
  }

  /**
   * Adds every count to each of `hs` and clears: what recording into one histogram and adding
   * it to the others gives, without their walks of every bucket (hdr-histogram-js's `add`
   * reads all ~25,600 of the other's; the daemon's snapshot folded each latency into three
   * histograms that way, 58% of a keyword daemon's CPU at 30 streams with snapshots on).
   */
  drainIntoAll(hs: readonly Pick<hdr.Histogram, 'recordValueWithCount'>[]): void {
    if (this.total === 0) return;
    if (this.touched[0] === 1) {
      for (let v = 0; v < EXACT_BELOW; v++) {
        const c = this.counts[v]!;
        if (c > 0) for (const h of hs) h.recordValueWithCount(v, c);
      }
    }
    for (let e = 11; e < 11 + OCTAVES; e++) {
      if (this.touched[e - 10] !== 1) continue;
      const base = EXACT_BELOW + (e - 11) * HALF;
      for (let k = 0; k < HALF; k++) {
        const c = this.counts[base + k]!;
        if (c > 0) for (const h of hs) h.recordValueWithCount((HALF + k) * 2 ** (e - 10), c);
      }
    }
    this.clear();
  }

  /** Zeroes the counts. Only the octaves touched since the last clear: a fill of all 26,624
   * slots per series per snapshot was 3.7% of a core running 100 keyword daemons. */
  clear(): void {
    if (this.touched[0] === 1) this.counts.fill(0, 0, EXACT_BELOW);
    for (let t = 1; t <= OCTAVES; t++) {
      if (this.touched[t] === 1) this.counts.fill(0, EXACT_BELOW + (t - 1) * HALF, EXACT_BELOW + t * HALF);
    }
    this.touched.fill(0);
    this.total = 0;
    this.sum = 0;
  }
}

/** SCALE[e] = 2^-(e-10): maps [2^e, 2^(e+1)) onto [1024, 2048). */
const SCALE = Float64Array.from({ length: 11 + OCTAVES }, (_, e) => (e >= 11 ? 2 ** -(e - 10) : 0));
assert(HotCounts.maxValue < 2 ** 53, 'slot values are exact doubles');
