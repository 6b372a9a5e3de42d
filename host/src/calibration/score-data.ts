import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { backends } from '../backends/registry.js';
import '../backends/builtins.js';
import { readCapture } from '../capture/arrow-capture.js';
import type { PipelineConfig } from '../config/schema.js';
import { CalibrationError, ModelError } from '../core/errors.js';
import { decodeNpy } from '../datasets/npy.js';
import type { ModelCard } from '../model/card.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { realTimers } from '../sources/source.js';
import { detectorSchema, type DetectorConfig } from '../trigger/detector.js';
import { softmax } from '../trigger/policy.js';
import { scoreKeywordClips } from './score-keywords.js';
import type { LabelledScores } from './thresholds.js';

/** Where the labelled calibration frames are: a capture with labels, or a dataset export's split. */
export interface LabelledData {
  /** A capture (.arrows) with a label column, or a folder of `<split>_x.npy`, `<split>_y.npy`
   * and `meta.json` (`hairtrigger dataset`, models/data/<task>). */
  path: string;
  /** The export's split (`val` by default: the test split stays for measuring). */
  split: string;
}

/**
 * Runs the pipeline's model (`cfg.backend`, firmware and variant as the daemon loads them) over
 * labelled frames and returns its probabilities, as the trigger policy computes them (softmax
 * of logits into float32, or the model's own probabilities). A capture's frames go through the
 * card's preprocessing, or as pixels to firmware that preprocesses (as the daemon's pixel
 * path); an export's rows are model inputs already. Frames without a label are left out.
 * Throws CalibrationError/ConfigError/ModelError naming the file for data that do not fit.
 */
export async function scoreLabelledData(cfg: PipelineConfig, card: ModelCard, at: (p: string) => string, firmwareDir: string, data: LabelledData): Promise<LabelledScores> {
  if (card.inputShapes !== null) throw new CalibrationError(card.dir, `${card.task} takes ${card.inputShapes.length} inputs: calibrate reads models of one input (a capture or an export of its rows)`);
  const backend = await openPipelineBackend(cfg, card, at, firmwareDir);
  try {
    const isDir = existsSync(data.path) && statSync(data.path).isDirectory();
    const detector = detectorOf(cfg, card);
    if (detector !== null) {
      if (!isDir) throw new CalibrationError(data.path, 'a streaming detector is calibrated on labelled clips: give a Speech Commands folder (a sub-folder a word) and --split');
      return scoreKeywordClips(backend, card, detector, data);
    }
    return isDir ? scoreExport(backend, card, data) : scoreCapture(backend, card, data.path);
  } finally {
    await backend.close();
  }
}

/** The pipeline's model on its backend (`cfg.backend`, firmware and variant as the daemon loads them); the caller closes it. */
export async function openPipelineBackend(cfg: PipelineConfig, card: ModelCard, at: (p: string) => string, firmwareDir: string): Promise<Backend> {
  const onnx = card.files[cfg.variant];
  if (onnx === null) throw new ModelError(`${card.dir}/card.json`, `variant ${cfg.variant} is not part of this model`);
  const ref = { path: onnx, inputShape: card.inputShape, classes: card.labels.length, params: card.params[cfg.variant] };
  return backends.create({ kind: cfg.backend }, { card, cfg, ref, at, firmwareDir, timers: realTimers }, 'config: backend');
}

/** The pipeline's streaming detector (its `route`, else the card's `trigger.detector` as the
 * daemon takes it), or null when its trigger is the policy's per frame. */
export function detectorOf(cfg: PipelineConfig, card: ModelCard): DetectorConfig | null {
  if (cfg.route !== undefined) return cfg.route.kind === 'detector' ? (cfg.route as DetectorConfig) : null;
  return card.detector === null ? null : detectorSchema.parse({ ...card.detector, kind: 'detector' });
}

/** Probabilities of one frame's outputs into `probs` at frame `i`. */
function toProbs(backend: Backend, logits: Float32Array, scratch: Float32Array, probs: Float32Array, i: number): void {
  if (backend.info().outputKind === 'probabilities') scratch.set(logits);
  else softmax(logits, scratch);
  probs.set(scratch, i * scratch.length);
}

