import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { percentileDistribution } from './latency-distribution.js';

/** The rows of the library's own text output (`outputPercentileDistribution`), in us. */
function libraryRows(h: hdr.Histogram): Array<{ valueUs: number; percentile: number; count: number; inverted: number }> {
  return h
    .outputPercentileDistribution(5, 1000)
    .split('\n')
    .filter((l) => /^\s+\d/.test(l))
    .map((l) => l.trim().split(/\s+/).map(Number))
    .map(([valueUs, p, count, inverted]) => ({ valueUs, percentile: p * 100, count, inverted }));
}

describe('percentileDistribution', () => {
  it('gives the points of hdr-histogram-js outputPercentileDistribution, same values, percentiles and counts', () => {
    const rng = createRng(3);
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as hdr.JsHistogram;
    for (let i = 0; i < 50_000; i++) h.recordValue(Math.round(12_000 * Math.exp(0.5 * rng.normal()) * (rng.uniform() < 0.001 ? 30 : 1)));
    const ours = percentileDistribution(h);
    const theirs = libraryRows(h);
    expect(ours.length).toBe(theirs.length);
    expect(ours.length).toBeGreaterThan(50);
    ours.forEach((p, i) => {
      const t = theirs[i];
      expect(p.valueUs, `row ${i}`).toBeCloseTo(t.valueUs, 3);
      expect(p.percentile / 100, `row ${i}`).toBeCloseTo(t.percentile / 100, 11);
      expect(p.count, `row ${i}`).toBe(t.count);
      if (Number.isFinite(t.inverted)) expect(p.inverted, `row ${i}`).toBeCloseTo(t.inverted, 1);
    });
    expect(ours.at(-1)!.percentile).toBe(100);
    expect(ours.at(-1)!.count).toBe(50_000);
    expect(Number.isFinite(ours.at(-1)!.inverted)).toBe(true);
  });

  it('agrees with the library on any set of samples (few, repeated, spread over decades)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1e9 }), { minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 10 }), (xs, ticks) => {
        const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as hdr.JsHistogram;
        for (const x of xs) h.recordValue(x);
        const theirs = h
          .outputPercentileDistribution(ticks, 1000)
          .split('\n')
          .filter((l) => /^\s+\d/.test(l))
          .map((l) => l.trim().split(/\s+/).map(Number));
        const ours = percentileDistribution(h, ticks);
        expect(ours.map((p) => [Number(p.valueUs.toFixed(3)), Number((p.percentile / 100).toFixed(12)), p.count])).toEqual(theirs.map(([v, p, c]) => [v, p, c]));
      }),
      { numRuns: 200 },
    );
  });

  it('is empty for an empty histogram', () => {
    const h = hdr.build({ useWebAssembly: false }) as hdr.JsHistogram;
    expect(percentileDistribution(h)).toEqual([]);
  });
});
