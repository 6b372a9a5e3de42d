import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { summariseUs } from './latency-summary.js';

const build = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });
const values = fc.array(fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 1e10 })), { maxLength: 300 });

describe('summariseUs', () => {
  it("equals hdr-histogram-js's own percentiles and max of the summed histograms, and the exact mean", () => {
    fc.assert(
      fc.property(values, values, (xs, ys) => {
        const a = build();
        const b = build();
        xs.forEach((v) => a.recordValue(v));
        ys.forEach((v) => b.recordValue(v));
        const got = summariseUs([a, b], [...xs, ...ys].reduce((s, v) => s + v, 0));
        const both = build();
        both.add(a);
        both.add(b);
        const n = xs.length + ys.length;
        const us = (ns: number) => (n === 0 ? 0 : Math.round(ns) / 1000);
        // hdr-histogram-js reports a percentile as its bucket's upper bound, which may lie above
        // the largest value recorded; the summary clamps it there (no sample is above the max).
        const at = (p: number) => us(Math.min(both.getValueAtPercentile(p), both.maxValue));
        expect(got).toEqual({
          count: n,
          p50: at(50),
          p90: at(90),
          p99: at(99),
          p999: at(99.9),
          max: us(both.maxValue),
          mean: n === 0 ? 0 : Math.round([...xs, ...ys].reduce((s, v) => s + v, 0) / n) / 1000,
        });
      }),
    );
  });
});