function scoreCapture(backend: Backend, card: ModelCard, path: string): LabelledScores {
  const cap = readCapture(path);
  const capLabels = cap.spec.labels ?? [];
  if (capLabels.length === 0) throw new CalibrationError(path, 'the capture has no labels: calibration needs the truth of every frame');
  if (capLabels.join('\n') !== card.labels.join('\n')) throw new CalibrationError(path, `labels [${capLabels.join(', ')}] differ from the model's [${card.labels.join(', ')}]`);
  const pre = createModelPreprocessor(card.preprocessing, `${card.dir}/card.json preprocessing`);
  const pixels = backend.pixelBytes !== undefined && backend.pixelBytes === pre.frameBytes && backend.predictPixels !== undefined;
  const c = card.labels.length;
  const idx: number[] = [];
  for (let i = 0; i < cap.count; i++) if (cap.labels[i]! >= 0) idx.push(i);
  if (idx.length === 0) throw new CalibrationError(path, 'no frame of the capture is labelled');
  const probs = new Float32Array(idx.length * c);
  const truth = new Int16Array(idx.length);
  const x = new Float32Array(pre.inputElements);
  const y = new Float32Array(c);
  const p = new Float32Array(c);
  for (const [j, i] of idx.entries()) {
    const off = cap.offsets[i]!;
    if (cap.offsets[i + 1]! - off !== pre.frameBytes) throw new CalibrationError(`${path} frame ${i}`, `${cap.offsets[i + 1]! - off} bytes; the model's preprocessing takes ${pre.frameBytes}`);
    if (pixels) backend.predictPixels!(cap.frames, off, y);
    else {
      pre.run(cap.frames, off, x);
      backend.predict(x, y);
    }
    toProbs(backend, y, p, probs, j);
    truth[j] = cap.labels[i]!;
  }
  return { labels: card.labels, truth, probs, source: `${path} (${idx.length} labelled frames, ${backend.info().kind})` };
}

function scoreExport(backend: Backend, card: ModelCard, data: LabelledData): LabelledScores {
  const dir = data.path;
  const xf = join(dir, `${data.split}_x.npy`);
  const yf = join(dir, `${data.split}_y.npy`);
  if (!existsSync(xf) || !existsSync(yf)) throw new CalibrationError(dir, `holds no ${data.split}_x.npy and ${data.split}_y.npy: give a dataset export (hairtrigger dataset) and --split`);
  const meta = existsSync(join(dir, 'meta.json')) ? (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { preprocessing?: unknown; labels?: unknown }) : {};
  if (JSON.stringify(sortKeys(meta.preprocessing)) !== JSON.stringify(sortKeys(card.preprocessing))) {
    throw new CalibrationError(`${dir}/meta.json preprocessing`, `differs from ${card.dir}/card.json's (or is missing): these rows are not what the daemon feeds the model; re-export the data`);
  }
  const xs = decodeNpy(readFileSync(xf), xf);
  const ys = decodeNpy(readFileSync(yf), yf);
  const n = xs.shape[0]!;
  const size = card.inputShape.reduce((a, b) => a * b, 1);
  if (xs.dtype !== 'float32' || xs.data.length !== n * size) throw new CalibrationError(xf, `holds ${xs.dtype} [${xs.shape.join(', ')}]; the model takes float32 rows of [${card.inputShape.join(', ')}]`);
  if (ys.data.length !== n) throw new CalibrationError(yf, `${ys.data.length} labels for ${n} rows`);
  const c = card.labels.length;
  const probs = new Float32Array(n * c);
  const truth = new Int16Array(n);
  const y = new Float32Array(c);
  const p = new Float32Array(c);
  const rows = xs.data as Float32Array;
  for (let i = 0; i < n; i++) {
    const label = Number(ys.data[i]);
    if (!(label >= 0 && label < c)) throw new CalibrationError(`${yf} row ${i}`, `label ${label} is not a class index below ${c}`);
    backend.predict(rows.subarray(i * size, (i + 1) * size), y);
    toProbs(backend, y, p, probs, i);
    truth[i] = label;
  }
  return { labels: card.labels, truth, probs, source: `${dir} ${data.split} split (${n} frames, ${backend.info().kind})` };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}
