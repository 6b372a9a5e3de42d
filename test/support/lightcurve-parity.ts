import { writeFileSync } from 'node:fs';
import { lightCurveGrid, type LightCurveSpec } from '../../host/src/modalities/alerts/lightcurve.js';
import type { LightCurvePoints } from '../../host/src/modalities/alerts/types.js';
import { runPython, TRAIN } from './python.js';
import { join } from 'node:path';

/** One light curve for the parity check: where it came from, its alert time and points. */
export interface ParityCase {
  source: string;
  jd: number;
  points: LightCurvePoints;
}

/** What models/train/lightcurve_parity.py reports. */
export interface ParityReport {
  count: number;
  maxAbsDiff: number;
  worst: string;
  specIsDefault: boolean;
}

/**
 * Writes each case's points and its TypeScript grid (`lightCurveGrid`) to `path`, then has
 * the numpy implementation (models/train/alerts_lightcurve.py) recompute every grid.
 */
export function gridParity(cases: Iterable<ParityCase>, spec: LightCurveSpec, path: string): ParityReport {
  const lines = [JSON.stringify({ spec })];
  const out = new Float32Array(spec.input.shape[0] * spec.input.shape[1]);
  for (const c of cases) {
    lightCurveGrid(c.points, c.jd, spec, out);
    const p = c.points;
    lines.push(JSON.stringify({
      source: c.source, jd: c.jd, grid: Array.from(out),
      points: { jd: Array.from(p.jd.subarray(0, p.count)), band: Array.from(p.band.subarray(0, p.count)), flux: Array.from(p.flux.subarray(0, p.count)), upperLimit: Array.from(p.upperLimit.subarray(0, p.count)) },
    }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
  return JSON.parse(runPython([join(TRAIN, 'lightcurve_parity.py'), path])) as ParityReport;
}
