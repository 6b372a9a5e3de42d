/**
 * How unsure the student is about a frame, from its probabilities (`slot.probs`, which sum to
 * 1). Both run on the hot path: plain loops over the array, no allocation.
 */

/** Top-1 minus top-2 probability, in [0, 1]: 0 when the two best classes tie. One class: 1. */
export function margin(probs: ArrayLike<number>): number {
  let top1 = Number.NEGATIVE_INFINITY;
  let top2 = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < probs.length; k++) {
    const p = probs[k];
    if (p > top1) {
      top2 = top1;
      top1 = p;
    } else if (p > top2) top2 = p;
  }
  return probs.length < 2 ? 1 : top1 - top2;
}

/**
 * Shannon entropy over ln(classes), in [0, 1]: 0 when one class holds all the probability,
 * 1 when every class holds the same. A zero probability adds nothing (0 ln 0 = 0). One class: 0.
 */
export function normalisedEntropy(probs: ArrayLike<number>): number {
  const n = probs.length;
  if (n < 2) return 0;
  let h = 0;
  for (let k = 0; k < n; k++) {
    const p = probs[k];
    if (p > 0) h -= p * Math.log(p);
  }
  return h / Math.log(n);
}

/** Index of the largest probability (the first of a tie), -1 for none. */
export function argmax(xs: ArrayLike<number>): number {
  let best = xs.length > 0 ? 0 : -1;
  for (let k = 1; k < xs.length; k++) if (xs[k] > xs[best]) best = k;
  return best;
}
