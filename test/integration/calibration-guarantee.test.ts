// The split-conformal guarantee on real held-out labelled data: the BCCD test recording (945 real
// blood cells) and the synthetic lymphocyte recording (1,000 cells, a less certain model), each
// scored once by its student's firmware on the sim backend. Over 500 seeded random halvings
// into a calibration and a test part, the thresholds `calibrateThresholds` chooses on the
// calibration part are measured on the test part:
// - the mean achieved rate keeps the guarantee (recall >= 1 - alpha, false-trigger <= alpha);
// - with ties broken at random (ranks), the number of splits whose test rate breaks the target
//   matches the beta-binomial law of split-conformal coverage, computed here independently:
//   the test part's misses are BetaBinomial(m, k, n + 1 - k) for recall and its false triggers
//   BetaBinomial(m, n + 1 - k, k), where n and m are the calibration and test counts of the split;
// - on the raw scores (ties as the firmware makes them) violations are no more frequent.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreLabelledData } from '../../host/src/calibration/score-data.js';
import { calibrateThresholds, type CalibrationRequest, type LabelledScores } from '../../host/src/calibration/thresholds.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { createRng, type Rng } from '../../host/src/core/rng.js';
import { readModelCard } from '../../host/src/model/card.js';
import { REPO, ZOO } from '../support/fixtures.js';

const SPLITS = 500;
const SEED = 15_001;

async function scores(task: string, capture: string, targets: string[]): Promise<LabelledScores> {
  const cfg = validateConfig({ model: join(ZOO, task), backend: 'sim', trigger: { targets }, sinks: {} });
  return scoreLabelledData(cfg, readModelCard(join(ZOO, task)), (p) => p, join(REPO, 'hls', 'build'), { path: join(REPO, capture), split: 'val' });
}

/** P(X > limit) for X ~ BetaBinomial(m, a, b), by the pmf's ratio recurrence. */
function betaBinomialAbove(m: number, a: number, b: number, limit: number): number {
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
  const probs = new Float32Array((to - from) * c);
  const truth = new Int16Array(to - from);
  for (let j = from; j < to; j++) {
    truth[j - from] = s.truth[idx[j]!]!;
    for (let k = 0; k < c; k++) probs[(j - from) * c + k] = value(idx[j]!, k);
  }
  return { labels: s.labels, truth, probs, source: 'split' };
}

/** Ranks of every score of class column k over the pool, ties in a seeded random order, scaled into (0, 1). */
function tieBrokenRanks(s: LabelledScores, rng: Rng): (i: number, k: number) => number {
  const c = s.labels.length;
  const n = s.truth.length;
  const rank = new Float64Array(n * c);
  for (let k = 0; k < c; k++) {
    const key = Array.from({ length: n }, (_, i) => ({ i, v: s.probs[i * c + k]!, r: rng.uniform() }));
    key.sort((x, y) => x.v - y.v || x.r - y.r);
    key.forEach((e, r) => (rank[e.i * c + k] = (r + 1) / (n + 2)));
  }
  return (i, k) => rank[i * c + k]!;
}

interface Outcome {
  rates: number[];
  violations: number;
  expectedViolations: number;
  varViolations: number;
  expectedMean: number;
}

/**
 * Runs the splits for one request: the achieved rate of each test part, how many broke the
 * target, and what the beta-binomial law expects of that count and of the mean.
 */
