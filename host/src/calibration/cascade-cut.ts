import { margin, normalisedEntropy, argmax } from '../cascade/uncertainty.js';
import { CalibrationError } from '../core/errors.js';
import { nextUp } from './conformal.js';
import type { LabelledScores } from './thresholds.js';

/**
 * The cascade's cut (host/src/cascade: a frame goes to the teacher when the student's margin is
 * below the cut, or its normalised entropy above it), chosen split-conformally from labelled
 * frames, for one of two promises a user asks:
 *
 * - `catch` r: of the frames the student gets wrong (top-1 is not the truth), the teacher sees at
 *   least r. The scores are the wrong frames' margins (entropies); with n of them,
 *   margin: cut = the next double above the k-th smallest, k = ceil(r (n + 1)), so a new wrong
 *   frame's margin is below it with probability >= k/(n + 1) >= r; entropy: cut = the next
 *   double below the k-th smallest, k = floor((1 - r)(n + 1)), so a new wrong frame's entropy
 *   is above it with probability >= 1 - k/(n + 1) >= r.
 * - `send` q: at most q of all frames go to the teacher (its load). Over all n frames,
 *   margin: cut = the k-th smallest margin, k = floor(q (n + 1)), so a new frame's margin is
 *   strictly below it with probability <= k/(n + 1) <= q; entropy: cut = the k-th smallest,
 *   k = ceil((1 - q)(n + 1)), so a new frame's entropy is strictly above it with probability
 *   <= (n + 1 - k)/(n + 1) <= q.
 *
 * Both hold on average over the draw of the calibration frames when those and the live frames
 * are exchangeable (conformal.ts); ties only make them conservative. `bound` is the guaranteed
 * rate (the catch rate's lower bound, the send rate's upper bound).
 */

export type CutRequest = { kind: 'catch'; rate: number } | { kind: 'send'; rate: number };

export interface CutCalibration {
  /** What the cut is on (the config's `cascade.cut` key). */
  on: 'margin' | 'entropy';
  /** The cut: `cascade.cut.<on>`. */
  value: number;
  promise: 'catch' | 'send';
  /** What was asked: the share of wrong frames caught, or the share of frames sent. */
  target: number;
  /** Frames the order statistic was taken over (wrong frames, or all frames), and its rank. */
  n: number;
  k: number;
  bound: number;
}

function nextDown(x: number): number {
  return -nextUp(-x);
}

/** The cut for `req` on `on` over `scores` (each frame's class probabilities); see the file's comment. */
export function calibrateCut(scores: LabelledScores, on: 'margin' | 'entropy', req: CutRequest): CutCalibration {
  const { labels, truth, probs } = scores;
  const c = labels.length;
  const flag = `--cascade-${req.kind} ${req.rate}`;
  if (!(req.rate > 0 && req.rate < 1)) throw new CalibrationError(flag, `rate ${req.rate} is not strictly between 0 and 1`);
  const u: number[] = [];
  for (let i = 0; i < truth.length; i++) {
    const p = probs.subarray(i * c, (i + 1) * c);
    if (req.kind === 'catch' && argmax(p) === truth[i]) continue;
    u.push(on === 'margin' ? margin(p) : normalisedEntropy(p));
  }
  const s = Float64Array.from(u).sort();
  const n = s.length;
  const what = req.kind === 'catch' ? `frames the student gets wrong (of ${truth.length}, ${scores.source})` : `frames (${scores.source})`;
  const tooFew = (need: number) => new CalibrationError(flag, `needs at least ${need} ${what}; the data hold ${n}: label more frames or ask for ${req.kind === 'catch' ? 'a lower catch rate' : 'a larger share'}`);
  const r = req.rate;
  // Ranks as conformal.ts takes them, with its nudge for rates like 1 - 0.9.
  const lowK = (a: number) => Math.floor(a * (n + 1) * (1 + 1e-12));
  const highK = (a: number) => Math.ceil(a * (n + 1) * (1 - 1e-12));
  let k: number;
  let value: number;
  let bound: number;
  if (req.kind === 'catch' && on === 'margin') {
    k = highK(r);
    if (k > n) throw tooFew(Math.ceil(r / (1 - r)));
    value = nextUp(s[k - 1]!);
    if (value > 1) throw new CalibrationError(flag, `the ${k}-th smallest margin of the ${what} is 1: no margin cut in [0, 1] sends it`);
    bound = k / (n + 1);
  } else if (req.kind === 'catch') {
    k = lowK(1 - r);
    if (k < 1) throw tooFew(Math.ceil(1 / (1 - r) - 1));
    if (s[k - 1]! <= 0) throw new CalibrationError(flag, `the ${k}-th smallest entropy of the ${what} is 0: no entropy cut sends it (send every frame, or cut on the margin)`);
    value = nextDown(s[k - 1]!);
    bound = 1 - k / (n + 1);
  } else if (on === 'margin') {
    k = lowK(r);
    if (k < 1) throw tooFew(Math.ceil(1 / r - 1));
    value = s[k - 1]!;
    bound = k / (n + 1);
  } else {
    k = highK(1 - r);
    if (k > n) throw tooFew(Math.ceil((1 - r) / r));
    value = s[k - 1]!;
    bound = (n + 1 - k) / (n + 1);
  }
  return { on, value, promise: req.kind, target: r, n, k, bound };
}

/** `the student's wrong frames reach the teacher >= 0.9` / `frames sent to the teacher <= 0.1`. */
export function describeCut(c: CutCalibration): string {
  return c.promise === 'catch' ? `cascade cut ${c.on} ${c.value}: the student's wrong frames reach the teacher >= ${c.target} (guaranteed >= ${c.bound.toFixed(4)}; ${c.k}-th of ${c.n} wrong frames)` : `cascade cut ${c.on} ${c.value}: frames sent to the teacher <= ${c.target} (guaranteed <= ${c.bound.toFixed(4)}; ${c.k}-th of ${c.n} frames)`;
}

/** The share of labelled frames a cut sends (promise `send`) or of wrong frames it catches (`catch`): an in-sample or held-out measure. */
export function cutRate(scores: LabelledScores, c: CutCalibration): number {
  const k = scores.labels.length;
  let n = 0;
  let sent = 0;
  for (let i = 0; i < scores.truth.length; i++) {
    const p = scores.probs.subarray(i * k, (i + 1) * k);
    if (c.promise === 'catch' && argmax(p) === scores.truth[i]) continue;
    n++;
    if (c.on === 'margin' ? margin(p) < c.value : normalisedEntropy(p) > c.value) sent++;
  }
  return n > 0 ? sent / n : 0;
}
