import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIGHTCURVE_DEFAULT_SPEC, type LightCurveSpec } from '../../host/src/modalities/alerts/lightcurve.js';
import { createAlertGenerator } from '../../sim/src/lightcurves/generate.js';
import { tempDir } from '../support/fixtures.js';
import { gridParity, type ParityCase } from '../support/lightcurve-parity.js';

/**
 * One light-curve feature definition, two implementations: the daemon's TypeScript grid
 * (host/src/modalities/alerts/lightcurve.ts) and the numpy one training uses
 * (models/train/alerts_lightcurve.py) agree within 1e-6 on the same points.
 */
function synthetic(seed: number, n: number): ParityCase[] {
  const next = createAlertGenerator(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = next();
    return { source: `synthetic seed ${seed} #${i} ${a.cls} ${a.survey}`, jd: a.jd, points: a.points };
  });
}

describe('light-curve grid parity, TypeScript vs numpy', () => {
  it('agrees on 700 synthetic ZTF and Rubin alerts with the card spec', () => {
    const r = gridParity(synthetic(11, 700), LIGHTCURVE_DEFAULT_SPEC, join(tempDir('lc-parity'), 'synthetic.jsonl'));
    expect(r.count).toBe(700);
    expect(r.specIsDefault).toBe(true);
    expect(r.maxAbsDiff, `worst: ${r.worst}`).toBeLessThanOrEqual(1e-6);
  });

  it('agrees on a coarse spec of three bands and 3.5-day steps (bin edges, bands left out)', () => {
    const spec: LightCurveSpec = { ...LIGHTCURVE_DEFAULT_SPEC, bands: ['r', 'g', 'z'], steps: 20, stepDays: 3.5, upperLimitMax: 2, input: { shape: [9, 20] } };
    // Points on the bin edges: ages 0, 3.5, 7, ... days and the window's far edge.
    const edge: ParityCase = {
      source: 'bin edges', jd: 2_460_000.5,
      points: { count: 22, jd: Float64Array.from({ length: 22 }, (_, k) => 2_460_000.5 - 3.5 * (21 - k)), band: Uint8Array.from({ length: 22 }, (_, k) => [1, 2, 4][k % 3]!), flux: Float32Array.from({ length: 22 }, (_, k) => (k % 4 === 0 ? 3 : -7.25 + k)), fluxErr: new Float32Array(22).fill(1), upperLimit: Uint8Array.from({ length: 22 }, (_, k) => (k % 4 === 0 ? 1 : 0)) },
    };
    const r = gridParity([edge, ...synthetic(12, 200)], spec, join(tempDir('lc-parity'), 'coarse.jsonl'));
    expect(r.count).toBe(201);
    expect(r.specIsDefault).toBe(false);
    expect(r.maxAbsDiff, `worst: ${r.worst}`).toBeLessThanOrEqual(1e-6);
  });
});
