// The KS statistic against a brute-force evaluation of both empirical CDFs, the Kolmogorov
// tail against published critical values and against Jacobi's other series for the same
// function, and the two-sample p-value's size under the null on seeded samples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { kolmogorovQ, ksPValue, ksStatistic } from './ks.js';

/** sup |F_a - F_b| evaluated at every point of either sample (the sup is reached at one). */
function bruteD(a: number[], b: number[]): number {
  const cdf = (s: number[], x: number) => s.filter((v) => v <= x).length / s.length;
  return Math.max(0, ...[...a, ...b].map((x) => Math.abs(cdf(a, x) - cdf(b, x))));
}

describe('ksStatistic', () => {
  it('equals the brute-force sup distance, ties included', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 12 }).map((v) => v / 12), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const sa = Float64Array.from(a).sort();
        const sb = Float64Array.from(b).sort();
        expect(ksStatistic(sa, sa.length, sb, sb.length)).toBeCloseTo(bruteD(a, b), 12);
      }),
      { numRuns: 500 },
    );
  });

  it('reads only the first na and nb values (a window inside a larger buffer)', () => {
    const a = Float64Array.of(0.1, 0.2, 0.3, 9, 9);
    const b = Float64Array.of(0.15, 0.25, 0.35);
    expect(ksStatistic(a, 3, b, 3)).toBeCloseTo(bruteD([0.1, 0.2, 0.3], [0.15, 0.25, 0.35]), 12);
    expect(ksStatistic(a, 0, b, 3)).toBe(0);
  });
});

describe('kolmogorovQ', () => {
  it("matches the published two-sample critical values c(alpha) (Smirnov 1948's table, as in every KS table)", () => {
    // c(alpha): 0.10 -> 1.224, 0.05 -> 1.358, 0.025 -> 1.480, 0.01 -> 1.628, 0.005 -> 1.731, 0.001 -> 1.949.
    const table: Array<[number, number]> = [[1.224, 0.1], [1.358, 0.05], [1.48, 0.025], [1.628, 0.01], [1.731, 0.005], [1.949, 0.001]];
    for (const [c, alpha] of table) expect(Math.abs(kolmogorovQ(c) - alpha) / alpha).toBeLessThan(0.004);
  });

  it("agrees with Jacobi's form 1 - sqrt(2 pi)/x sum exp(-(2k-1)^2 pi^2 / (8 x^2)) to 1e-12", () => {
    for (let x = 0.3; x <= 3; x += 0.05) {
      let s = 0;
      for (let k = 1; k <= 50; k++) s += Math.exp(-((2 * k - 1) ** 2) * Math.PI ** 2 / (8 * x * x));
      expect(kolmogorovQ(x)).toBeCloseTo(1 - (Math.sqrt(2 * Math.PI) / x) * s, 12);
    }
    expect(kolmogorovQ(0.1)).toBe(1);
    expect(kolmogorovQ(10)).toBeLessThan(1e-80);
  });
});

describe('ksPValue', () => {
  it('rejects samples of one distribution at about its level (seeded, 4,000 pairs each)', () => {
    const rng = createRng(20261207);
    for (const [n, m] of [[300, 945], [50, 80], [1000, 1000]] as const) {
      let at05 = 0;
      let at01 = 0;
      const trials = 4000;
      const a = new Float64Array(n);
      const b = new Float64Array(m);
      for (let t = 0; t < trials; t++) {
        rng.fillUniform(a, n);
        rng.fillUniform(b, m);
        const p = ksPValue(ksStatistic(a.sort(), n, b.sort(), m), n, m);
        if (p < 0.05) at05++;
        if (p < 0.01) at01++;
      }
      // Binomial sd at 4,000 trials: 0.0034 at 0.05, 0.0016 at 0.01; the asymptotic p-value of
      // a discrete D is a little off at these sizes, so 4 sd plus 0.005.
      expect(Math.abs(at05 / trials - 0.05), `n ${n} m ${m} seed 20261207`).toBeLessThan(0.0186);
      expect(Math.abs(at01 / trials - 0.01), `n ${n} m ${m} seed 20261207`).toBeLessThan(0.0114);
    }
  });

  it('is tiny for a clear shift and 1 for identical samples', () => {
    const a = Float64Array.from({ length: 500 }, (_, i) => i / 500);
    const b = Float64Array.from({ length: 500 }, (_, i) => 0.2 + i / 500);
    expect(ksPValue(ksStatistic(a, 500, b, 500), 500, 500)).toBeLessThan(1e-8);
    expect(ksPValue(ksStatistic(a, 500, a, 500), 500, 500)).toBe(1);
  });
});
