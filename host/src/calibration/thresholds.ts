import { CalibrationError } from '../core/errors.js';
import { falseRateThreshold, recallThreshold } from './conformal.js';
import type { CalibrationTarget } from './calibration-file.js';
import { REFERENCE_SCORES_MAX } from './calibration-file.js';

/** A model's probabilities on labelled frames: what a calibration is computed from. */
export interface LabelledScores {
  /** The model's class labels. */
  labels: readonly string[];
  /** Class index of each frame's truth (frames without a label are left out before). */
  truth: Int16Array;
  /** Probabilities, frame after frame, `labels.length` each (as the policy sees them: float32;
   * a keyword clip's peak smoothed probabilities are the detector's float64 means). */
  probs: Float32Array | Float64Array;
  /** Where the frames came from, for the file and reports. */
  source: string;
  /** The drift reference when it is not each frame's top score: a stream's per-hop top
   * probability over the calibration clips' hops, sorted (score-keywords.ts). */
  hopTop?: Float64Array;
  /** A stream's per-hop probabilities over the same hops, `labels.length` each (the keyword
   * cascade's unit): what a `send` cut is calibrated on. */
  hopProbs?: Float32Array;
}

/** What a user asks for. */
export type CalibrationRequest =
  /** One class's recall: its own threshold. */
  | { kind: 'recall'; cls: string; recall: number }
  /** The recall of the target classes together (a frame of a target passes when its own
   * class's score reaches the threshold): one threshold for all targets ("catch 95% of the
   * keywords"), for classes with too few examples each. */
  | { kind: 'recallTargets'; recall: number }
  /** The false-trigger rate: without `cls`, over non-target frames on which any target passes
   * (one threshold for all targets); with `cls`, over frames of any other class on which `cls`
   * passes (its own threshold: "'yes' fires on at most 1% of other clips"). */
  | { kind: 'falseRate'; rate: number; cls?: string };

/** The thresholds a calibration chose and the trigger settings that carry them. */
export interface CalibrationResult {
  targets: CalibrationTarget[];
  /** The trigger's target classes after calibration (a recall class is added when missing). */
  triggerTargets: string[];
  /** Per-class thresholds (recall and per-class false-rate requests). */
  thresholds: Record<string, number>;
  /** The global threshold (a false-rate or target-recall request), else null (the config's stays). */
  threshold: number | null;
  /** Calibration frames per true class. */
  byClass: Record<string, number>;
  /** Top score of every calibration frame (or hop: `referencePer`), sorted (at most REFERENCE_SCORES_MAX, evenly thinned). */
  reference: number[];
  referencePer: 'frame' | 'hop';
}

/**
 * Split-conformal thresholds for `requests` over `scores` (conformal.ts: the guarantee and
 * when it holds). A recall request sets that class's own threshold (the order statistic of
 * its frames' own scores); a target recall one threshold over the target frames' own-class
 * scores; a false-rate request one threshold on the largest target probability over frames
 * whose truth is not a target, or with a class that class's own threshold over the frames of
 * every other class. Recalls and false rates cannot be mixed in one calibration (they would set
 * the same classes' thresholds for different promises), nor a one-for-all threshold with
 * others. Throws CalibrationError for unknown classes, mixed kinds, or too few frames for a rate,
 * and for no request unless `allowNone` (a calibration of the cascade's cut alone).
 */
