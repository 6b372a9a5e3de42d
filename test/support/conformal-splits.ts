// The random-split check of the split-conformal guarantee, shared by the calibration guarantee
// tests (cells, keywords): score a labelled pool once, then over many seeded halvings into a
// calibration and a test part, calibrate on one and measure on the other, and compare the count
// of splits that broke the target with the beta-binomial law of split-conformal coverage,
// computed here independently of host/src/calibration:
// the test part's misses are BetaBinomial(m, k, n + 1 - k) for a recall and its false triggers
// BetaBinomial(m, n + 1 - k, k) for a rate, where n and m are the calibration and test counts.
import { calibrateThresholds, type CalibrationRequest, type LabelledScores } from '../../host/src/calibration/thresholds.js';
import type { Rng } from '../../host/src/core/rng.js';

/** P(X > limit) for X ~ BetaBinomial(m, a, b), by the pmf's ratio recurrence. */
export function betaBinomialAbove(m: number, a: number, b: number, limit: number): number {
  let p = 1;
  for (let i = 0; i < m; i++) p *= (b + i) / (a + b + i); // pmf(0) = B(a, m + b)/B(a, b)
  let below = 0;
  for (let j = 0; j <= m; j++) {
    if (j <= limit) below += p;
    p *= ((m - j) / (j + 1)) * ((a + j) / (m - j - 1 + b));
  }
  return Math.max(0, 1 - below);
}

/** The rows of `s` at `idx`, with each score replaced by `value(i, k)`. */
function subset(s: LabelledScores, idx: Int32Array, from: number, to: number, value: (i: number, k: number) => number): LabelledScores {
  const c = s.labels.length;
  const probs = new Float64Array((to - from) * c);
  const truth = new Int16Array(to - from);
  for (let j = from; j < to; j++) {
    truth[j - from] = s.truth[idx[j]!]!;
    for (let k = 0; k < c; k++) probs[(j - from) * c + k] = value(idx[j]!, k);
  }
  return { labels: s.labels, truth, probs, source: 'split' };
}

/**
 * Ranks of every score of the pool (all classes together, so comparisons across classes are
 * kept: a target recall compares each frame's own class), ties in a seeded random order,
 * scaled into (0, 1): a monotone map of the scores with no ties, under which the law is exact.
 */
export function tieBrokenRanks(s: LabelledScores, rng: Rng): (i: number, k: number) => number {
  const all = s.probs.length;
  const key = Array.from({ length: all }, (_, j) => ({ j, v: s.probs[j]!, r: rng.uniform() }));
  key.sort((x, y) => x.v - y.v || x.r - y.r);
  const rank = new Float64Array(all);
  key.forEach((e, r) => (rank[e.j] = (r + 1) / (all + 2)));
  const c = s.labels.length;
  return (i, k) => rank[i * c + k]!;
}

export interface Outcome {
  rates: number[];
  violations: number;
  expectedViolations: number;
  varViolations: number;
  expectedMean: number;
}

/**
 * Runs `splits` halvings for one request: the achieved rate of each test part, how many broke
 * the target, and what the beta-binomial law expects of that count and of the mean. The rate is
 * counted from the target's meaning (calibration-file.ts), not from the code that chose it: a
 * recall over frames of its classes on their own class's score, a false-trigger rate over
 * frames of none of its classes on any of theirs.
 */
