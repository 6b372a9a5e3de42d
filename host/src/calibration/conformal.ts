/**
 * Split-conformal thresholds with the finite-sample correction.
 *
 * The guarantee (Vovk et al. 2005; Angelopoulos & Bates 2021, "A gentle introduction to
 * conformal prediction", section 1 and appendix D): let the n calibration scores and the score
 * of one new frame be exchangeable (drawn i.i.d. from one distribution is enough: the same
 * sensor, model, preprocessing and class mix as the stream the threshold will be used on).
 * Then, over the draw of the calibration set *and* the new frame together,
 *
 * - recall: with t = the k-th smallest target-class score, k = floor(alpha (n + 1)),
 *   P(score_new >= t | class = target) >= 1 - k/(n + 1) >= 1 - alpha;
 * - false trigger: with k = ceil((1 - alpha)(n + 1)) and firing on score > s_(k) (the k-th
 *   smallest non-target score), P(score_new > s_(k) | class = non-target) <= 1 - k/(n + 1) <= alpha.
 *
 * The guarantee is *marginal*: it averages over calibration sets. For one fixed calibration
 * set the achieved rate is itself random, Beta(k, n + 1 - k) distributed when scores have no
 * ties (a miss rate above alpha on a long stream happens with the probability that Beta puts
 * above alpha; `docs/calibration.md` gives the numbers). Ties only make both thresholds
 * conservative. Nothing is promised when the stream drifts away from the calibration data:
 * that is what the daemon's drift watch (`drift.ts`) looks for.
 */
import { CalibrationError } from '../core/errors.js';

/** A threshold and the facts behind its guarantee. */
export interface ConformalThreshold {
  /** Fire when the score is >= this. */
  threshold: number;
  /** Calibration scores it was chosen from. */
  n: number;
  /** Rank (1-based) of the order statistic used. */
  k: number;
  /**
   * The bound the finite-sample correction actually gives: for recall 1 - k/(n+1) (>= the
   * target), for a false-trigger rate (n + 1 - k)/(n + 1) (<= the target).
   */
  bound: number;
}

/** Checks that alpha is a rate strictly between 0 and 1; a CalibrationError names `where`. */
function checkAlpha(alpha: number, where: string): void {
  if (!(alpha > 0 && alpha < 1)) throw new CalibrationError(where, `rate ${alpha} is not strictly between 0 and 1`);
}

/** The scores sorted ascending in a new array (the caller's array is left alone). */
function sortedCopy(scores: ArrayLike<number>, where: string): Float64Array {
  const s = Float64Array.from(scores);
  for (let i = 0; i < s.length; i++) if (!Number.isFinite(s[i])) throw new CalibrationError(where, `score ${s[i]} at index ${i} is not finite`);
  return s.sort();
}

/**
 * The threshold that keeps a class's recall at least `1 - alpha`: the
 * `floor(alpha (n + 1))`-th smallest of `targetScores` (the class's score on calibration frames
 * of that class). Throws CalibrationError naming `where` when `k` is 0, i.e. n < 1/alpha - 1:
 * too few examples to promise anything short of firing on every frame.
 */
export function recallThreshold(targetScores: ArrayLike<number>, alpha: number, where: string): ConformalThreshold {
  checkAlpha(alpha, where);
  const s = sortedCopy(targetScores, where);
  const n = s.length;
  // A rate given as 1 - 0.9 is 0.09999999999999998 in binary: a relative nudge of 1e-12 keeps
  // floor(alpha (n + 1)) at the integer the user meant.
  const k = Math.floor(alpha * (n + 1) * (1 + 1e-12));
  if (k < 1) {
    const need = Math.ceil(1 / alpha - 1);
    throw new CalibrationError(where, `recall ${1 - alpha} needs at least ${need} calibration examples of the class (n >= 1/alpha - 1); the data hold ${n}: label more of them or ask for a lower recall (at most ${n === 0 ? 'none' : (1 - 1 / (n + 1)).toFixed(4)})`);
  }
  return { threshold: s[k - 1]!, n, k, bound: 1 - k / (n + 1) };
}

/**
 * The threshold that keeps the false-trigger rate over non-target frames at most `alpha`:
 * fire when the score is strictly above the `ceil((1 - alpha)(n + 1))`-th smallest of
 * `nonTargetScores`; the returned threshold is the next double above that score, so the
 * policy's `>=` fires exactly on the scores above it. Throws CalibrationError naming `where`
 * when that rank exceeds n, i.e. n < (1 - alpha)/alpha, or when the score is already 1.
 */
export function falseRateThreshold(nonTargetScores: ArrayLike<number>, alpha: number, where: string): ConformalThreshold {
  checkAlpha(alpha, where);
  const s = sortedCopy(nonTargetScores, where);
  const n = s.length;
  // The same nudge as in recallThreshold, the other way.
  const k = Math.ceil((1 - alpha) * (n + 1) * (1 - 1e-12));
  if (k > n) {
    const need = Math.ceil((1 - alpha) / alpha);
    throw new CalibrationError(where, `a false-trigger rate of ${alpha} needs at least ${need} non-target calibration examples (n >= (1 - alpha)/alpha); the data hold ${n}: label more or ask for a rate of at least ${(1 / (n + 1)).toPrecision(3)}`);
  }
  const t = nextUp(s[k - 1]!);
  if (t > 1) throw new CalibrationError(where, `the ${k}-th smallest non-target score is 1: no probability threshold keeps the false-trigger rate at ${alpha}`);
  return { threshold: t, n, k, bound: (n + 1 - k) / (n + 1) };
}

/** The smallest double above x (x finite). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const bits = b.getBigUint64(0);
  b.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return b.getFloat64(0);
}
