/**
 * Bytes `cutoutTriplet` allocates per alert, on real ZTF (gzip) and Rubin (plain) alerts. Run
 * it in its own process with
 *   node --single-threaded --expose-gc --max-semi-space-size=128 --min-semi-space-size=128 \
 *     build/bench/cutouts-alloc-probe.js
 * (as bench/alloc-probe.ts: V8's compiler and collector on the main thread, a young
 * generation no scavenge empties inside a window). After a warm-up, the young-generation
 * growth of two windows of different length is differenced, so fixed costs cancel.
 * Prints one JSON line: {ztf: {alerts, perAlertBytes}, rubin: {...}}.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { readAlertFile } from '../host/src/modalities/alerts/avro/container.js';
import { createCutoutScratch, cutoutTriplet } from '../host/src/modalities/alerts/cutouts.js';
import type { Cutouts } from '../host/src/modalities/alerts/types.js';

declare const gc: () => void;

const ALERTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'alerts');

function youngBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

/** Per-alert bytes of `rounds` passes of cutoutTriplet over `cutouts`, warm. */
function perAlert(cutouts: Cutouts[]): number {
  const scratch = createCutoutScratch();
  const out = new Float32Array(3 * 63 * 63);
  const spec = { stamp: 63, size: 63 };
  // Indexed loops: a for-of loop allocates its iterator results until the JIT optimizes this
  // function, which it does only after the windows have started.
  const run = (rounds: number) => {
    for (let r = 0; r < rounds; r++) for (let i = 0; i < cutouts.length; i++) cutoutTriplet(cutouts[i]!, spec, out, scratch);
  };
  run(300);
  const grown = [20, 60].map((rounds) => {
    gc();
    const before = youngBytes();
    run(rounds);
    return youngBytes() - before;
  });
  return (grown[1]! - grown[0]!) / (40 * cutouts.length);
}

const result: Record<string, { alerts: number; perAlertBytes: number }> = {};
for (const [survey, folder] of [['ztf', 'ztf-3.3-2020-01'], ['rubin', 'rubin-9.0-2025-09']] as const) {
  const dir = join(ALERTS, folder);
  const cutouts = readdirSync(dir).filter((f) => f.endsWith('.avro')).flatMap((f) => readAlertFile(join(dir, f)).alerts.map((a) => a.cutouts));
  result[survey] = { alerts: cutouts.length, perAlertBytes: perAlert(cutouts) };
}
console.log(JSON.stringify(result));
