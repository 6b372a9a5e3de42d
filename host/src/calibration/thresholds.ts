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
  /** Probabilities, frame after frame, `labels.length` each (as the policy sees them: float32). */
  probs: Float32Array;
  /** Where the frames came from, for the file and reports. */
  source: string;
}

/** What a user asks for. */
export type CalibrationRequest = { kind: 'recall'; cls: string; recall: number } | { kind: 'falseRate'; rate: number };

/** The thresholds a calibration chose and the trigger settings that carry them. */
export interface CalibrationResult {
  targets: CalibrationTarget[];
  /** The trigger's target classes after calibration (a recall class is added when missing). */
  triggerTargets: string[];
  /** Per-class thresholds (recall requests); empty for a false-rate calibration. */
  thresholds: Record<string, number>;
  /** The global threshold (a false-rate request), else null (the config's stays). */
  threshold: number | null;
  /** Calibration frames per true class. */
  byClass: Record<string, number>;
  /** Top score of every calibration frame, sorted (at most REFERENCE_SCORES_MAX, evenly thinned). */
  reference: number[];
}

/**
 * Split-conformal thresholds for `requests` over `scores` (conformal.ts: the guarantee and
 * when it holds). A recall request sets that class's own threshold; a false-rate request sets
 * one threshold on the largest target probability, over frames whose truth is not a target.
 * The two kinds cannot be mixed in one calibration (they would set the same classes'
 * thresholds for different promises). Throws CalibrationError for unknown classes, mixed
 * kinds, or too few frames for a rate.
 */
export function calibrateThresholds(scores: LabelledScores, requests: readonly CalibrationRequest[], configTargets: readonly string[]): CalibrationResult {
  const { labels, truth, probs } = scores;
  const c = labels.length;
  const frames = truth.length;
  if (probs.length !== frames * c) throw new CalibrationError(scores.source, `${probs.length} probabilities for ${frames} frames of ${c} classes`);
  if (requests.length === 0) throw new CalibrationError('calibrate', 'nothing asked: give --recall CLASS=R or --false-rate A');
  const kinds = new Set(requests.map((r) => r.kind));
  if (kinds.size > 1) throw new CalibrationError('calibrate', '--recall and --false-rate set the same thresholds for different promises: calibrate one of them (a recall per class, or one false-trigger rate)');
  if (requests.filter((r) => r.kind === 'falseRate').length > 1) throw new CalibrationError('--false-rate', 'give one false-trigger rate');
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
  for (const r of requests) {
    if (r.kind === 'recall') {
      const k = index(r.cls, `--recall ${r.cls}`);
      if (thresholds[r.cls] !== undefined) throw new CalibrationError(`--recall ${r.cls}`, 'given twice');
      const own: number[] = [];
      for (let i = 0; i < frames; i++) if (truth[i] === k) own.push(probs[i * c + k]!);
      const t = recallThreshold(own, 1 - r.recall, `--recall ${r.cls}=${r.recall} (${scores.source})`);
      thresholds[r.cls] = t.threshold;
      if (!triggerTargets.includes(r.cls)) triggerTargets.push(r.cls);
      targets.push({ kind: 'recall', classes: [r.cls], target: r.recall, ...t });
    } else {
      if (triggerTargets.length === 0) throw new CalibrationError('--false-rate', 'the pipeline names no target classes (trigger.targets or the card\'s)');
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
  return { targets, triggerTargets, thresholds, threshold, byClass, reference: referenceScores(probs, frames, c) };
}

/** The top score of each frame, sorted; thinned to every j-th of the sorted values when there are more than the file keeps. */
function referenceScores(probs: Float32Array, frames: number, c: number): number[] {
  const top = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let m = 0;
    for (let k = 0; k < c; k++) if (probs[i * c + k]! > m) m = probs[i * c + k]!;
    top[i] = m;
  }
  top.sort();
  if (frames <= REFERENCE_SCORES_MAX) return Array.from(top);
  const step = frames / REFERENCE_SCORES_MAX;
  return Array.from({ length: REFERENCE_SCORES_MAX }, (_, j) => top[Math.floor(j * step)]!);
}
