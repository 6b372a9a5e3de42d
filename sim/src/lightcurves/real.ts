import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../../../host/src/datasets/npy.js';
import { readAlertFile } from '../../../host/src/modalities/alerts/avro/container.js';
import { LIGHTCURVE_DEFAULT_SPEC, lightCurveGrid, type LightCurveSpec } from '../../../host/src/modalities/alerts/lightcurve.js';

/** What `writeRealGrids` found per survey: alerts, and alerts whose packet holds history. */
export type RealGridCounts = Record<'ztf' | 'rubin', { alerts: number; withHistory: number; decodeErrors: number }>;

/** Every `.avro` file under `dir`, sorted (readdir's recursive listing, Node >= 20). */
function avroFilesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.avro')).sort().map((f) => join(dir, f));
}

/**
 * Decodes every alert packet under `alertsDir` (Avro container files, as in
 * ../shared/data/alerts) and writes the grid of each ZTF and Rubin alert:
 * `<out>/real_{ztf,rubin}_x.npy` (float32 [N, C, steps]) and `real.json` (each row's file,
 * index and objectId). distill.py reports the models' class distribution on them.
 */
export function writeRealGrids(alertsDir: string, out: string, spec: LightCurveSpec = LIGHTCURVE_DEFAULT_SPEC): RealGridCounts {
  const [c, t] = spec.input.shape;
  const rows = { ztf: [] as Float32Array[], rubin: [] as Float32Array[] };
  const index = { ztf: [] as string[], rubin: [] as string[] };
  const counts: RealGridCounts = { ztf: { alerts: 0, withHistory: 0, decodeErrors: 0 }, rubin: { alerts: 0, withHistory: 0, decodeErrors: 0 } };
  for (const path of avroFilesUnder(alertsDir)) {
    const file = readAlertFile(path);
    for (const a of file.alerts) {
      if (a.survey !== 'ztf' && a.survey !== 'rubin') continue;
      const grid = new Float32Array(c * t);
      lightCurveGrid(a.points, a.jd, spec, grid);
      rows[a.survey].push(grid);
      index[a.survey].push(`${path}#${a.index} ${a.objectId}`);
      counts[a.survey].alerts++;
      counts[a.survey].withHistory += a.points.count > 1 ? 1 : 0;
    }
    const survey = file.alerts[0]?.survey;
    if (file.errors.length > 0 && (survey === 'ztf' || survey === 'rubin')) counts[survey].decodeErrors += file.errors.length;
  }
  for (const survey of ['ztf', 'rubin'] as const) {
    const x = new Float32Array(rows[survey].length * c * t);
    rows[survey].forEach((g, i) => x.set(g, i * c * t));
    writeFileSync(join(out, `real_${survey}_x.npy`), encodeNpy({ dtype: 'float32', shape: [rows[survey].length, c, t], data: x }));
  }
  writeFileSync(join(out, 'real.json'), JSON.stringify({ source: alertsDir, counts, rows: index }, null, 1) + '\n');
  return counts;
}