export function calibrateThresholds(scores: LabelledScores, requests: readonly CalibrationRequest[], configTargets: readonly string[], allowNone = false): CalibrationResult {
  const { labels, truth, probs } = scores;
  const c = labels.length;
  const frames = truth.length;
  if (probs.length !== frames * c) throw new CalibrationError(scores.source, `${probs.length} probabilities for ${frames} frames of ${c} classes`);
  if (requests.length === 0 && !allowNone) throw new CalibrationError('calibrate', 'nothing asked: give --recall CLASS=R, --recall-targets R or --false-rate [CLASS=]A');
  const recalls = requests.filter((r) => r.kind !== 'falseRate').length;
  if (recalls > 0 && recalls < requests.length) throw new CalibrationError('calibrate', '--recall and --false-rate set the same thresholds for different promises: calibrate one of them (recalls, or false-trigger rates)');
  const pooled = requests.filter((r) => r.kind === 'recallTargets' || (r.kind === 'falseRate' && r.cls === undefined)).length;
  if (pooled > 1 || (pooled === 1 && requests.length > 1)) throw new CalibrationError(requests.some((r) => r.kind === 'recallTargets') ? '--recall-targets' : '--false-rate', 'one threshold for all targets is asked alone: give it once, without per-class requests');
  const byClass = Object.fromEntries(labels.map((l) => [l, 0]));
  for (let i = 0; i < frames; i++) byClass[labels[truth[i]!]!]!++;
  const index = (cls: string, where: string): number => {
    const k = labels.indexOf(cls);
    if (k < 0) throw new CalibrationError(where, `"${cls}" is not a label of the model; labels are ${labels.join(', ')}`);
    return k;
  };
  const targets: CalibrationTarget[] = [];
  const triggerTargets = [...configTargets];
  const thresholds: Record<string, number> = {};
  let threshold: number | null = null;
  const noTargets = (where: string) => new CalibrationError(where, "the pipeline names no target classes (trigger.targets or the card's)");
  for (const r of requests) {
    if (r.kind === 'recall' || (r.kind === 'falseRate' && r.cls !== undefined)) {
      const cls = r.kind === 'recall' ? r.cls : r.cls!;
      const flag = r.kind === 'recall' ? `--recall ${cls}` : `--false-rate ${cls}`;
      const k = index(cls, flag);
      if (thresholds[cls] !== undefined) throw new CalibrationError(flag, 'given twice');
      const own: number[] = [];
      if (r.kind === 'recall') {
        for (let i = 0; i < frames; i++) if (truth[i] === k) own.push(probs[i * c + k]!);
      } else for (let i = 0; i < frames; i++) if (truth[i] !== k) own.push(probs[i * c + k]!);
      const t = r.kind === 'recall'
        ? recallThreshold(own, 1 - r.recall, `--recall ${cls}=${r.recall} (${scores.source})`)
        : falseRateThreshold(own, r.rate, `--false-rate ${cls}=${r.rate} (${scores.source}, frames of other classes)`);
      thresholds[cls] = t.threshold;
      if (!triggerTargets.includes(cls)) triggerTargets.push(cls);
      targets.push({ kind: r.kind, classes: [cls], target: r.kind === 'recall' ? r.recall : r.rate, ...t });
    } else if (r.kind === 'recallTargets') {
      if (triggerTargets.length === 0) throw noTargets('--recall-targets');
      const isTarget = labels.map((l) => triggerTargets.includes(l));
      const own: number[] = [];
      for (let i = 0; i < frames; i++) if (isTarget[truth[i]!]) own.push(probs[i * c + truth[i]!]!);
      const t = recallThreshold(own, 1 - r.recall, `--recall-targets ${r.recall} (${scores.source}, targets ${triggerTargets.join(', ')})`);
      threshold = t.threshold;
      targets.push({ kind: 'recall', classes: [...triggerTargets], target: r.recall, ...t });
    } else {
      if (triggerTargets.length === 0) throw noTargets('--false-rate');
      const isTarget = labels.map((l) => triggerTargets.includes(l));
      const neg: number[] = [];
      for (let i = 0; i < frames; i++) {
        if (isTarget[truth[i]!]) continue;
        let top = 0;
        for (let k = 0; k < c; k++) if (isTarget[k] && probs[i * c + k]! > top) top = probs[i * c + k]!;
        neg.push(top);
      }
      const t = falseRateThreshold(neg, r.rate, `--false-rate ${r.rate} (${scores.source}, targets ${triggerTargets.join(', ')})`);
      threshold = t.threshold;
      targets.push({ kind: 'falseRate', classes: [...triggerTargets], target: r.rate, ...t });
    }
  }
  const reference = scores.hopTop === undefined ? referenceScores(probs, frames, c) : thin(scores.hopTop);
  return { targets, triggerTargets, thresholds, threshold, byClass, reference, referencePer: scores.hopTop === undefined ? 'frame' : 'hop' };
}

/** The top score of each frame, sorted; thinned to every j-th of the sorted values when there are more than the file keeps. */
function referenceScores(probs: Float32Array | Float64Array, frames: number, c: number): number[] {
  const top = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let m = 0;
    for (let k = 0; k < c; k++) if (probs[i * c + k]! > m) m = probs[i * c + k]!;
    top[i] = m;
  }
  return thin(top.sort());
}

/** Sorted scores, thinned to every j-th when there are more than the file keeps. */
function thin(sorted: Float64Array): number[] {
  if (sorted.length <= REFERENCE_SCORES_MAX) return Array.from(sorted);
  const step = sorted.length / REFERENCE_SCORES_MAX;
  return Array.from({ length: REFERENCE_SCORES_MAX }, (_, j) => sorted[Math.floor(j * step)]!);
}
