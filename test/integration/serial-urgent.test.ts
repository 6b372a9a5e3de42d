import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { limits } from '../../host/src/core/limits.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers, type TimerScheduler } from '../../host/src/sources/source.js';
import { startSimSorter } from '../../sim/src/serial/devices.js';
import { jsonLines, ptyPair, stopAll, until } from '../../sim/src/serial/rig.js';
import { lymphocyteCapture, REPO, replayConfig, tempDir, ZOO } from '../support/fixtures.js';

afterEach(stopAll);

describe('an urgent sink (serial, to a sorter)', () => {
  it('gets every trigger while the daemon runs, without the trigger log flush tick', async () => {
    const dir = tempDir('urgent');
    const [host, dev] = [join(dir, 'sorter'), join(dir, 'sorter-dev')];
    await ptyPair(host, dev);
    const sorted = join(dir, 'sorted.jsonl');
    const sorter = startSimSorter({ device: dev, out: sorted }, () => {});
    const capture = await lymphocyteCapture(dir, 200);
    // Every frame a trigger; the only sink the serial one.
    const cfg = replayConfig(join(ZOO, 'cells-lymphocyte'), capture, { backend: 'sim', trigger: { targets: ['B', 'T4', 'T8'], threshold: 0, maxRatePerS: 1e7, burst: 1_000_000 }, sinks: { serial: { path: host, ackTimeoutMs: 50, heartbeatMs: 0 } } });
    // The daemon's flush loop never ticks: the log flush cannot be what carries the triggers.
    const noFlushTick: TimerScheduler = { ...realTimers, setTimeout: (fn, ms) => (ms === limits.flushIntervalMs ? null : realTimers.setTimeout(fn, ms)), clearTimeout: (h) => h !== null && realTimers.clearTimeout(h) };
    const daemon = await createDaemon(cfg, { clock: systemClock(), timers: noFlushTick, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
    daemon.start();
    await daemon.sourceDone;
    const triggers = daemon.metrics.triggers;
    expect(triggers).toBe(200);
    await until(() => jsonLines(sorted).length === triggers, `${triggers} trigger commands at the sorter before the daemon stops`, 30_000);
    await daemon.stop();
    await sorter.stop();
    expect(jsonLines<{ frameSeq: number }>(sorted).map((l) => l.frameSeq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  }, 120_000);
});
