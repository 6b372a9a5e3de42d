import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { Backend } from '../backends/backend.js';
import { validateConfig } from '../config/schema.js';
import { CalibrationError, ConfigError } from '../core/errors.js';
import { readModelCard, type ModelCard } from '../model/card.js';
import type { DetectorConfig } from '../trigger/detector.js';
import { calibrateDetectionThreshold, clipStream, clopperPearsonLower, detectionPoint, scoreStreamHops, type DetectionPoint, type ScoredStream } from './detection-calibration.js';
import { cardSplit, speechCommandsClips } from './keyword-clips.js';
import { detectorOf, openPipelineBackend } from './score-data.js';

/** What `hairtrigger calibrate --detection-recall R` is asked. */
export interface DetectionCalibrateOptions {
  config: string;
  /** A Speech Commands folder (a sub-folder a word) and the model's speaker split to build the calibration stream from. */
  data: { path: string; split: string };
  /** The detection recall asked of the keywords together on the calibration stream. */
  recall: number;
  /** The seed of the clips' order in each stream. */
  streamSeed: number;
  /** Another split, measured at the chosen threshold (reported with a Clopper-Pearson bound, not guaranteed). */
  holdoutSplit?: string;
  backend?: string;
  /** The new config beside `config`; refused if it exists. */
  out: string;
  firmwareDir: string;
  nowIso: string;
}

export interface DetectionCalibrateReport {
  calibration: { stream: string; point: DetectionPoint };
  holdout: { stream: string; point: DetectionPoint; recallLower95: number } | null;
  /** The recall and false alarms per hour scanned, largest threshold first (every 10th grid point). */
  curve: DetectionPoint[];
  config: string;
}

/** What the choice promises, in words (the command prints it, the new config's header carries it). */
export const DETECTION_CLAIM = 'measured, not guaranteed: the largest threshold of a 0.001 grid whose detection recall (the right word detected within 1 s of its utterance, MLPerf Tiny streaming rules) on the calibration stream meets the request. Detection recall is not monotone in the threshold, so the split-conformal bound does not apply; a held-out split gives a one-sided 95% Clopper-Pearson bound for the chosen threshold if its utterances\' outcomes are independent.';

/**
 * Chooses a keyword detector's threshold per detection (`detection-calibration.ts`) on a stream
 * of one speaker split's clips, measures another split's stream at it, and writes a NEW config
 * (the user's YAML with its comments, `route.threshold` set, the targets' own thresholds
 * removed, the card's detector copied when the config had no route). Nothing is written when
 * any check fails; an output that exists is refused.
 */
