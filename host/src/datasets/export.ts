import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLymphocyteGenerator, LYMPHOCYTE_LABELS } from '../modalities/cells/lymphocytes.js';
import { createRng, type Rng } from '../core/rng.js';
import { CaptureWriter } from '../capture/arrow-capture.js';
import { ConfigError } from '../core/errors.js';
import type { FrameSpec } from '../core/frame.js';
import { createPreprocessor, type PreprocessSpec } from '../preprocess/image.js';
import { encodeNpy } from './npy.js';
import { BCCD_DEFAULT_CROP, BCCD_LABELS, loadBccdSplit, type Split } from '../modalities/cells/bccd.js';
import { REALBOGUS_CUTOUTS, REALBOGUS_FOLDERS, REALBOGUS_LABELS, REALBOGUS_SPLIT, REALBOGUS_THRESHOLD, realBogusInputs, realBogusRows, realBogusSplits } from '../modalities/alerts/realbogus.js';

/** Tasks the exporter knows. */
export const TASKS = ['cells-bccd', 'cells-lymphocyte', 'alerts-realbogus'] as const;
export type Task = (typeof TASKS)[number];

/** Raw frames of one split, before preprocessing. */
export interface RawSplit {
  count: number;
  frames: Uint8Array;
  labels: Int8Array;
}

/** A task's raw data: three splits of frames sharing one frame spec. */
export interface RawDataset {
  task: Task;
  labels: readonly string[];
  frame: { shape: [number, number, number]; dtype: 'uint8' };
  splits: Record<Split, RawSplit>;
  source: string;
  /** Extra facts for the model card (skipped boxes, generator seeds). */
  notes: Record<string, unknown>;
}

/** Sizes of the synthetic lymphocyte splits and the seed of each. */
export const LYMPHOCYTE_SPLITS: Record<Split, { count: number; seed: number }> = {
  train: { count: 12_000, seed: 1001 },
  val: { count: 2_000, seed: 1002 },
  test: { count: 3_000, seed: 1003 },
};

/** Loads BCCD's official splits as fixed-window crops (see `bccd.ts`). */
export function bccdDataset(bccdRoot: string): RawDataset {
  const splits = {} as Record<Split, RawSplit>;
  const skipped: Record<string, Record<string, number>> = {};
  for (const split of ['train', 'val', 'test'] as const) {
    const s = loadBccdSplit(bccdRoot, split);
    splits[split] = { count: s.count, frames: s.frames, labels: s.labels };
    skipped[split] = s.skipped;
  }
  const { frameSize, windowPx } = BCCD_DEFAULT_CROP;
  return {
    task: 'cells-bccd',
    labels: BCCD_LABELS,
    frame: { shape: [frameSize, frameSize, 3], dtype: 'uint8' },
    splits,
    source: `BCCD (Shenggan/BCCD_Dataset, MIT): every annotated box of the official train/val/test image split, a ${windowPx}x${windowPx} px field of view centred on the box, resampled to ${frameSize}x${frameSize} RGB`,
    notes: { skippedBoxes: skipped, crop: BCCD_DEFAULT_CROP },
  };
}

/** Renders the synthetic lymphocyte splits (seeded; see host/src/modalities/cells/lymphocytes.ts). */
export function lymphocyteDataset(sizes: Record<Split, { count: number; seed: number }> = LYMPHOCYTE_SPLITS): RawDataset {
  const splits = {} as Record<Split, RawSplit>;
  let side = 0;
  for (const split of ['train', 'val', 'test'] as const) {
    const gen = createLymphocyteGenerator({ seed: sizes[split].seed });
    side = gen.size;
    const frames = new Uint8Array(sizes[split].count * gen.frameBytes);
    const labels = new Int8Array(sizes[split].count);
    for (let i = 0; i < labels.length; i++) labels[i] = gen.next(frames, i * gen.frameBytes);
    splits[split] = { count: labels.length, frames, labels };
  }
  return {
    task: 'cells-lymphocyte',
    labels: LYMPHOCYTE_LABELS,
    frame: { shape: [side, side, 1], dtype: 'uint8' },
    splits,
    source: `synthetic bright-field lymphocytes (host/src/modalities/cells/lymphocytes.ts), classes ${LYMPHOCYTE_LABELS.join('/')}, seeds ${JSON.stringify(sizes)}`,
    notes: { generatorSeeds: sizes },
  };
}

