import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { BCCD_LABELS } from '../../host/src/modalities/cells/bccd.js';
import { exportDataset, lymphocyteDataset, type RawDataset } from '../../host/src/datasets/export.js';
import { encodeNpy } from '../../host/src/datasets/npy.js';
import { REPO, tempDir } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

/**
 * `hairtrigger dataset` against the Python side that trains on it: the exported files, read by
 * the training loader itself (models/train/data.py, which checks them as training does), hold
 * what preprocess_ref.py (PyTorch, independent of image.ts) computes from the raw frames,
 * the labels of the raw frames, and the training split's per-channel mean and std as numpy
 * computes them (the card rounds them to 4 decimals, so they agree within 5e-5).
 * Tolerance on the tensors as in preprocess-reference.test.ts: 1e-6 of the input's span.
 */
const SPLITS = ['train', 'val', 'test'] as const;
const CHECK = `
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import data, preprocess_ref
out, task, raw = sys.argv[2:5]
meta, splits = data.load(out, task)
res = {}
for s, (x, y) in splits.items():
    ref = preprocess_ref.preprocess(np.load(f"{raw}/{s}.npy"), meta["preprocessing"])
    res[s] = {"shape": list(x.shape), "labels": y.tolist(),
              "maxAbs": float(np.abs(x.numpy() - ref).max()), "span": float(ref.max() - ref.min())}
train = np.load(f"{raw}/train.npy").astype(np.float64) / 255
res["mean"], res["std"] = train.mean(axis=(0, 1, 2)).tolist(), train.std(axis=(0, 1, 2)).tolist()
print(json.dumps(res))
`;

interface SplitCheck {
  shape: number[];
  labels: number[];
  maxAbs: number;
  span: number;
}

/** Real BCCD crops (the bundled test capture) cut into three splits. */
function bccdFromCapture(): RawDataset {
  const cap = readCapture(join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows'));
  const frameBytes = cap.offsets[1] - cap.offsets[0];
  const bounds = { train: [0, 600], val: [600, 780], test: [780, cap.count] } as const;
  const splits = Object.fromEntries(SPLITS.map((s) => {
    const [a, b] = bounds[s];
    const frames = cap.frames.slice(cap.offsets[a], cap.offsets[a] + (b - a) * frameBytes);
    return [s, { count: b - a, frames, labels: Int8Array.from(cap.labels.subarray(a, b)) }];
  })) as RawDataset['splits'];
  const [H, W, C] = cap.spec.shape as [number, number, number];
  return { task: 'cells-bccd', labels: BCCD_LABELS, frame: { shape: [H, W, C], dtype: 'uint8' }, splits, source: 'test', notes: {} };
}

const DATASETS: [string, () => RawDataset][] = [
  ['cells-bccd', bccdFromCapture],
  ['cells-lymphocyte', () => lymphocyteDataset({ train: { count: 400, seed: 1 }, val: { count: 100, seed: 2 }, test: { count: 100, seed: 3 } })],
];

describe.each(DATASETS)('%s: exported dataset read by models/train', (task, make) => {
  it('holds the reference preprocessing of the raw frames, their labels and their statistics', { timeout: 180_000 }, async () => {
    const ds = make();
    const dir = tempDir(`export-py-${task}`);
    const [out, raw] = [join(dir, 'data'), join(dir, 'raw')];
    mkdirSync(raw);
    const summary = await exportDataset(ds, out);
    for (const s of SPLITS) {
      writeFileSync(join(raw, `${s}.npy`), encodeNpy({ dtype: 'uint8', shape: [ds.splits[s].count, ...ds.frame.shape], data: ds.splits[s].frames }));
    }
    const res = JSON.parse(runPython(['-c', CHECK, TRAIN, out, task, raw])) as Record<(typeof SPLITS)[number], SplitCheck> & { mean: number[]; std: number[] };
    const [H, W, C] = ds.frame.shape;
    for (const s of SPLITS) {
      expect(res[s].shape).toEqual([ds.splits[s].count, C, H, W]);
      expect(res[s].labels).toEqual(Array.from(ds.splits[s].labels));
      expect(res[s].span).toBeGreaterThan(1);
      expect(res[s].maxAbs, `${s}: max |exported - ref| over a span of ${res[s].span}`).toBeLessThanOrEqual(1e-6 * res[s].span);
    }
    for (let c = 0; c < C; c++) {
      expect(Math.abs(summary.preprocessing.mean[c] - res.mean[c]), `mean of channel ${c}: card ${summary.preprocessing.mean[c]}, numpy ${res.mean[c]}`).toBeLessThanOrEqual(5e-5 + 1e-12);
      expect(Math.abs(summary.preprocessing.std[c] - res.std[c]), `std of channel ${c}: card ${summary.preprocessing.std[c]}, numpy ${res.std[c]}`).toBeLessThanOrEqual(5e-5 + 1e-12);
    }
  });
});
