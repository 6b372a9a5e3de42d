import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { ModelCard } from '../model/card.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { LYMPHOCYTE_SPLITS, lymphocyteDataset, TASKS, type RawSplit } from './export.js';
import { loadBccdSplit } from '../modalities/cells/bccd.js';
import { realBogusHeldOut } from '../modalities/alerts/realbogus.js';
import { decodeNpy } from './npy.js';


/** Model inputs of held-out data, preprocessed exactly as the daemon does online. */
export interface HeldOut {
  /** Where the samples come from, for reports (`cells-bccd test+val`). */
  readonly source: string;
  readonly inputs: Float32Array[];
  readonly labels: Int8Array;
}

/**
 * Up to `n` held-out samples of a zoo task (a model card's `task`): its test split first, then
 * its validation split when the test split is smaller than `n` (BCCD's has 945 cells). Never
 * training data. BCCD is read from `bccdRoot`; the lymphocyte splits are regenerated from
 * their seeds (the first `n` frames of a split are the same whatever its size); the real/bogus
 * alerts are read from `from.alertsRoot` (`realBogusHeldOut`: test then val, then their D4
 * views). A task whose inputs are exported by another tool (alerts-transient: `hairtrigger
 * lightcurves`) is read from `from.npyDir` (`test_x.npy`, `val_x.npy`, `test_synth_x.npy`, `meta.json`) when that
 * folder holds it.
 */
export function heldOutSet(card: ModelCard, n: number, bccdRoot: string, from: { alertsRoot?: string; npyDir?: string } = {}): HeldOut {
  const { alertsRoot, npyDir } = from;
  if (!(TASKS as readonly string[]).includes(card.task)) {
    if (npyDir !== undefined && existsSync(join(npyDir, 'test_x.npy'))) return npyHeldOut(card, n, npyDir);
    throw new ConfigError('card.task', `'${card.task}' has no known test data; known: ${TASKS.join(', ')} and tasks exported as npy`);
  }
  if (card.task === 'alerts-realbogus') {
    if (alertsRoot === undefined) throw new ConfigError('alerts', 'the held-out data of alerts-realbogus are alert packets: give the alerts folder');
    return realBogusHeldOut(resolve(alertsRoot), n);
  }
  const pre = createModelPreprocessor(card.preprocessing, `${card.dir}/card.json preprocessing`);
  const splits: RawSplit[] = [];
  if (card.task === 'cells-bccd') {
    for (const split of ['test', 'val'] as const) {
      const s = loadBccdSplit(resolve(bccdRoot), split);
      splits.push({ count: s.count, frames: s.frames, labels: s.labels });
    }
  } else {
    const sizes = { ...LYMPHOCYTE_SPLITS, train: { ...LYMPHOCYTE_SPLITS.train, count: 0 },
      test: { ...LYMPHOCYTE_SPLITS.test, count: Math.min(n, LYMPHOCYTE_SPLITS.test.count) },
      val: { ...LYMPHOCYTE_SPLITS.val, count: Math.max(0, Math.min(n - LYMPHOCYTE_SPLITS.test.count, LYMPHOCYTE_SPLITS.val.count)) } };
    const ds = lymphocyteDataset(sizes);
    splits.push(ds.splits.test, ds.splits.val);
  }
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (const s of splits) {
    for (let i = 0; i < s.count && inputs.length < n; i++) {
      const x = new Float32Array(pre.inputElements);
      pre.run(s.frames, i * pre.frameBytes, x);
      inputs.push(x);
      labels.push(s.labels[i]);
    }
  }
  const source = `${card.task} ${splits[1]!.count > 0 && inputs.length > splits[0]!.count ? 'test+val' : 'test'} split`;
  return { source, inputs, labels: Int8Array.from(labels) };
}


/** JSON with object keys sorted: the card's parsed spec and meta.json order keys differently. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

/**
 * Up to `n` rows of an exported task's test split, then its validation split, then its
 * `test_synth` split where there is one (keywords: held-out synthetic voices, never trained on):
 * model inputs as the training read them. The folder's `meta.json` must hold the card's preprocessing (else
 * the rows are not what the daemon would feed the model): ConfigError otherwise.
 */
function npyHeldOut(card: ModelCard, n: number, dir: string): HeldOut {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { preprocessing?: unknown };
  if (canonicalJson(meta.preprocessing) !== canonicalJson(card.preprocessing)) {
    throw new ConfigError(`${dir}/meta.json preprocessing`, `differs from ${card.dir}/card.json's: re-export the data or retrain`);
  }
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  const used: string[] = [];
  for (const split of ['test', 'val', 'test_synth']) {
    if (inputs.length >= n || !existsSync(join(dir, `${split}_x.npy`))) continue;
    const x = decodeNpy(readFileSync(join(dir, `${split}_x.npy`)), `${dir}/${split}_x.npy`);
    const y = decodeNpy(readFileSync(join(dir, `${split}_y.npy`)), `${dir}/${split}_y.npy`);
    const size = x.data.length / x.shape[0]!;
    if (x.dtype !== 'float32' || y.dtype !== 'int64' || size !== card.inputShape.reduce((a, b) => a * b, 1)) {
      throw new ConfigError(`${dir}/${split}_x.npy`, `holds ${x.dtype} rows of ${size} values and ${y.dtype} labels; the card takes float32 [${card.inputShape.join(', ')}] and int64`);
    }
    for (let i = 0; i < x.shape[0]! && inputs.length < n; i++) {
      inputs.push((x.data as Float32Array).slice(i * size, (i + 1) * size));
      labels.push(Number((y.data as BigInt64Array)[i]));
    }
    used.push(split);
  }
  return { source: `${card.task} ${used.join('+')} split (exported npy)`, inputs, labels: Int8Array.from(labels) };
}
