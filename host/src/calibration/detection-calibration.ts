import type { Backend } from '../backends/backend.js';
import { CalibrationError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import type { ModelCard } from '../model/card.js';
import { MLPERF_RULES, scoreStream, type Detection, type TruthWindow } from '../modalities/audio/score.js';
import { readWav } from '../modalities/audio/wav.js';
import type { DetectorConfig } from '../trigger/detector.js';
import type { KeywordClip } from './keyword-clips.js';
import { hopRunner, oneSecond } from './score-keywords.js';

/**
 * Calibration per detection: a keyword detector's threshold chosen on what it reports over
 * labelled streams (the right word detected within its utterance's window, MLPerf Tiny's
 * streaming rules), not on each clip's own peak. The streams are built from a speaker split's
 * real clips as `models/train/keywords_detector.py` builds its speaker streams (each clip
 * centred in one second, one second of silence after it, in a seeded order); the model runs
 * once per hop (`hopRunner`: the card's front end, the pipeline's backend), the detector's
 * moving average once; then the detector (`trigger/detector.ts`: the best target whose smoothed
 * probability reaches the threshold, a debounce in stream time) is replayed on those means at
 * every threshold of a grid and scored (`scoreStream`).
 *
 * Detection recall is not monotone in the threshold (lower, the wrong word may fire first and
 * the debounce mutes the right one), so the split-conformal rank argument does not carry over:
 * the threshold is the largest of the grid whose recall on the calibration streams meets the
 * request, a property of those streams only. What a held-out split measures is reported with a
 * one-sided Clopper-Pearson bound (valid for the threshold fixed before the held-out windows
 * are seen, if their outcomes are independent), not guaranteed.
 */

/** A labelled stream scored once: per hop its stream time and the detector's smoothed means. */
export interface ScoredStream {
  name: string;
  lengthS: number;
  windows: TruthWindow[];
  hopNs: Float64Array;
  /** hops x classes, the detector's float64 moving average (summed oldest first). */
  means: Float64Array;
}

/** A stream of `clips` in a seeded order (Fisher-Yates on `seed`), each centred in one second
 * with a second of silence after it; a window [2i, 2i + 1] s for each clip of a `targets` word. */
export function clipStream(clips: readonly KeywordClip[], labels: readonly string[], targets: readonly string[], rateHz: number, seed: number): { samples: Int16Array; windows: TruthWindow[]; lengthS: number } {
  const order = clips.map((_, i) => i);
  const rng = createRng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const samples = new Int16Array(order.length * 2 * rateHz);
  const windows: TruthWindow[] = [];
  for (const [slot, i] of order.entries()) {
    const clip = clips[i]!;
    const wav = readWav(clip.path);
    if (wav.sampleRateHz !== rateHz) throw new CalibrationError(clip.path, `${wav.sampleRateHz} Hz; the model's front end takes ${rateHz} Hz`);
    samples.set(oneSecond(wav.samples, rateHz), slot * 2 * rateHz);
    const word = labels[clip.label]!;
    if (targets.includes(word)) windows.push({ startS: slot * 2, endS: slot * 2 + 1, word });
  }
  return { samples, windows, lengthS: samples.length / rateHz };
}

/** Runs a stream through the model once and keeps every hop's time and smoothed means. */
export function scoreStreamHops(backend: Backend, card: ModelCard, smoothFrames: number, name: string, stream: { samples: Int16Array; windows: TruthWindow[]; lengthS: number }): ScoredStream {
  const c = card.labels.length;
  const n = smoothFrames;
  const ring = new Float64Array(n * c);
  const times: number[] = [];
  const means: number[] = [];
  let filled = 0;
  let at = 0;
  hopRunner(backend, card).run(stream.samples, (p, sensorNs) => {
    for (let k = 0; k < c; k++) ring[at * c + k] = p[k]!;
    at = at + 1 === n ? 0 : at + 1;
    if (filled < n) filled++;
    const first = filled < n ? 0 : at;
    for (let k = 0; k < c; k++) {
      let acc = 0;
      for (let j = 0, i = first; j < filled; j++, i = i + 1 === n ? 0 : i + 1) acc += ring[i * c + k]!;
      means.push(acc / filled);
    }
    times.push(sensorNs);
  });
  return { name, lengthS: stream.lengthS, windows: stream.windows, hopNs: Float64Array.from(times), means: Float64Array.from(means) };
}

/** The detector's detections on a scored stream at one threshold for every target (`targetIdx`:
 * label indices), debounced `debounceMs` in stream time (end included), as `trigger/detector.ts`. */
export function detectionsAt(s: ScoredStream, labels: readonly string[], targetIdx: readonly number[], threshold: number, debounceMs: number): Detection[] {
  const c = labels.length;
  const debounceNs = debounceMs * 1e6;
  let lastFire = Number.NEGATIVE_INFINITY;
  const out: Detection[] = [];
  for (let h = 0; h < s.hopNs.length; h++) {
    let best = -1;
    let bestP = 0;
    for (const k of targetIdx) {
      const p = s.means[h * c + k]!;
      if (p >= threshold && p > bestP) {
        best = k;
        bestP = p;
      }
    }
    if (best < 0) continue;
    const t = s.hopNs[h]!;
    if (t - lastFire <= debounceNs) continue;
    lastFire = t;
    out.push({ streamMs: t / 1e6, word: labels[best]! });
  }
  return out;
}

/** What the detector reports at one threshold over streams. */
export interface DetectionPoint {
  threshold: number;
  windows: number;
  truePositives: number;
  misses: number;
  falseAlarms: number;
  hours: number;
  recall: number;
  falseAlarmsPerHour: number;
}

/** The detector at `threshold` over `streams`, scored by MLPerf Tiny's streaming rules. */
export function detectionPoint(streams: readonly ScoredStream[], labels: readonly string[], targetIdx: readonly number[], threshold: number, debounceMs: number): DetectionPoint {
  let tp = 0;
  let misses = 0;
  let fa = 0;
  let seconds = 0;
  for (const s of streams) {
    const r = scoreStream(s.windows, detectionsAt(s, labels, targetIdx, threshold, debounceMs), MLPERF_RULES);
    tp += r.truePositives;
    misses += r.misses;
    fa += r.falseAlarms;
    seconds += s.lengthS;
  }
  const hours = seconds / 3600;
  return { threshold, windows: tp + misses, truePositives: tp, misses, falseAlarms: fa, hours, recall: tp + misses > 0 ? tp / (tp + misses) : Number.NaN, falseAlarmsPerHour: fa / hours };
}

/** The thresholds tried: k / steps for k = steps - 1 down to 1 (0.999 ... 0.001 at 1000). */
export function thresholdGrid(steps: number): number[] {
  return Array.from({ length: steps - 1 }, (_, i) => (steps - 1 - i) / steps);
}

/**
 * The largest grid threshold whose detection recall over `streams` is at least `recall`, and
 * the curve scanned (every grid point, largest first). A CalibrationError when the streams hold
 * no keyword window, or no threshold of the grid reaches the recall.
 */
export function calibrateDetectionThreshold(streams: readonly ScoredStream[], labels: readonly string[], targets: readonly string[], detector: DetectorConfig, recall: number, steps = 1000): { chosen: DetectionPoint; curve: DetectionPoint[] } {
  const targetIdx = targets.map((t) => labels.indexOf(t));
  const curve = thresholdGrid(steps).map((t) => detectionPoint(streams, labels, targetIdx, t, detector.debounceMs));
  if (curve[0]!.windows === 0) throw new CalibrationError('--detection-recall', 'the calibration streams hold no keyword window (no clip of a trigger target)');
  const chosen = curve.find((p) => p.recall >= recall);
  if (chosen === undefined) {
    const best = curve.reduce((a, b) => (b.recall > a.recall ? b : a));
    throw new CalibrationError('--detection-recall', `no threshold of the grid reaches a detection recall of ${recall} on the calibration streams: the best is ${best.recall.toFixed(4)} at ${best.threshold}`);
  }
  return { chosen, curve };
}

/** One-sided Clopper-Pearson lower bound on a binomial proportion at `confidence`: the p at
 * which `x` or more successes of `n` have probability 1 - confidence (0 when x = 0). */
export function clopperPearsonLower(x: number, n: number, confidence: number): number {
  if (x === 0) return 0;
  const alpha = 1 - confidence;
  let lo = 0;
  let hi = x / n;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (binomialTailAtLeast(x, n, mid) < alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** P(X >= x) for X ~ Binomial(n, p), summed in logs. */
function binomialTailAtLeast(x: number, n: number, p: number): number {
  if (p <= 0) return x <= 0 ? 1 : 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let logC = 0; // log C(n, k), built up from k = 0
  let sum = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    if (k >= x) sum += Math.exp(logC + k * lp + (n - k) * lq);
  }
  return Math.min(1, sum);
}
