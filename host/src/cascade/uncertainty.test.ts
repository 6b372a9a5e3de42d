// Margin and entropy against an independent calculation: a sorted copy for the margin, and
// the entropy in bits by log2 divided by log2 of the class count (the code uses ln).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argmax, margin, normalisedEntropy } from './uncertainty.js';

/** Probabilities over 1..12 classes: positive weights normalised (some exactly 0). */
const probabilities = fc
  .array(fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 1, noNaN: true })), { minLength: 1, maxLength: 12 })
  .filter((w) => w.some((x) => x > 0))
  .map((w) => {
    const s = w.reduce((a, b) => a + b, 0);
    return Float32Array.from(w, (x) => x / s);
  });

describe('uncertainty of the student', () => {
  it('margin is the top-1 minus the top-2 probability of a sorted copy (1 for one class)', () => {
    fc.assert(
      fc.property(probabilities, (p) => {
        const sorted = Array.from(p).sort((a, b) => b - a);
        const want = sorted.length < 2 ? 1 : sorted[0]! - sorted[1]!;
        expect(margin(p)).toBeCloseTo(want, 12);
      }),
      { seed: 15, numRuns: 500 },
    );
  });

  it('normalised entropy is the entropy in bits over log2(classes), in [0, 1]', () => {
    fc.assert(
      fc.property(probabilities, (p) => {
        const bits = Array.from(p).filter((x) => x > 0).reduce((h, x) => h - x * Math.log2(x), 0);
        const want = p.length < 2 ? 0 : bits / Math.log2(p.length);
        const got = normalisedEntropy(p);
        expect(got).toBeCloseTo(want, 9);
        expect(got).toBeGreaterThanOrEqual(-1e-12);
        expect(got).toBeLessThanOrEqual(1 + 1e-6);
      }),
      { seed: 15, numRuns: 500 },
    );
  });

  it('known points: a tie, a certain class, the uniform distribution', () => {
    expect(margin([0.4, 0.4, 0.2])).toBe(0);
    expect(margin([0, 1, 0])).toBe(1);
    expect(normalisedEntropy([0, 1, 0])).toBe(0);
    expect(normalisedEntropy([0.25, 0.25, 0.25, 0.25])).toBeCloseTo(1, 15);
    expect(argmax([0.2, 0.5, 0.5])).toBe(1);
    expect(argmax([])).toBe(-1);
  });
});
