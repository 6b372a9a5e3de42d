// The cascade cut's split-conformal promise over 500 random halvings (calibration-cut.ts):
// - `send` (at most q of the frames go to the teacher) on the real BCCD test recording (945
//   real blood cells, the student's firmware on sim);
// - `catch` (at least r of the frames the student gets wrong go to the teacher) on the
//   labelled light curves of the alert export (the transient student is wrong on about 40% of
//   them; the BCCD student on 4 cells of 945, too few to promise anything).
// Each frame's margin (or entropy) is computed once; each split calibrates the cut on one half
// and counts on the other the frames sent (or the wrong frames missed). With ties broken at
// random the count of splits that break the promise matches the beta-binomial law (the bad
// count of the m test frames is BetaBinomial(m, a, n + 1 - a), a/(n + 1) the bad rate the
// bound allows), and the mean keeps the promise.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibratePipeline } from '../../host/src/calibration/calibrate-pipeline.js';
import { calibrateCut, type CutRequest } from '../../host/src/calibration/cascade-cut.js';
import { scoreLabelledData } from '../../host/src/calibration/score-data.js';
import type { LabelledScores } from '../../host/src/calibration/thresholds.js';
import { margin, normalisedEntropy } from '../../host/src/cascade/uncertainty.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { createRng, type Rng } from '../../host/src/core/rng.js';
import { readModelCard } from '../../host/src/model/card.js';
import { writeLightCurveDataset } from '../../sim/src/lightcurves/dataset.js';
import { betaBinomialAbove, mean, sd } from '../support/conformal-splits.js';
import { REPO, tempDir, ZOO } from '../support/fixtures.js';

const SPLITS = 500;
const FIRMWARE = join(REPO, 'hls', 'build');

async function scores(task: string, data: string, split = 'val'): Promise<LabelledScores> {
  const cfg = validateConfig({ model: join(ZOO, task), backend: 'sim', trigger: {}, sinks: {} });
  return scoreLabelledData(cfg, readModelCard(join(ZOO, task)), (p) => p, FIRMWARE, { path: data, split });
}

/** Each frame's uncertainty and whether the student is wrong on it (top-1, first of a tie, is not the truth). */
function perFrame(s: LabelledScores, on: 'margin' | 'entropy'): { u: number[]; wrong: boolean[] } {
  const c = s.labels.length;
  const u: number[] = [];
  const wrong: boolean[] = [];
  for (let i = 0; i < s.truth.length; i++) {
    const p = Array.from(s.probs.subarray(i * c, (i + 1) * c));
    u.push(on === 'margin' ? margin(p) : normalisedEntropy(p));
    wrong.push(p.indexOf(Math.max(...p)) !== s.truth[i]);
  }
  return { u, wrong };
}

/** Two-class probabilities whose margin (or entropy) is increasing in v in (0, 1), with class 0 on top: a frame the student gets wrong has truth 1. */
function twoClass(v: number, on: 'margin' | 'entropy'): [number, number] {
  return on === 'margin' ? [(1 + v) / 2, (1 - v) / 2] : [1 - v / 2, v / 2];
}