/**
 * The preprocessing of a task: values scaled to [0,1], then standardised per channel with
 * the mean and std of the training split (rounded to 4 decimals so the card stays readable;
 * the exact values used are the card's).
 */
export function preprocessFor(ds: RawDataset): PreprocessSpec {
  const [H, W, C] = ds.frame.shape;
  const { frames, count } = ds.splits.train;
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let i = 0; i < count * H * W * C; i++) {
    const v = frames[i] / 255;
    sum[i % C] += v;
    sq[i % C] += v * v;
  }
  const n = count * H * W;
  const mean = Array.from(sum, (s) => round4(s / n));
  const std = Array.from(sq, (s, c) => round4(Math.sqrt(s / n - (sum[c] / n) ** 2)));
  return { frame: { shape: [H, W, C], dtype: 'uint8' }, input: { shape: [C, H, W] }, resize: 'bilinear', scale: 1 / 255, mean, std };
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

/** Mean arrival rate of cells in the exported captures, cells per second. */
export const CAPTURE_RATE_HZ = 2000;

/**
 * Writes a capture of frames with Poisson arrival times at `rateHz` (seeded), so a replay
 * paced in real time sees the bursts and gaps a sorter sees.
 */
export async function writeCapture(path: string, spec: FrameSpec, split: RawSplit, rng: Rng, rateHz = CAPTURE_RATE_HZ): Promise<void> {
  const frameBytes = split.frames.length / Math.max(split.count, 1);
  const w = new CaptureWriter(path, spec, { epochNs: BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n });
  let t = 0;
  for (let i = 0; i < split.count; i++) {
    t += Math.round((-Math.log(1 - rng.uniform()) / rateHz) * 1e9);
    w.append(i, t, split.frames, i * frameBytes, frameBytes, split.labels[i]);
  }
  await w.close();
}

/** Summary of an export, printed by the CLI. */
export interface ExportSummary {
  task: Task;
  out: string;
  dataset: Record<Split, number>;
  perClass: Record<Split, Record<string, number>>;
  preprocessing: PreprocessSpec;
}

/** Summary of the real/bogus export: its preprocessing is the `cutouts` kind. */
export type RealBogusSummary = Omit<ExportSummary, 'task' | 'preprocessing'> & { task: 'alerts-realbogus'; preprocessing: ReturnType<typeof realBogusPreprocessing> };

/**
 * Writes `<out>/{train,val,test}_{x,y}.npy`, `meta.json` and `test.arrows` for one task.
 * The tensors come from `createPreprocessor`, the same code the daemon runs online.
 */
export async function exportDataset(ds: RawDataset, out: string): Promise<ExportSummary> {
  mkdirSync(out, { recursive: true });
  const spec = preprocessFor(ds);
  const pre = createPreprocessor(spec);
  const [C, H, W] = spec.input.shape;
  const dataset = {} as Record<Split, number>;
  const perClass = {} as Record<Split, Record<string, number>>;
  for (const split of ['train', 'val', 'test'] as const) {
    const s = ds.splits[split];
    const x = new Float32Array(s.count * pre.inputElements);
    for (let i = 0; i < s.count; i++) pre.run(s.frames, i * pre.frameBytes, x.subarray(i * pre.inputElements, (i + 1) * pre.inputElements));
    writeFileSync(join(out, `${split}_x.npy`), encodeNpy({ dtype: 'float32', shape: [s.count, C, H, W], data: x }));
    writeFileSync(join(out, `${split}_y.npy`), encodeNpy({ dtype: 'int64', shape: [s.count], data: BigInt64Array.from(s.labels, (l) => BigInt(l)) }));
    dataset[split] = s.count;
    perClass[split] = Object.fromEntries(ds.labels.map((l, k) => [l, s.labels.filter((v) => v === k).length]));
  }
  const meta = { task: ds.task, labels: ds.labels, input: { shape: spec.input.shape, dtype: 'float32' }, preprocessing: spec, dataset, perClass, source: ds.source, notes: ds.notes };
  writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  const frameSpec: FrameSpec = { stream: ds.task, shape: ds.frame.shape, dtype: 'uint8', labels: ds.labels };
  await writeCapture(join(out, 'test.arrows'), frameSpec, ds.splits.test, createRng(7));
  return { task: ds.task, out, dataset, perClass, preprocessing: spec };
}

