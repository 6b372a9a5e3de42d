import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../../../host/src/datasets/npy.js';
import { LIGHTCURVE_DEFAULT_SPEC, lightCurveGrid, checkLightCurveSpec, type LightCurveSpec } from '../../../host/src/modalities/alerts/lightcurve.js';
import { TRANSIENT_CLASSES } from './classes.js';
import { createAlertGenerator } from './generate.js';

/** The model that trains on these splits (models/zoo/alerts-transient, models/train/tasks.py). */
export const LIGHTCURVE_TASK = 'alerts-transient';

export type LightCurveSplit = 'train' | 'val' | 'test';

/** Objects per split; classes are balanced (the generator takes them in turn). */
export const LIGHTCURVE_SPLIT_SIZES: Record<LightCurveSplit, number> = { train: 14_000, val: 2_800, test: 4_200 };

/** What `writeLightCurveDataset` wrote. */
export interface LightCurveDatasetSummary {
  out: string;
  dataset: Record<LightCurveSplit, number>;
  perSurvey: Record<LightCurveSplit, Record<string, number>>;
}

/** Split `k`'s generator seed: splits never share a stream, and seed N's splits stay fixed. */
function splitSeed(seed: number, k: number): number {
  return seed * 4 + k;
}

/**
 * Writes `<out>/{train,val,test}_{x,y}.npy` (x float32 [N, C, steps] from `lightCurveGrid`,
 * y int64 class indices into TRANSIENT_CLASSES) and `meta.json` in the layout
 * models/train/data.py reads. Deterministic in `seed`.
 */
export function writeLightCurveDataset(out: string, seed: number, sizes = LIGHTCURVE_SPLIT_SIZES, spec: LightCurveSpec = LIGHTCURVE_DEFAULT_SPEC): LightCurveDatasetSummary {
  checkLightCurveSpec(spec);
  mkdirSync(out, { recursive: true });
  const [c, t] = spec.input.shape;
  const dataset = {} as Record<LightCurveSplit, number>;
  const perSurvey = {} as Record<LightCurveSplit, Record<string, number>>;
  (['train', 'val', 'test'] as const).forEach((split, k) => {
    const n = sizes[split];
    const next = createAlertGenerator(splitSeed(seed, k));
    const x = new Float32Array(n * c * t);
    const y = new BigInt64Array(n);
    const surveys: Record<string, number> = { ztf: 0, rubin: 0 };
    for (let i = 0; i < n; i++) {
      const a = next();
      lightCurveGrid(a.points, a.jd, spec, x.subarray(i * c * t, (i + 1) * c * t));
      y[i] = BigInt(a.label);
      surveys[a.survey]!++;
    }
    writeFileSync(join(out, `${split}_x.npy`), encodeNpy({ dtype: 'float32', shape: [n, c, t], data: x }));
    writeFileSync(join(out, `${split}_y.npy`), encodeNpy({ dtype: 'int64', shape: [n], data: y }));
    dataset[split] = n;
    perSurvey[split] = surveys;
  });
  const meta = {
    task: LIGHTCURVE_TASK, labels: TRANSIENT_CLASSES, input: { shape: spec.input.shape, dtype: 'float32' }, preprocessing: spec, dataset, perSurvey,
    source: `synthetic light curves (sim/src/lightcurves, seed ${seed}): balanced classes, ZTF-like g/r and Rubin-like ugrizy cadence, one alert per object at a detection`,
    notes: { seeds: { train: splitSeed(seed, 0), val: splitSeed(seed, 1), test: splitSeed(seed, 2) } },
  };
  writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  return { out, dataset, perSurvey };
}