function runSplits(u: number[], wrong: boolean[], on: 'margin' | 'entropy', req: CutRequest, rng: Rng) {
  const n = u.length;
  // Ties broken at random: each score replaced by its rank (a seeded random order among equals),
  // then by two-class probabilities whose margin (entropy) keeps that order.
  const key = u.map((x, i) => ({ i, x, r: rng.uniform() })).sort((a, b) => a.x - b.x || a.r - b.r);
  const v = new Array<number>(n);
  key.forEach((e, r) => (v[e.i] = (r + 1) / (n + 2)));
  const idx = Array.from({ length: n }, (_, i) => i);
  const half = n >> 1;
  const out = { rates: [] as number[], violations: 0, expected: 0, variance: 0 };
  const part = (from: number, to: number): LabelledScores => {
    const probs = new Float64Array((to - from) * 2);
    const truth = new Int16Array(to - from);
    for (let j = from; j < to; j++) {
      probs.set(twoClass(v[idx[j]!]!, on), (j - from) * 2);
      truth[j - from] = wrong[idx[j]!] ? 1 : 0;
    }
    return { labels: ['top', 'other'], truth, probs, source: 'split' };
  };
  for (let s = 0; s < SPLITS; s++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.uint32() % (i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const cut = calibrateCut(part(0, half), on, req);
    let m = 0;
    let bad = 0;
    for (let j = half; j < n; j++) {
      const i = idx[j]!;
      if (req.kind === 'catch' && !wrong[i]) continue;
      m++;
      const x = on === 'margin' ? margin(twoClass(v[i]!, on)) : normalisedEntropy(twoClass(v[i]!, on));
      const sent = on === 'margin' ? x < cut.value : x > cut.value;
      if (req.kind === 'catch' ? !sent : sent) bad++;
    }
    const badRate = req.kind === 'catch' ? 1 - req.rate : req.rate;
    out.rates.push(req.kind === 'catch' ? 1 - bad / m : bad / m);
    if (bad > Math.floor(badRate * m + 1e-9)) out.violations++;
    const a = Math.round((req.kind === 'catch' ? 1 - cut.bound : cut.bound) * (cut.n + 1));
    const p = betaBinomialAbove(m, a, cut.n + 1 - a, Math.floor(badRate * m + 1e-9));
    out.expected += p;
    out.variance += p * (1 - p);
  }
  return out;
}

function check(u: number[], wrong: boolean[], on: 'margin' | 'entropy', req: CutRequest, seed: number): void {
  const why = `seed ${seed}, ${req.kind} ${req.rate} on the ${on}`;
  const exact = runSplits(u, wrong, on, req, createRng(seed));
  const se = sd(exact.rates) / Math.sqrt(SPLITS);
  if (req.kind === 'catch') expect(mean(exact.rates), why).toBeGreaterThanOrEqual(req.rate - 3 * se);
  else expect(mean(exact.rates), why).toBeLessThanOrEqual(req.rate + 3 * se);
  expect(Math.abs(exact.violations - exact.expected), `${why}: ${exact.violations} violating splits, beta-binomial expects ${exact.expected.toFixed(1)}`).toBeLessThan(4 * Math.sqrt(exact.variance) + 2);
}

describe("the cascade cut's split-conformal promise, 500 random splits", () => {
  it('send: at most q of the real BCCD cells go to the teacher (margin and entropy)', async () => {
    const s = await scores('cells-bccd', join(REPO, 'sim/recordings/cells-bccd-test.arrows'));
    for (const [j, on] of (['margin', 'entropy'] as const).entries()) {
      const { u, wrong } = perFrame(s, on);
      check(u, wrong, on, { kind: 'send', rate: 0.1 }, 15_201 + j);
      check(u, wrong, on, { kind: 'send', rate: 0.02 }, 15_203 + j);
    }
  }, 120_000);

  it("catch: at least r of the transient student's wrong light curves go to the teacher (margin and entropy)", async () => {
    const dir = tempDir('cut-guarantee');
    writeLightCurveDataset(dir, 1, { train: 1, val: 1400, test: 1 });
    const s = await scores('alerts-transient', dir);
    for (const [j, on] of (['margin', 'entropy'] as const).entries()) {
      const { u, wrong } = perFrame(s, on);
      expect(wrong.filter(Boolean).length).toBeGreaterThan(200);
      check(u, wrong, on, { kind: 'catch', rate: 0.9 }, 15_211 + j);
      check(u, wrong, on, { kind: 'catch', rate: 0.8 }, 15_213 + j);
    }
  }, 120_000);
});

describe('a calibrated cut in the daemon', () => {
  it('counts, on a labelled replay, the share of frames it sends as calibrate measured it on the same frames', async () => {
    const dir = tempDir('cut-daemon');
    const capture = join(REPO, 'sim/recordings/cells-bccd-test.arrows');
    const config = join(dir, 'cells-cascade.yaml');
    writeFileSync(config, `model: ${join(ZOO, 'cells-bccd')}\nbackend: sim\nbudgetUs: 10000000\nsource: {kind: replay, path: ${capture}, pacing: max}\ntrigger: {targets: [WBC]}\ncascade: {model: ${join(ZOO, 'cells-bccd')}, cut: {margin: 0.5}, queueFrames: 1024}\nsinks: {}\nserver: {enabled: false}\n`);
    const r = await calibratePipeline({ config, data: { path: capture, split: 'val' }, requests: [], cascadeCut: { kind: 'send', rate: 0.05 }, out: join(dir, 'cells-send5.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const d = await createDaemon(loadConfigFile(r.config), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: dir, firmwareDir: FIRMWARE, onBug: (e) => { throw e; } });
    d.start();
    await d.sourceDone;
    await d.stop();
    const snap = d.view.snapshot();
    const n = r.scores.truth.length;
    expect(snap.calibration!.cascade).toMatchObject({ on: 'margin', promise: 'send', cut: r.cut!.calibration.value, frames: n, sent: Math.round(r.cut!.inSample * n) });
    expect(snap.cascade).toMatchObject({ cutKind: 'margin', cut: r.cut!.calibration.value, unsure: Math.round(r.cut!.inSample * n) });
  }, 120_000);
});

