import type * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';

/** Values below this are counted exactly; above, 11 significant bits per octave. */
const EXACT_BELOW = 2048;
const HALF = 1024;
/** Octaves above 2^11 covered: values up to 2^(11 + OCTAVES) - 1 (2^35 ns, 34 s). */
const OCTAVES = 24;
const SLOTS = EXACT_BELOW + OCTAVES * HALF;
/** Slots per touched flag (a power of two dividing EXACT_BELOW and HALF). */
const TOUCH_SHIFT = 7;
const TOUCH_BLOCK = 2 ** TOUCH_SHIFT;
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
  /** 1 for each block of TOUCH_BLOCK slots counted into since the last clear: a drain and a
   * clear visit only those (a drain walked whole 1,024-slot octaves, 2.5% of a core running
   * 100 keyword daemons, and cleared them). */
  private readonly touched = new Uint8Array(SLOTS / TOUCH_BLOCK);
  /** Largest value counted (values above are clamped to it by the caller). */
  static readonly maxValue = 2 ** (11 + OCTAVES) - 1;
  total = 0;
  /** Exact sum of the values counted since the last drain (the summary's mean). */
  sum = 0;

  /** Counts one non-negative integer value <= HotCounts.maxValue. Never allocates. */
  record(v: number): void {
    let slot = v;
    if (v >= EXACT_BELOW) {
      // Octave e: 2^e <= v < 2^(e+1), e in [11, 34].
      const e = v < TWO32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / TWO32));
      const m = Math.floor(v * SCALE[e]!); // [1024, 2047]
      slot = EXACT_BELOW + (e - 11) * HALF + (m - HALF);
    }
    this.counts[slot]++;
    this.touched[slot >>> TOUCH_SHIFT] = 1;
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
    for (let b = 0; b < this.touched.length; b++) {
      if (this.touched[b] !== 1) continue;
      for (let slot = b << TOUCH_SHIFT; slot < (b + 1) << TOUCH_SHIFT; slot++) {
        const c = this.counts[slot]!;
        if (c > 0) for (const h of hs) h.recordValueWithCount(slotValue(slot), c);
      }
    }
    this.clear();
  }

  /** Zeroes the counts. Only the blocks touched since the last clear: a fill of all 26,624
   * slots per series per snapshot was 3.7% of a core running 100 keyword daemons. */
  clear(): void {
    for (let b = 0; b < this.touched.length; b++) {
      if (this.touched[b] === 1) this.counts.fill(0, b << TOUCH_SHIFT, (b + 1) << TOUCH_SHIFT);
    }
    this.touched.fill(0);
    this.total = 0;
    this.sum = 0;
  }
}

/** The lowest value a slot counts: itself below EXACT_BELOW, else (HALF + k) * 2^(e - 10) for
 * slot k of octave e. */
function slotValue(slot: number): number {
  if (slot < EXACT_BELOW) return slot;
  const o = slot - EXACT_BELOW;
  return (HALF + (o & (HALF - 1))) * 2 ** ((o >>> 10) + 1);
}

/** SCALE[e] = 2^-(e-10): maps [2^e, 2^(e+1)) onto [1024, 2048). */
const SCALE = Float64Array.from({ length: 11 + OCTAVES }, (_, e) => (e >= 11 ? 2 ** -(e - 10) : 0));
assert(HotCounts.maxValue < 2 ** 53, 'slot values are exact doubles');
