import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { HotCounts } from './hot-counts.js';

const histogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });

describe('HotCounts', () => {
  it('drained into HDR, gives the percentiles of recording directly within 0.1% (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 1000, max: 100_000 })), { minLength: 1, maxLength: 400 }),
      (values) => {
        const counts = new HotCounts();
        const direct = histogram();
        for (const v of values) {
          counts.record(v);
          direct.recordValue(v);
        }
        const viaCounts = histogram();
        counts.drainInto(viaCounts);
        expect(viaCounts.totalCount).toBe(values.length);
        expect(counts.total).toBe(0);
        for (const p of [0, 10, 50, 90, 99, 99.9, 100]) {
          const a = viaCounts.getValueAtPercentile(p);
          const b = direct.getValueAtPercentile(p);
          expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.max(1, b * 1e-3));
        }
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
});
