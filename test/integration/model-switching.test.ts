/**
 * The model chosen by the budget, end to end: the BCCD capture replayed in real time through a
 * pipeline carrying the float teacher (onnx, ~1 ms a cell: the most accurate and by far the
 * dearest) and the student's firmware (sim, microseconds). The replay's rate rises from
 * 50 cells/s to ~19,000 (x10 real time), past what the teacher serves, then falls back. The
 * selector must step down to the student while the rate is high and back up to the teacher
 * after it falls: the switches logged, audited, counted in the snapshot, and the trigger
 * records naming the model that decided them, in that order.
 *
 * Phases end on events (a switch seen, frames counted), never on wall-clock bounds, and the
 * rates are far apart (the teacher would be busy ~20x over at the high rate, ~5% at the low
 * one), so the order holds on a loaded machine too.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDaemon } from '../../host/src/daemon.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { DaemonControls } from '../../host/src/cli/control.js';
import { until } from '../support/cli-process.js';
import { REPO, tempDir } from '../support/fixtures.js';
import { expectDownThenUp } from '../support/model-switching.js';

const CAPTURE_RATE_HZ = 1939; // sim/recordings/cells-bccd-test.arrows in real time (hairtrigger inspect)
const LOW_HZ = 50;
const HIGH_SPEED = 10;
const STUDENT = 'cells-bccd/student';

describe('model switching under a rising and falling replay rate (BCCD: teacher on onnx, student on sim)', () => {
  it('steps down to the student when the rate rises past the teacher, back up when it falls', async () => {
    const dir = tempDir('model-switching');
    const base = join(dir, 'triggers.jsonl');
    const cfg = validateConfig({
      pipeline: 'switching',
      model: 'models/zoo/cells-bccd',
      backend: 'sim',
      models: [{ name: 'teacher', model: 'models/zoo/cells-bccd', variant: 'teacher', backend: 'onnx' }],
      // A budget the teacher meets alone even on a loaded machine: what it cannot do is keep up.
      // Its tail limit the whole budget (tailBudgetFraction 1): this test is of the load's switches
      // (model-selector.test.ts has the tail's).
      budgetUs: 100_000,
      modelSelection: { mode: 'budget', intervalMs: 200, framesMin: 5, holdUpMs: 600, dwellMinMs: 400, lateFractionDown: 0.5, lateFractionUp: 0.2, tailBudgetFraction: 1 },
      source: { kind: 'replay', path: 'sim/recordings/cells-bccd-test.arrows', pacing: `x${(LOW_HZ / CAPTURE_RATE_HZ).toFixed(4)}`, loop: true },
      trigger: { targets: ['WBC'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: { jsonl: base },
      server: { enabled: false },
    });
    const log: string[] = [];
    const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: (l) => log.push(l), baseDir: REPO, onBug: (e) => { throw e; } });
    const controls = new DaemonControls(cfg, (l) => log.push(l));
    controls.ready(d, null);
    const sel = d.selection!;
    const pacing = d.source.pacing!;
    const switches = () => sel.view().recent;
    try {
      d.start();
      expect(d.models.name).toBe('teacher'); // the most accurate by its card (0.9968 vs 0.9958)
      // Low rate: the teacher keeps up; a few white cells trigger under it.
      await until('triggers under the teacher at the low rate', () => d.metrics.triggers >= 3 && d.metrics.frames >= 60, 120_000);
      expect(switches()).toEqual([]);
      // High rate: far past what the teacher serves.
      pacing.setSpeed(HIGH_SPEED);
      await until('a step down', () => switches().length >= 1, 120_000);
      const framesAtDown = d.metrics.frames;
      await until('triggers under the student', () => d.metrics.frames >= framesAtDown + 2000, 120_000);
      // Low again: after the hold, back up to the teacher.
      pacing.setSpeed(LOW_HZ / CAPTURE_RATE_HZ);
      await until('a step up', () => switches().length >= 2, 120_000);
      const triggersAtUp = d.metrics.triggers;
      await until('triggers under the teacher again', () => d.metrics.triggers >= triggersAtUp + 3, 120_000);
    } finally {
      await d.stop();
    }
    expectDownThenUp(d, controls, log, base, STUDENT);
  }, 600_000);

  it('the shipped host/configs/cells-bccd-sizes.yaml starts: five models ranked by their cards, the teacher first', async () => {
    const file = join(REPO, 'host', 'configs', 'cells-bccd-sizes.yaml');
    const cfg = { ...loadConfigFile(file), sinks: {}, server: { ...loadConfigFile(file).server, enabled: false } };
    cfg.source = { ...cfg.source!, pacing: 'max', loop: false } as typeof cfg.source;
    const log: string[] = [];
    const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: (l) => log.push(l), baseDir: join(REPO, 'host', 'configs'), firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });
    try {
      expect(d.models.names).toEqual([STUDENT, 'teacher', 'w10x24', 'w4x8', 'w2x4']);
      const ranked = d.selection!.selector.models.map((m) => [m.name, m.accuracy]);
      expect(ranked).toEqual([[STUDENT, 0.9958], ['teacher', 0.9968], ['w10x24', 0.9947], ['w4x8', 0.9947], ['w2x4', 0.9926]]);
      d.start();
      expect(d.models.name).toBe('teacher');
      await d.sourceDone;
    } finally {
      await d.stop();
    }
    expect(d.metrics.frames).toBe(945);
    expect(d.view.snapshot().modelSelection?.estimates).toHaveLength(5);
  }, 120_000);
});