/** The card's `preprocessing` of the real/bogus task: the `cutouts` kind, what the model reads. */
export function realBogusPreprocessing() {
  const { stamp, size } = REALBOGUS_CUTOUTS;
  return { kind: 'cutouts', stamp, size, frame: { shape: null, dtype: 'uint8' }, input: { shape: [3, size, size] } } as const;
}

/**
 * Writes the real/bogus dataset (see host/src/modalities/alerts/realbogus.ts) to `out`:
 * `{split}_x.npy` float32 [N, 3, S, S] (cutoutTriplet, the code the daemon runs online),
 * `{split}_y.npy` int64 (drb >= 0.5), `{split}_drb.npy` and `{split}_rb.npy` float32 [N],
 * `{split}_group.npy` int64 (index of the row's objectId in meta.json `objects`), `{split}_candid.npy`
 * int64 (the packet's candid) and meta.json.
 */
export function exportRealBogus(alertsRoot: string, out: string): RealBogusSummary {
  mkdirSync(out, { recursive: true });
  const { rows, withoutScore, duplicates } = realBogusRows(alertsRoot);
  const splits = realBogusSplits(rows);
  const objects = [...new Set(rows.map((r) => r.alert.objectId))].sort();
  const objectIndex = new Map(objects.map((o, i) => [o, i]));
  const pre = realBogusPreprocessing();
  const dataset = {} as Record<Split, number>;
  const perClass = {} as Record<Split, Record<string, number>>;
  const npy = (name: string, arr: Parameters<typeof encodeNpy>[0]) => writeFileSync(join(out, name), encodeNpy(arr));
  for (const split of ['train', 'val', 'test'] as const) {
    const r = splits[split], n = r.length;
    const y = r.map((row) => (row.drb >= REALBOGUS_THRESHOLD ? 1 : 0));
    npy(`${split}_x.npy`, { dtype: 'float32', shape: [n, ...pre.input.shape], data: realBogusInputs(r) });
    npy(`${split}_y.npy`, { dtype: 'int64', shape: [n], data: BigInt64Array.from(y, BigInt) });
    npy(`${split}_drb.npy`, { dtype: 'float32', shape: [n], data: Float32Array.from(r, (row) => row.drb) });
    npy(`${split}_rb.npy`, { dtype: 'float32', shape: [n], data: Float32Array.from(r, (row) => row.rb) });
    npy(`${split}_group.npy`, { dtype: 'int64', shape: [n], data: BigInt64Array.from(r, (row) => BigInt(objectIndex.get(row.alert.objectId)!)) });
    npy(`${split}_candid.npy`, { dtype: 'int64', shape: [n], data: BigInt64Array.from(r, (row) => row.alert.id) });
    dataset[split] = n;
    perClass[split] = Object.fromEntries(REALBOGUS_LABELS.map((l, k) => [l, y.filter((v) => v === k).length]));
  }
  const source = `ZTF alert packets with candidate.drb in ../shared/data/alerts (${REALBOGUS_FOLDERS.join(', ')}): ${rows.length} alerts of ${objects.length} objects, split by objectId (seed ${REALBOGUS_SPLIT.seed}, objects ${REALBOGUS_SPLIT.train}/${REALBOGUS_SPLIT.val}/rest); labels drb >= ${REALBOGUS_THRESHOLD}`;
  const meta = { task: 'alerts-realbogus', labels: REALBOGUS_LABELS, input: { shape: pre.input.shape, dtype: 'float32' }, preprocessing: pre, dataset, perClass, source, notes: { alertsWithoutScore: withoutScore, duplicatePackets: duplicates, split: REALBOGUS_SPLIT }, objects };
  writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  return { task: 'alerts-realbogus', out, dataset, perClass, preprocessing: pre };
}

/** Writes the dataset of a task by name: the real/bogus alerts, else a task of frames. */
export async function exportTask(task: string, out: string, roots: { bccd: string; alerts: string }): Promise<ExportSummary | RealBogusSummary> {
  if (task === 'alerts-realbogus') return exportRealBogus(roots.alerts, out);
  return exportDataset(datasetFor(task, roots.bccd), out);
}

/** Builds the raw dataset of a task by name. */
export function datasetFor(task: string, bccdRoot: string): RawDataset {
  if (task === 'cells-bccd') return bccdDataset(bccdRoot);
  if (task === 'cells-lymphocyte') return lymphocyteDataset();
  throw new ConfigError('task', `unknown task "${task}"; known: ${TASKS.join(', ')}`);
}
