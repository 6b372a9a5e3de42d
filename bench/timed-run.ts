import type { PipelineConfig } from '../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../host/src/daemon.js';
import { systemClock } from '../host/src/native/addon.js';
import { realTimers } from '../host/src/sources/source.js';

/** One finite replay of `cfg` to its end: the final snapshot and the seconds from start to the
 * source's end. `prepare` sees the daemon before it starts (a diagnostic tap), `done` after the
 * source's end, before it stops. */
export async function timedRun(cfg: PipelineConfig, baseDir: string, prepare?: (d: Daemon) => void, done?: (d: Daemon) => void) {
  const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir, onBug: (e) => { throw e; } });
  prepare?.(d);
  const t0 = performance.now();
  d.start();
  await d.sourceDone;
  const seconds = (performance.now() - t0) / 1000;
  done?.(d);
  await d.stop();
  return { snap: d.metrics.snapshot(), seconds };
}
