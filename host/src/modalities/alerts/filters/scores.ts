import { assert } from '../../../core/assert.js';

/**
 * What the models said about one alert, as filters see it. The pipeline fills one object and
 * reuses it (no allocation per alert); a model that did not run leaves its fields null.
 *
 * In a filter: `class` (string), `score` (number), `realbogus` (number) and the per-class
 * probabilities `p["SN Ia"]` (or `p.AGN` for a class name that is an identifier). These names
 * are reserved: a packet field of the same bare name is reached by its dotted path
 * (`candidate.score`).
 */
export interface Scores {
  /** The transient classifier's top class (a name of its card's labels). */
  class: string | null;
  /** The top class's probability. */
  score: number | null;
  /** The real/bogus student's P(real). */
  realbogus: number | null;
  /** The transient classifier's probabilities, indexed like the `classes` given to `compileFilters`. */
  probabilities: ArrayLike<number> | null;
}

/** The names filters reach scores by (besides `p`). */
export const SCORE_NAMES = ['class', 'score', 'realbogus'] as const;

/** A Scores object with every field null, to be filled per alert. */
export function emptyScores(): Scores {
  return { class: null, score: null, realbogus: null, probabilities: null };
}

/**
 * Fills `out` from a classifier's probabilities (`classes[i]` has `probs[i]`) and P(real):
 * the top class and its probability (the first on ties). `probs` is kept, not copied: the
 * caller keeps it unchanged until the alert is routed and written. Returns `out`.
 */
export function fillScores(out: Scores, classes: readonly string[], probs: ArrayLike<number> | null, realbogus: number | null): Scores {
  out.realbogus = realbogus;
  out.probabilities = probs;
  out.class = null;
  out.score = null;
  if (probs === null) return out;
  assert(probs.length === classes.length, 'one probability per class');
  let best = -1;
  for (let i = 0; i < probs.length; i++) if (best < 0 || probs[i] > probs[best]) best = i;
  if (best >= 0) {
    out.class = classes[best];
    out.score = probs[best];
  }
  return out;
}
