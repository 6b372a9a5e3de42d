import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { BlockedHistogram, summariseBlocked, summariseUs } from './latency-summary.js';

const build = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });
const values = fc.array(fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 1e10 })), { maxLength: 300 });

/** The library's own summary of the sum of `hs`, in us, percentiles clamped at the max. */
function reference(hs: hdr.Histogram[], values: number[]) {
  const both = build();
  hs.forEach((h) => both.add(h));
  const n = values.length;
  const us = (ns: number) => (n === 0 ? 0 : Math.round(ns) / 1000);
  const at = (p: number) => us(Math.min(both.getValueAtPercentile(p), both.maxValue));
  const mean = n === 0 ? 0 : Math.round(values.reduce((s, v) => s + v, 0) / n) / 1000;
  return { count: n, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: us(both.maxValue), mean };
}

describe('summariseUs', () => {
  it('equals the library on one, two and three histograms reused after a reset (the walk starts at their smallest value)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(values, values), { minLength: 1, maxLength: 3 }), fc.boolean(), (pairs, viaCount) => {
        const hs = pairs.map(([before, after]) => {
          const h = build();
          before.forEach((v) => h.recordValue(v)); // forgotten: the minimum must not stick
          h.reset();
          after.forEach((v) => (viaCount ? h.recordValueWithCount(v, 1) : h.recordValue(v)));
          return h;
        });
        const all = pairs.flatMap(([, after]) => after);
        expect(summariseUs(hs, all.reduce((s, v) => s + v, 0))).toEqual(reference(hs, all));
      }),
    );
  });


  it('of blocked histograms (whole blocks skipped) equals the library on one, two and three histograms with counts, reused after a reset', () => {
    // Values clustered in a few places over the whole range, so that most blocks are empty,
    // some ranks fall on a block's first or last bucket, and bucket 0 holds counts.
    const clustered = fc.array(fc.tuple(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 200_000, max: 260_000 }), fc.integer({ min: 0, max: 1e10 })), fc.integer({ min: 1, max: 40 })), { maxLength: 200 });
    fc.assert(
      fc.property(fc.array(fc.tuple(clustered, clustered), { minLength: 1, maxLength: 3 }), (pairs) => {
        const plain: hdr.Histogram[] = [];
        const blocked = pairs.map(([before, after]) => {
          const b = new BlockedHistogram(build());
          for (const [v, c] of before) b.recordValueWithCount(v, c);
          b.reset(); // forgotten, blocks and sum included
          const h = build();
          for (const [v, c] of after) {
            b.recordValueWithCount(v, c);
            b.sumNs += v * c;
            h.recordValueWithCount(v, c);
          }
          plain.push(h);
          return b;
        });
        const all = pairs.flatMap(([, after]) => after.flatMap(([v, c]) => new Array<number>(c).fill(v)));
        expect(summariseBlocked(blocked)).toEqual(reference(plain, all));
        // A reset (which clears only the blocks holding counts) leaves every count zero.
        for (const b of blocked) {
          b.reset();
          expect(Array.from((b.h as unknown as { _counts: Int32Array })._counts).every((c) => c === 0)).toBe(true);
          expect(b.h.totalCount).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

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
