// Alert sources: load time of the real folders (listing, reading, ordering) and the rate of
// the `alerts` replay at max pace through the `avro` decoder (no model, no sinks), on the
// host's clock. Run: `node_modules/.bin/tsc -p tsconfig.build.json && node build/bench/alerts-source.js`.
import { join, resolve } from 'node:path';
import { manualClock } from '../host/src/core/clock.js';
import { FrameRing } from '../host/src/core/frame.js';
import { manualTimers } from '../host/src/core/manual-timers.js';
import { createAvroAlertDecoder } from '../host/src/modalities/alerts/decode.js';
import { listAlertFiles, loadAlertFiles } from '../host/src/modalities/alerts/sources/load.js';
import { createAlertReplaySource } from '../host/src/modalities/alerts/sources/replay-source.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');
const FRAMES = Number(process.env.BENCH_ALERT_FRAMES ?? 20_000);

for (const folder of ['ztf-4.02-2023-10', 'rubin-9.0-2025-09']) {
  const loadMs: number[] = [];
  let loaded = loadAlertFiles(listAlertFiles([join(ALERTS, folder)]));
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    loaded = loadAlertFiles(listAlertFiles([join(ALERTS, folder)]));
    loadMs.push(performance.now() - t0);
  }
  const rate = (decodeIt: boolean): number => {
    const t = manualTimers();
    const src = createAlertReplaySource(loaded.timeline, { pacing: 'max', loop: true, frames: FRAMES, stream: 'alerts' }, manualClock(), t.timers);
    const decode = createAvroAlertDecoder('alerts');
    const ring = new FrameRing(1, 1, 64);
    src.start({ acquire: () => ring.acquire(), push: decodeIt ? (sl) => decode.run(sl) : () => {} });
    const t0 = performance.now();
    while (t.pending() !== null) t.run();
    return src.delivered / ((performance.now() - t0) / 1000);
  };
  const bare = rate(false);
  const decoded = rate(true);
  const n = loaded.timeline.count;
  console.log(`${folder}: ${n} alerts; load ${Math.min(...loadMs).toFixed(0)} ms (best of 3, ${((Math.min(...loadMs) * 1000) / n).toFixed(0)} us an alert); replay alone ${bare.toFixed(0)} alerts/s, replay + avro decoder ${decoded.toFixed(0)} alerts/s (${(1e6 / decoded).toFixed(1)} us each; ${FRAMES} alerts at max pace, looped)`);
}
