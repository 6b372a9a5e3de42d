import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { HotCounts } from './hot-counts.js';
import { summariseUs } from './latency-summary.js';

const histogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });

/** Records `values` into `counts` and straight into an HDR histogram, drains `counts` into a
 * fresh one, and checks the drained count and each percentile against the direct one (0.1%). */
function drainMatchesDirect(counts: HotCounts, values: readonly number[], percentiles: readonly number[]): void {
  const direct = histogram();
  for (const v of values) {
    counts.record(v);
    direct.recordValue(v);
  }
  const got = histogram();
  counts.drainInto(got);
  expect(got.totalCount).toBe(values.length);
  for (const p of percentiles) {
    const b = direct.getValueAtPercentile(p);
    expect(Math.abs(got.getValueAtPercentile(p) - b)).toBeLessThanOrEqual(Math.max(1, b * 1e-3));
  }
}

describe('HotCounts', () => {
  it('drained into HDR, gives the percentiles of recording directly within 0.1% (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 1000, max: 100_000 })), { minLength: 1, maxLength: 400 }),
      (values) => {
        const counts = new HotCounts();
        drainMatchesDirect(counts, values, [0, 10, 50, 90, 99, 99.9, 100]);
        expect(counts.total).toBe(0);
      },
    ), { numRuns: 200 });
  });

  it('counts small values exactly and clears after draining', () => {
    const c = new HotCounts();
    for (const v of [0, 1, 1, 2047, 2048, 2049, 1e10]) c.record(v);
    const h = histogram();
    c.drainInto(h);
    expect(h.totalCount).toBe(7);
    expect(h.getValueAtPercentile(0)).toBe(0);
    const again = histogram();
    c.drainInto(again);
    expect(again.totalCount).toBe(0);
  });

  it('reused over rounds of records and drains, gives each round what a fresh histogram of that round holds (property)', () => {
    const value = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 1000, max: 100_000 }));
    fc.assert(fc.property(fc.array(fc.array(value, { maxLength: 60 }), { minLength: 2, maxLength: 6 }), (rounds) => {
      const c = new HotCounts();
      for (const vs of rounds) drainMatchesDirect(c, vs, [0, 50, 99, 100]);
    }), { numRuns: 200 });
  });

  it('drained into several histograms at once, leaves them as recording into one and adding it to each with the library (property)', () => {
    const value = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 1000, max: 100_000 }));
    fc.assert(fc.property(
      fc.array(value, { minLength: 1, maxLength: 300 }),
      fc.array(fc.array(value, { maxLength: 50 }), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      (values, before, resetFirst) => {
        // Targets with earlier contents (and, for some, a reset in between, as the daemon's
        // window histograms have), built twice alike.
        const build = () => before.map((vs) => {
          const h = histogram();
          for (const v of vs) h.recordValue(v);
          if (resetFirst) {
            h.reset();
            for (const v of vs.slice(0, 3)) h.recordValue(v);
          }
          return h;
        });
        const want = build();
        const got = build();
        const a = new HotCounts();
        const b = new HotCounts();
        for (const v of values) {
          a.record(v);
          b.record(v);
        }
        // The reference: the old fold, one scratch histogram added to each with the library.
        const scratch = histogram();
        a.drainInto(scratch);
        for (const h of want) h.add(scratch);
        b.drainIntoAll(got);
        expect(b.total).toBe(0);
        got.forEach((g, k) => {
          const w = want[k]! as hdr.JsHistogram;
          const gj = g as hdr.JsHistogram;
          expect(gj.totalCount).toBe(w.totalCount);
          expect(gj.maxValue).toBe(w.maxValue);
          expect(gj.minNonZeroValue).toBe(w.minNonZeroValue);
          for (let i = 0; i < w.countsArrayLength; i++) if (gj.getCountAtIndex(i) !== w.getCountAtIndex(i)) expect([i, gj.getCountAtIndex(i)]).toEqual([i, w.getCountAtIndex(i)]);
          expect(summariseUs([g], 0)).toEqual(summariseUs([w], 0));
        });
      },
    ), { numRuns: 100 });
  });
});