export async function calibrateDetections(o: DetectionCalibrateOptions): Promise<DetectionCalibrateReport> {
  const configPath = resolve(o.config);
  const out = resolve(o.out);
  if (dirname(out) !== dirname(configPath)) throw new ConfigError('--out', `${o.out}: write the new config beside ${o.config} (its relative paths resolve from that folder)`);
  if (existsSync(out)) throw new CalibrationError(out, 'exists: calibrate never overwrites a file; choose a new name');
  if (o.holdoutSplit === o.data.split) throw new CalibrationError(`--holdout ${o.holdoutSplit}`, 'is the calibration split: measure on streams the threshold was not chosen from');
  const doc = parseDocument(readFileSync(configPath, 'utf8'));
  if (doc.errors.length > 0) throw new ConfigError(configPath, `not valid YAML: ${doc.errors[0]!.message}`);
  if (o.backend !== undefined) doc.set('backend', o.backend);
  const cfg = validateConfig(doc.toJS(), configPath);
  const at = (p: string) => resolve(dirname(configPath), p);
  const card = readModelCard(at(cfg.model));
  const detector = detectorOf(cfg, card);
  if (detector === null) throw new CalibrationError('--detection-recall', `${o.config} has no streaming detector (route kind detector, or the card's trigger.detector): calibrate per frame with --recall/--false-rate`);
  const targets = cfg.trigger.targets ?? card.targets ?? [];
  const backend = await openPipelineBackend(cfg, card, at, o.firmwareDir);
  let cal: ScoredStream;
  let held: ScoredStream | null = null;
  try {
    cal = splitStream(backend, card, detector, targets, o.data.path, o.data.split, o.streamSeed);
    if (o.holdoutSplit !== undefined) held = splitStream(backend, card, detector, targets, o.data.path, o.holdoutSplit, o.streamSeed);
  } finally {
    await backend.close();
  }
  const { chosen, curve } = calibrateDetectionThreshold([cal], card.labels, targets, detector, o.recall);
  const targetIdx = targets.map((t) => card.labels.indexOf(t));
  const holdout = held === null ? null : (() => {
    const point = detectionPoint([held], card.labels, targetIdx, chosen.threshold, detector.debounceMs);
    return { stream: held.name, point, recallLower95: clopperPearsonLower(point.truePositives, point.windows, 0.95) };
  })();
  if (cfg.route === undefined) doc.set('route', doc.createNode({ kind: 'detector', smoothFrames: detector.smoothFrames, threshold: detector.threshold, thresholds: { ...detector.thresholds }, debounceMs: detector.debounceMs }));
  doc.setIn(['route', 'threshold'], chosen.threshold);
  for (const t of targets) if (doc.hasIn(['route', 'thresholds', t])) doc.deleteIn(['route', 'thresholds', t]);
  const text = `# Calibrated per detection by \`hairtrigger calibrate --detection-recall ${o.recall}\` from ${basename(configPath)} on ${o.nowIso}: threshold ${chosen.threshold}; ${describePoint('calibration stream', chosen)}${holdout === null ? '' : `; ${describePoint('held out', holdout.point)} (recall >= ${holdout.recallLower95.toFixed(4)} at 95%)`}.\n# ${DETECTION_CLAIM}\n${doc.toString()}`;
  validateConfig(parseDocument(text).toJS(), out); // the new config must load as it is written
  writeFileSync(out, text, { flag: 'wx' });
  return { calibration: { stream: cal.name, point: chosen }, holdout, curve: curve.filter((_, i) => i % 10 === 9), config: out };
}

/** One split's clips as one stream (seeded order), scored once through the model. */
function splitStream(backend: Backend, card: ModelCard, detector: DetectorConfig, targets: readonly string[], root: string, split: string, seed: number): ScoredStream {
  const clips = speechCommandsClips(root, card.labels, { ...cardSplit(card), name: split });
  const rateHz = (card.preprocessing as { frame?: { sampleRateHz?: number } }).frame?.sampleRateHz ?? 16_000;
  const stream = clipStream(clips, card.labels, targets, rateHz, seed);
  const name = `${root} ${split} speakers (${clips.length} real clips, ${stream.windows.length} keyword windows, ${stream.lengthS} s, order seed ${seed}, ${backend.info().kind})`;
  return scoreStreamHops(backend, card, detector.smoothFrames, name, stream);
}

function describePoint(what: string, p: DetectionPoint): string {
  return `${what}: ${p.truePositives} of ${p.windows} utterances detected (${p.recall.toFixed(4)}), ${p.misses} missed, ${p.falseAlarms} false alarms (${p.falseAlarmsPerHour.toFixed(1)} per hour)`;
}

/** The command's report. */
export function formatDetectionReport(r: DetectionCalibrateReport, cwd: string): string {
  const shown = relative(cwd, r.config).startsWith('..') ? r.config : relative(cwd, r.config);
  const lines = [
    `calibrated per detection on ${r.calibration.stream}`,
    `  threshold ${r.calibration.point.threshold}: ${describePoint('calibration stream', r.calibration.point)}`,
    ...(r.holdout === null ? [] : [`  ${describePoint(`held out on ${r.holdout.stream}`, r.holdout.point)}; recall >= ${r.holdout.recallLower95.toFixed(4)} (one-sided 95% Clopper-Pearson)`]),
    `  ${DETECTION_CLAIM}`,
    '  threshold  recall  false alarms/h (calibration stream, every 0.01)',
    ...r.curve.map((p) => `  ${p.threshold.toFixed(2).padStart(9)}  ${p.recall.toFixed(3)}  ${p.falseAlarmsPerHour.toFixed(1)}`),
    `wrote ${shown} (route.threshold)`,
  ];
  return lines.join('\n') + '\n';
}
