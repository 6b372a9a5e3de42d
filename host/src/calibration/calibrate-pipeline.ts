import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { validateConfig } from '../config/schema.js';
import { CalibrationError, ConfigError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import { calibrateCut, cutRate, describeCut, type CutCalibration, type CutRequest } from './cascade-cut.js';
import { CALIBRATION_FORMAT, writeCalibrationFile, type CalibrationFile } from './calibration-file.js';
import { detectorOf, scoreLabelledData, type LabelledData } from './score-data.js';
import { calibrateThresholds, type CalibrationRequest, type CalibrationResult, type LabelledScores } from './thresholds.js';

/** What `hairtrigger calibrate` is asked. */
export interface CalibrateOptions {
  /** The user's pipeline config (read, never written). */
  config: string;
  data: LabelledData;
  requests: CalibrationRequest[];
  /** The cascade's cut to calibrate (the config's `cascade.cut` key), written as `calibrated`. */
  cascadeCut?: CutRequest;
  /** The new config: beside `config` (its relative paths resolve from that folder); refused if it exists. */
  out: string;
  /** The calibration file (default: `out` with `.calibration.json`); refused if it exists. */
  calibrationOut?: string;
  /** Overrides the config's backend for the calibration run and the new config. */
  backend?: string;
  /** Also measure each target on this split of the same data (e.g. `test`): the rate the
   * thresholds reach on frames they were not chosen from. Reported, not written. */
  holdoutSplit?: string;
  /** The drift watch's settings written beside the file (config `calibration`; defaults there). */
  drift?: { windowFrames?: number; driftAlpha?: number };
  /** Where the zoo's firmware is (absolute). */
  firmwareDir: string;
  /** The wall clock's ISO time, injected (the composition root reads it). */
  nowIso: string;
}

export interface CalibrateReport {
  result: CalibrationResult;
  scores: LabelledScores;
  /** The rate each target reaches on the calibration frames themselves (in-sample). */
  inSample: number[];
  /** With `holdoutSplit`: where the held-out frames came from and the rate each target reaches on them (and the cut's, last). */
  holdout: { source: string; byClass: Record<string, number>; rates: number[]; cut: number | null } | null;
  /** The cascade's cut, when asked, and the rate it reaches on the calibration frames. */
  cut: { calibration: CutCalibration; inSample: number } | null;
  config: string;
  calibration: string;
  /** Where the thresholds went: `trigger` (the policy's), or `route` (a streaming detector's). */
  block: 'trigger' | 'route';
}

/** The guarantee, in words, as the file and the command print it. */
export const GUARANTEE = 'split-conformal (finite-sample corrected): if calibration frames and live frames are exchangeable (same sensor, model, preprocessing and class mix), then, averaged over the draw of the calibration set, a recall target class passes its threshold with probability >= 1 - k/(n+1) >= the recall asked, and a non-target frame passes with probability <= (n+1-k)/(n+1) <= the rate asked. For one calibration set the achieved rate is Beta-distributed around that; drift voids it.';

/**
 * Calibrates a pipeline: runs its model over labelled frames, chooses the split-conformal
 * thresholds for `requests`, and writes a NEW config (the user's file with
 * `trigger.thresholds`/`threshold`/`targets` set and `calibration.file` added, comments kept)
 * and the calibration file beside it. Nothing is written when any check fails; an output that
 * exists is refused (CalibrationError), never overwritten.
 */
export async function calibratePipeline(o: CalibrateOptions): Promise<CalibrateReport> {
  const configPath = resolve(o.config);
  const out = resolve(o.out);
  const calOut = resolve(o.calibrationOut ?? out.replace(/\.ya?ml$/i, '') + '.calibration.json');
  if (dirname(out) !== dirname(configPath)) throw new ConfigError('--out', `${o.out}: write the new config beside ${o.config} (its relative paths resolve from that folder)`);
  for (const p of [out, calOut]) if (existsSync(p)) throw new CalibrationError(p, 'exists: calibrate never overwrites a file; choose a new name');
  const doc = parseDocument(readFileSync(configPath, 'utf8'));
  if (doc.errors.length > 0) throw new ConfigError(configPath, `not valid YAML: ${doc.errors[0]!.message}`);
  if (o.backend !== undefined) doc.set('backend', o.backend);
  const cfg = validateConfig(doc.toJS(), configPath);
  const baseDir = dirname(configPath);
  const at = (p: string) => resolve(baseDir, p);
  const card = readModelCard(at(cfg.model));
  const configTargets = cfg.trigger.targets ?? card.targets ?? [];
  const detector = detectorOf(cfg, card);
  if (o.cascadeCut !== undefined) {
    if (cfg.cascade === undefined) throw new CalibrationError(`--cascade-${o.cascadeCut.kind}`, `${o.config} has no cascade: add one (cascade: {model: ..., cut: {margin: calibrated}}) and calibrate its cut`);
    if (detector !== null && o.cascadeCut.kind === 'catch') throw new CalibrationError('--cascade-catch', "a keyword cascade cuts on one hop's posterior, and a hop has no truth of its own (a clip has): calibrate its load with --cascade-send");
  }
  if (o.requests.length === 0 && o.cascadeCut === undefined) throw new CalibrationError('calibrate', 'nothing asked: give --recall CLASS=R, --recall-targets R, --false-rate [CLASS=]A or --cascade-catch/--cascade-send');
  const scores = await scoreLabelledData(cfg, card, at, o.firmwareDir, o.data);
  const result = calibrateThresholds(scores, o.requests, configTargets, o.cascadeCut !== undefined);
  const on = cfg.cascade === undefined ? 'margin' : 'margin' in cfg.cascade.cut ? 'margin' : 'entropy';
  // A streaming detector's cascade cuts per hop: its cut comes from the clips' hops.
  const cutScores = detector === null ? scores : hopScores(scores);
  const cut = o.cascadeCut === undefined ? null : calibrateCut(cutScores, on, o.cascadeCut);
  if (cut !== null) doc.setIn(['cascade', 'cut'], doc.createNode({ [on]: 'calibrated' }));
  // A streaming detector's thresholds are its route's (the card's detector copied into the
  // config when it had no route); a frame policy's are the trigger's.
  if (detector !== null && cfg.route === undefined) doc.set('route', doc.createNode({ kind: 'detector', smoothFrames: detector.smoothFrames, threshold: detector.threshold, thresholds: { ...detector.thresholds }, debounceMs: detector.debounceMs }));
  const block = detector !== null ? 'route' : 'trigger';
  if (result.threshold !== null) {
    doc.setIn([block, 'threshold'], result.threshold);
    for (const t of result.triggerTargets) if (doc.hasIn([block, 'thresholds', t])) doc.deleteIn([block, 'thresholds', t]);
  }
  for (const [cls, t] of Object.entries(result.thresholds)) doc.setIn([block, 'thresholds', cls], t);
  if (result.triggerTargets.join('\n') !== configTargets.join('\n') || cfg.trigger.targets === undefined) doc.setIn(['trigger', 'targets'], result.triggerTargets);
  doc.set('calibration', { file: relative(baseDir, calOut) || basename(calOut), ...o.drift });
  const text = `# Calibrated by \`hairtrigger calibrate\` from ${basename(configPath)} on ${o.nowIso}: ${[...result.targets.map(describeTarget), ...(cut === null ? [] : [describeCut(cut)])].join('; ')}.\n# ${relative(baseDir, calOut)} holds the guarantee, the calibration data and the drift reference.\n${doc.toString()}`;
  validateConfig(parseDocument(text).toJS(), out); // the new config must load as it is written
  const file: CalibrationFile = {
    format: CALIBRATION_FORMAT, method: 'split-conformal', guarantee: GUARANTEE, createdAt: o.nowIso,
    model: { task: card.task, variant: cfg.variant, backend: cfg.backend, labels: [...card.labels] },
    data: { source: scores.source, frames: scores.truth.length, byClass: result.byClass },
    targets: result.targets,
    ...(cut === null ? {} : { cascade: cut }),
    reference: { score: 'top', per: result.referencePer, sorted: result.reference },
  };
  let holdout: CalibrateReport['holdout'] = null;
  if (o.holdoutSplit !== undefined) {
    if (o.holdoutSplit === o.data.split) throw new CalibrationError(`--holdout ${o.holdoutSplit}`, 'is the calibration split: measure on frames the thresholds were not chosen from');
    const held = await scoreLabelledData(cfg, card, at, o.firmwareDir, { ...o.data, split: o.holdoutSplit });
    const byClass = Object.fromEntries(held.labels.map((l) => [l, 0]));
    for (const t of held.truth) byClass[held.labels[t]!]!++;
    holdout = { source: held.source, byClass, rates: result.targets.map((t) => inSampleRate(held, t)), cut: cut === null ? null : cutRate(detector === null ? held : hopScores(held), cut) };
  }
  writeCalibrationFile(calOut, file);
  writeFileSync(out, text, { flag: 'wx' });
  return { result, scores, inSample: result.targets.map((t) => inSampleRate(scores, t)), holdout, cut: cut === null ? null : { calibration: cut, inSample: cutRate(cutScores, cut) }, config: out, calibration: calOut, block };
}

/** A stream's hops as frames without truth (a `send` cut reads only their probabilities). */
function hopScores(s: LabelledScores): LabelledScores {
  if (s.hopProbs === undefined) throw new CalibrationError(s.source, 'holds no per-hop probabilities to cut on');
  return { labels: s.labels, truth: new Int16Array(s.hopProbs.length / s.labels.length).fill(-1), probs: s.hopProbs, source: `${s.source}: the hops holding a clip sample` };
}

/** `recall WBC >= 0.95` / `recall of yes, no >= 0.95` / `false-trigger rate <= 0.01 (targets WBC)`. */
export function describeTarget(t: CalibrationResult['targets'][number]): string {
  if (t.kind === 'recall') return t.classes.length === 1 ? `recall ${t.classes[0]} >= ${t.target}` : `recall of ${t.classes.join(', ')} together >= ${t.target}`;
  return `false-trigger rate <= ${t.target} (${t.classes.length === 1 ? 'class' : 'targets'} ${t.classes.join(', ')})`;
}

/** The rate a target reaches on labelled frames: the calibration frames themselves (what the threshold was chosen on), or held-out ones. */
function inSampleRate(s: LabelledScores, t: CalibrationResult['targets'][number]): number {
  const c = s.labels.length;
  const idx = t.classes.map((x) => s.labels.indexOf(x));
  let n = 0;
  let pass = 0;
  for (let i = 0; i < s.truth.length; i++) {
    const truth = s.truth[i]!;
    if (t.kind === 'recall' ? !idx.includes(truth) : idx.includes(truth)) continue;
    n++;
    if (t.kind === 'recall' ? s.probs[i * c + truth]! >= t.threshold : idx.some((k) => s.probs[i * c + k]! >= t.threshold)) pass++;
  }
  return n > 0 ? pass / n : 0;
}

/** The command's report, one line per target. */
export function formatReport(r: CalibrateReport, cwd: string): string {
  const shown = (p: string) => (relative(cwd, p).startsWith('..') ? p : relative(cwd, p));
  const { result, scores } = r;
  const lines = [`calibrated on ${scores.source}: ${Object.entries(result.byClass).map(([k, v]) => `${k} ${v}`).join(', ')}`];
  for (const [j, t] of result.targets.entries()) {
    const what = t.kind === 'recall' ? describeTarget(t) : `false-trigger rate <= ${t.target} over non-${t.classes.join('/')} frames`;
    const bound = t.kind === 'recall' ? `recall >= ${t.bound.toFixed(4)}` : `rate <= ${t.bound.toFixed(4)}`;
    const rank = t.kind === 'recall' ? `the ${ordinal(t.k)} smallest of ${t.n} ${t.classes.length === 1 ? t.classes[0] : 'target'} scores` : `just above the ${ordinal(t.k)} smallest of ${t.n} ${t.classes.length === 1 ? `non-${t.classes[0]}` : 'non-target'} scores`;
    lines.push(`  ${what}: threshold ${t.threshold} (${rank}; guaranteed ${bound} on average over calibration sets); on the calibration frames themselves: ${r.inSample[j]!.toFixed(4)}${r.holdout === null ? '' : `; held out: ${r.holdout.rates[j]!.toFixed(4)}`}`);
  }
  if (r.cut !== null) lines.push(`  ${describeCut(r.cut.calibration)}; on the calibration frames themselves: ${r.cut.inSample.toFixed(4)}${r.holdout?.cut == null ? '' : `; held out: ${r.holdout.cut.toFixed(4)}`}`);
  if (r.holdout !== null) lines.push(`held out: ${r.holdout.source}: ${Object.entries(r.holdout.byClass).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const set = [...(result.targets.length > 0 ? [`${r.block}.${result.threshold !== null ? 'threshold' : 'thresholds'}`] : []), ...(r.cut === null ? [] : [`cascade.cut.${r.cut.calibration.on}: calibrated`]), 'calibration.file'];
  lines.push(`wrote ${shown(r.config)} (${set.join(', ')}) and ${shown(r.calibration)}`);
  return lines.join('\n') + '\n';
}

/** 1st, 2nd, 3rd, 4th, 11th, 21st. */
function ordinal(k: number): string {
  const teen = k % 100 >= 11 && k % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][k % 10] ?? 'th');
  return `${k}${suffix}`;
}