function runSplits(s: LabelledScores, req: CalibrationRequest, targets: string[], value: (i: number, k: number) => number, rng: Rng): Outcome {
  const n = s.truth.length;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const out: Outcome = { rates: [], violations: 0, expectedViolations: 0, varViolations: 0, expectedMean: 0 };
  const half = n >> 1;
  for (let split = 0; split < SPLITS; split++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.uint32() % (i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const cal = subset(s, idx, 0, half, value);
    const test = subset(s, idx, half, n, value);
    const r = calibrateThresholds(cal, [req], targets);
    const t = r.targets[0]!;
    const cols = t.classes.map((x) => s.labels.indexOf(x));
    const c = s.labels.length;
    let m = 0;
    let hit = 0;
    for (let i = 0; i < test.truth.length; i++) {
      const isPos = t.kind === 'recall' ? test.truth[i] === cols[0] : !cols.includes(test.truth[i]!);
      if (!isPos) continue;
      m++;
      if (cols.some((k) => test.probs[i * c + k]! >= t.threshold)) hit++;
    }
    const alpha = t.kind === 'recall' ? 1 - t.target : t.target;
    // Misses (recall) or false triggers, and the most the target allows.
    const bad = t.kind === 'recall' ? m - hit : hit;
    const limit = Math.floor(alpha * m + 1e-9);
    out.rates.push(t.kind === 'recall' ? hit / m : hit / m);
    if (bad > limit) out.violations++;
    const [a, b] = t.kind === 'recall' ? [t.k, t.n + 1 - t.k] : [t.n + 1 - t.k, t.k];
    const p = betaBinomialAbove(m, a, b, limit);
    out.expectedViolations += p;
    out.varViolations += p * (1 - p);
    out.expectedMean += (t.kind === 'recall' ? 1 - t.k / (t.n + 1) : (t.n + 1 - t.k) / (t.n + 1)) / SPLITS;
  }
  return out;
}

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const sd = (x: number[]) => Math.sqrt(x.reduce((a, b) => a + (b - mean(x)) ** 2, 0) / (x.length - 1));

const CASES: Array<{ task: string; capture: string; targets: string[]; requests: CalibrationRequest[] }> = [
  { task: 'cells-bccd', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'],
    requests: [{ kind: 'recall', cls: 'WBC', recall: 0.9 }, { kind: 'recall', cls: 'Platelets', recall: 0.9 }, { kind: 'falseRate', rate: 0.05 }, { kind: 'falseRate', rate: 0.01 }] },
  { task: 'cells-lymphocyte', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'],
    requests: [{ kind: 'recall', cls: 'B', recall: 0.9 }, { kind: 'recall', cls: 'T4', recall: 0.8 }, { kind: 'falseRate', rate: 0.05 }] },
];

describe('split-conformal guarantee on real held-out scores, 500 random splits', () => {
  for (const c of CASES) {
    for (const req of c.requests) {
      const name = req.kind === 'recall' ? `recall ${req.cls} >= ${req.recall}` : `false-trigger rate <= ${req.rate} (targets ${c.targets.join(', ')})`;
      it(`${c.task}: ${name}`, async () => {
        const s = await scores(c.task, c.capture, c.targets);
        const alpha = req.kind === 'recall' ? 1 - req.recall : req.rate;
        const seed = SEED + c.requests.indexOf(req);
        const why = `seed ${seed}, ${c.task} ${name}`;
        // Ties broken at random: the exact law.
        const exact = runSplits(s, req, c.targets, tieBrokenRanks(s, createRng(seed)), createRng(seed + 1));
        const se = sd(exact.rates) / Math.sqrt(SPLITS);
        const achieved = mean(exact.rates);
        if (req.kind === 'recall') expect(achieved, why).toBeGreaterThanOrEqual(1 - alpha - 3 * se);
        else expect(achieved, why).toBeLessThanOrEqual(alpha + 3 * se);
        expect(Math.abs(achieved - exact.expectedMean), why).toBeLessThan(4 * se + 1e-9);
        const tol = 4 * Math.sqrt(exact.varViolations) + 2;
        expect(Math.abs(exact.violations - exact.expectedViolations), `${why}: ${exact.violations} violating splits, beta-binomial expects ${exact.expectedViolations.toFixed(1)}`).toBeLessThan(tol);
        // The raw scores, as the daemon uses them: ties only make the thresholds conservative.
        const raw = runSplits(s, req, c.targets, (i, k) => s.probs[i * s.labels.length + k]!, createRng(seed + 2));
        const rawSe = sd(raw.rates) / Math.sqrt(SPLITS);
        if (req.kind === 'recall') expect(mean(raw.rates), why).toBeGreaterThanOrEqual(1 - alpha - 3 * rawSe);
        else expect(mean(raw.rates), why).toBeLessThanOrEqual(alpha + 3 * rawSe);
        expect(raw.violations, `${why} (raw scores)`).toBeLessThan(raw.expectedViolations + 4 * Math.sqrt(raw.varViolations) + 2);
      }, 60_000);
    }
  }
});
