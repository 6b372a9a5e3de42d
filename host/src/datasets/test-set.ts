import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { ModelCard } from '../model/card.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { LYMPHOCYTE_SPLITS, lymphocyteDataset, TASKS, type RawSplit } from './export.js';
import { loadBccdSplit } from '../modalities/cells/bccd.js';
import { realBogusHeldOut } from '../modalities/alerts/realbogus.js';


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
 * alerts are read from `alertsRoot` (`realBogusHeldOut`: test then val, then their D4 views).
 */
export function heldOutSet(card: ModelCard, n: number, bccdRoot: string, alertsRoot?: string): HeldOut {
  if (!(TASKS as readonly string[]).includes(card.task)) {
    throw new ConfigError('card.task', `'${card.task}' has no known test data; known: ${TASKS.join(', ')}`);
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

