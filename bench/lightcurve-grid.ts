// CPU time of the light-curve grid (host/src/modalities/alerts/lightcurve.ts) per alert, on the
// decoded real packets of ../shared/data/alerts (ZTF 4.02 and Rubin 9.0), decoding excluded.
// Run: `node build/bench/lightcurve-grid.js` after `make build` (LC_BENCH_ROUNDS, default 200).
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAlertFile } from '../host/src/modalities/alerts/avro/container.js';
import { LIGHTCURVE_DEFAULT_SPEC, lightCurveGrid } from '../host/src/modalities/alerts/lightcurve.js';
import type { AlertView } from '../host/src/modalities/alerts/types.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');
const ROUNDS = Number(process.env.LC_BENCH_ROUNDS ?? 200);

/** CPU microseconds per grid over `alerts`, median of ROUNDS passes (CPU, not wall: the VM is shared). */
function cpuUsPerGrid(alerts: AlertView[]): number {
  const out = new Float32Array(LIGHTCURVE_DEFAULT_SPEC.input.shape[0] * LIGHTCURVE_DEFAULT_SPEC.input.shape[1]);
  const per: number[] = [];
  for (let r = -1; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    for (const a of alerts) lightCurveGrid(a.points, a.jd, LIGHTCURVE_DEFAULT_SPEC, out);
    const c = process.cpuUsage(c0);
    if (r >= 0) per.push((c.user + c.system) / alerts.length); // round -1 warms up
  }
  return per.sort((a, b) => a - b)[per.length >> 1]!;
}

for (const folder of ['ztf-4.02-2023-10', 'rubin-9.0-2025-09']) {
  const dir = join(ALERTS, folder);
  const alerts = readdirSync(dir).filter((f) => f.endsWith('.avro')).sort().flatMap((f) => readAlertFile(join(dir, f)).alerts);
  const points = alerts.reduce((n, a) => n + a.points.count, 0) / alerts.length;
  const us = cpuUsPerGrid(alerts);
  console.log(`${folder}: ${alerts.length} alerts, ${points.toFixed(1)} points each: ${us.toFixed(2)} us CPU per grid (${Math.round(1e6 / us)} grids/s)`);
}