export function runSplits(s: LabelledScores, req: CalibrationRequest, targets: string[], value: (i: number, k: number) => number, rng: Rng, splits: number): Outcome {
  const n = s.truth.length;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const out: Outcome = { rates: [], violations: 0, expectedViolations: 0, varViolations: 0, expectedMean: 0 };
  const half = n >> 1;
  const c = s.labels.length;
  for (let split = 0; split < splits; split++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.uint32() % (i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const cal = subset(s, idx, 0, half, value);
    const test = subset(s, idx, half, n, value);
    const t = calibrateThresholds(cal, [req], targets).targets[0]!;
    const cols = t.classes.map((x) => s.labels.indexOf(x));
    let m = 0;
    let hit = 0;
    for (let i = 0; i < test.truth.length; i++) {
      const truth = test.truth[i]!;
      if (t.kind === 'recall' ? !cols.includes(truth) : cols.includes(truth)) continue;
      m++;
      if (t.kind === 'recall' ? test.probs[i * c + truth]! >= t.threshold : cols.some((k) => test.probs[i * c + k]! >= t.threshold)) hit++;
    }
    const alpha = t.kind === 'recall' ? 1 - t.target : t.target;
    // Misses (recall) or false triggers, and the most the target allows.
    const bad = t.kind === 'recall' ? m - hit : hit;
    const limit = Math.floor(alpha * m + 1e-9);
    out.rates.push(hit / m);
    if (bad > limit) out.violations++;
    const [a, b] = t.kind === 'recall' ? [t.k, t.n + 1 - t.k] : [t.n + 1 - t.k, t.k];
    const p = betaBinomialAbove(m, a, b, limit);
    out.expectedViolations += p;
    out.varViolations += p * (1 - p);
    out.expectedMean += (t.kind === 'recall' ? 1 - t.k / (t.n + 1) : (t.n + 1 - t.k) / (t.n + 1)) / splits;
  }
  return out;
}

export const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
export const sd = (x: number[]) => Math.sqrt(x.reduce((a, b) => a + (b - mean(x)) ** 2, 0) / (x.length - 1));

/** What a request promises, in words, and its alpha (the miss rate or the false-trigger rate). */
export function describeRequest(req: CalibrationRequest, targets: readonly string[]): { name: string; alpha: number; isRecall: boolean } {
  if (req.kind === 'recall') return { name: `recall ${req.cls} >= ${req.recall}`, alpha: 1 - req.recall, isRecall: true };
  if (req.kind === 'recallTargets') return { name: `recall of the targets together >= ${req.recall}`, alpha: 1 - req.recall, isRecall: true };
  return { name: req.cls === undefined ? `false-trigger rate <= ${req.rate} (targets ${targets.join(', ')})` : `false-trigger rate of ${req.cls} <= ${req.rate} over other classes`, alpha: req.rate, isRecall: false };
}

/**
 * The checks of one request on a pool (expect is the caller's vitest `expect`): with ties
 * broken at random the mean keeps the promise, sits on the law's mean, and the violating splits
 * match the law; on the raw scores (ties as the model makes them) the mean keeps the promise
 * and violations are no more frequent.
 */
export function checkGuarantee(expect: (v: unknown, why?: string) => any, s: LabelledScores, req: CalibrationRequest, targets: string[], seed: number, splits: number, rngOf: (seed: number) => Rng): void {
  const { name, alpha, isRecall } = describeRequest(req, targets);
  const why = `seed ${seed}, ${name}`;
  const exact = runSplits(s, req, targets, tieBrokenRanks(s, rngOf(seed)), rngOf(seed + 1), splits);
  const se = sd(exact.rates) / Math.sqrt(splits);
  const achieved = mean(exact.rates);
  if (isRecall) expect(achieved, why).toBeGreaterThanOrEqual(1 - alpha - 3 * se);
  else expect(achieved, why).toBeLessThanOrEqual(alpha + 3 * se);
  expect(Math.abs(achieved - exact.expectedMean), why).toBeLessThan(4 * se + 1e-9);
  const tol = 4 * Math.sqrt(exact.varViolations) + 2;
  expect(Math.abs(exact.violations - exact.expectedViolations), `${why}: ${exact.violations} violating splits, beta-binomial expects ${exact.expectedViolations.toFixed(1)}`).toBeLessThan(tol);
  const raw = runSplits(s, req, targets, (i, k) => s.probs[i * s.labels.length + k]!, rngOf(seed + 2), splits);
  const rawSe = sd(raw.rates) / Math.sqrt(splits);
  if (isRecall) expect(mean(raw.rates), why).toBeGreaterThanOrEqual(1 - alpha - 3 * rawSe);
  else expect(mean(raw.rates), why).toBeLessThanOrEqual(alpha + 3 * rawSe);
  expect(raw.violations, `${why} (raw scores)`).toBeLessThan(raw.expectedViolations + 4 * Math.sqrt(raw.varViolations) + 2);
}
