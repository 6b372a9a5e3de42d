// The conformal thresholds against two independent statements of the same rule: the conformal
// p-value of a new score (Vovk's definition, counted by brute force), and the exact marginal
// miss probability, enumerated over every rank the new frame can take among n + 1 exchangeable
// scores.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalibrationError } from '../core/errors.js';
import { falseRateThreshold, nextUp, recallThreshold } from './conformal.js';

// Scores on a coarse grid, so ties are common (fixed-point firmware outputs tie often).
const scoresArb = fc.array(fc.integer({ min: 0, max: 40 }).map((v) => v / 40), { minLength: 1, maxLength: 120 });
const alphaArb = fc.integer({ min: 1, max: 99 }).map((v) => v / 100);

/** Every score worth probing: each calibration score, the midpoints and the ends. */
function probes(s: number[]): number[] {
  const u = [...new Set(s)].sort((a, b) => a - b);
  return [-0.01, ...u, ...u.slice(1).map((v, i) => (v + u[i]!) / 2), 1.01];
}

describe('recallThreshold', () => {
  it('fires exactly where the conformal p-value (1 + #{s_i <= s})/(n + 1) exceeds alpha', () => {
    fc.assert(
      fc.property(scoresArb, alphaArb, (s, alpha) => {
        const n = s.length;
        if (Math.floor(alpha * (n + 1) + 1e-9) < 1) {
          expect(() => recallThreshold(s, alpha, 'x')).toThrow(CalibrationError);
          return;
        }
        const t = recallThreshold(s, alpha, 'x').threshold;
        for (const x of probes(s)) {
          const p = (1 + s.filter((v) => v <= x).length) / (n + 1);
          expect(x >= t).toBe(p > alpha);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('misses a new frame with probability k/(n + 1) <= alpha over the n + 1 ranks it may take (distinct scores)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), alphaArb, (n, alpha) => {
        if (Math.floor(alpha * (n + 1) + 1e-9) < 1) return;
        // n + 1 distinct exchangeable scores 0..n: each in turn is the new frame, the rest calibrate.
        let misses = 0;
        for (let r = 0; r <= n; r++) {
          const cal = Array.from({ length: n + 1 }, (_, i) => i).filter((i) => i !== r);
          if (r < recallThreshold(cal, alpha, 'x').threshold) misses++;
        }
        const { k, bound } = recallThreshold(Array.from({ length: n }, (_, i) => i), alpha, 'x');
        expect(misses / (n + 1)).toBeCloseTo(k / (n + 1), 12);
        expect(misses / (n + 1)).toBeLessThanOrEqual(alpha + 1e-12);
        expect(bound).toBeCloseTo(1 - k / (n + 1), 12);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses too few examples with a typed error naming the need', () => {
    expect(() => recallThreshold([0.9, 0.8, 0.95], 0.05, 'WBC')).toThrow(/E_CALIBRATION at WBC: recall 0.95 needs at least 19 calibration examples/);
    expect(recallThreshold(Array.from({ length: 19 }, (_, i) => i / 19), 0.05, 'WBC').k).toBe(1);
    // 1 - 0.9 is 0.09999999999999998: still the 1st of 9 scores, as 0.1 (n + 1) = 1 means.
    expect(recallThreshold(Array.from({ length: 9 }, (_, i) => i), 1 - 0.9, 'x').k).toBe(1);
  });
});

describe('falseRateThreshold', () => {
  it('fires exactly where the conformal p-value (1 + #{s_i >= s})/(n + 1) is at most alpha', () => {
    fc.assert(
      fc.property(scoresArb, alphaArb, (s, alpha) => {
        const n = s.length;
        if (Math.ceil((1 - alpha) * (n + 1) - 1e-9) > n) {
          expect(() => falseRateThreshold(s, alpha, 'x')).toThrow(CalibrationError);
          return;
        }
        let t: number;
        try {
          t = falseRateThreshold(s, alpha, 'x').threshold;
        } catch (err) {
          // Only when the chosen score is 1 (no threshold above it is a probability).
          expect((err as Error).message).toMatch(/score is 1/);
          return;
        }
        for (const x of probes(s)) {
          const p = (1 + s.filter((v) => v >= x).length) / (n + 1);
          expect(x >= t).toBe(p <= alpha);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('fires on a new non-target frame with probability (n + 1 - k)/(n + 1) <= alpha over its n + 1 ranks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), alphaArb, (n, alpha) => {
        if (Math.ceil((1 - alpha) * (n + 1) - 1e-9) > n) return;
        const scale = 1 / (n + 2); // scores in (0, 1): none is 1
        let fires = 0;
        for (let r = 0; r <= n; r++) {
          const cal = Array.from({ length: n + 1 }, (_, i) => (i + 1) * scale).filter((_, i) => i !== r);
          if ((r + 1) * scale >= falseRateThreshold(cal, alpha, 'x').threshold) fires++;
        }
        const { k } = falseRateThreshold(Array.from({ length: n }, (_, i) => (i + 1) * scale), alpha, 'x');
        expect(fires / (n + 1)).toBeCloseTo((n + 1 - k) / (n + 1), 12);
        expect(fires / (n + 1)).toBeLessThanOrEqual(alpha + 1e-12);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses too few non-target examples, and a rate outside (0, 1)', () => {
    expect(() => falseRateThreshold(new Array(50).fill(0.1), 0.01, 'neg')).toThrow(/needs at least 99 non-target calibration examples/);
    expect(() => falseRateThreshold([0.1], 0, 'neg')).toThrow(/not strictly between 0 and 1/);
    expect(() => recallThreshold([0.1], 1, 'pos')).toThrow(/not strictly between 0 and 1/);
    expect(() => recallThreshold([Number.NaN, 0.2], 0.5, 'pos')).toThrow(/not finite/);
  });
});

describe('nextUp', () => {
  it('is the next double: no double lies strictly between x and nextUp(x)', () => {
    for (const x of [0, 0.5, 0.1, 1e-300, 0.9999999999999999, 0.010511558502912523]) {
      const y = nextUp(x);
      expect(y).toBeGreaterThan(x);
      expect((x + y) / 2 === x || (x + y) / 2 === y).toBe(true);
    }
    // A float32 score just above a float32 threshold still passes: float32 spacing is coarser.
    const f = Math.fround(0.25);
    expect(Math.fround(f + 2 ** -25) >= nextUp(f)).toBe(true);
  });
});
