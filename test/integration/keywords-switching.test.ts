/**
 * The model chosen by the budget on the keyword stream: real "yes" clips as one WAV stream
 * through a pipeline carrying the keyword teacher (onnx, 1.97 M parameters: the most accurate
 * by its card and by far the dearest a hop) and the DS-CNN student's firmware (sim). The hop
 * rate rises from 50 hops/s (one stream in real time) to 2,000 hops/s (forty
 * streams' worth: what a daemon spotting words on many streams at once must serve), past what
 * the teacher serves, then falls back. The selector must step down to the student instead of
 * letting hops go late while the rate is high, and back up to the teacher after it falls: the
 * switches logged, audited, counted in the snapshot, and the detections naming the model that
 * decided them, in that order.
 *
 * Phases end on events (a switch seen, frames or detections counted), never on wall-clock
 * bounds, and the rates are far apart (the teacher takes about 1-10 ms a hop on this VM: busy
 * 2-20x over at the high rate, at most ~1-25% at the low one, where it steps up at 0.5), so the order holds on a loaded
 * machine too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDaemon } from '../../host/src/daemon.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { DaemonControls } from '../../host/src/cli/control.js';
import { until } from '../support/cli-process.js';
import { REPO, SHARED, tempDir } from '../support/fixtures.js';
import { expectDownThenUp } from '../support/model-switching.js';

// A quarter of one stream's real time: 12.5 hops/s, 5 a 400 ms selection interval (framesMin 3:
// an interval with fewer is not counted, so a slower stream would leave the late fraction of the
// fast one standing). So low that the teacher stays far under utilizationDown even when two other
// processes load both cores and a hop takes it 20 ms or more (at one stream in real time, 50
// hops/s, a loaded run stepped down before the rate rose).
const LOW_SPEED = 0.25;
const HIGH_SPEED = 40;
const STUDENT = 'keywords/student';

describe('model switching on the keyword stream under a rising and falling hop rate (teacher on onnx, student on sim)', () => {
  it('steps down to the student when the hop rate rises past the teacher, back up when it falls', async () => {
    const dir = tempDir('keywords-switching');
    const base = join(dir, 'triggers.jsonl');
    const cfg = validateConfig({
      pipeline: 'keywords-switching',
      model: 'models/zoo/keywords',
      backend: 'sim',
      models: [{ name: 'teacher', model: 'models/zoo/keywords', variant: 'teacher', backend: 'onnx' }],
      // A budget the teacher meets alone even on a loaded machine: what it cannot do is keep up.
      // Its tail limit the whole budget (tailBudgetFraction 1): this test is of the load's switches
      // (model-selector.test.ts has the tail's).
      budgetUs: 100_000,
      modelSelection: { mode: 'budget', intervalMs: 400, framesMin: 3, holdUpMs: 600, dwellMinMs: 400, lateFractionDown: 0.5, lateFractionUp: 0.2, tailBudgetFraction: 1 },
      source: { kind: 'wav', path: join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark', 'yes'), pacing: `x${LOW_SPEED}`, loop: true },
      trigger: { maxRatePerS: 1e7, burst: 1_000_000 },
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
      expect(d.models.name).toBe('teacher'); // the most accurate by its card
      // Low rate: the teacher keeps up; a "yes" is detected under it.
      await until('a detection under the teacher at the low rate', () => d.metrics.triggers >= 1 && d.metrics.frames >= 60, 180_000);
      expect(switches()).toEqual([]);
      // High rate: forty streams' worth of hops, far past what the teacher serves.
      pacing.setSpeed(HIGH_SPEED);
      await until('a step down', () => switches().length >= 1, 180_000);
      const framesAtDown = d.metrics.frames;
      const triggersAtDown = d.metrics.triggers;
      await until('detections under the student', () => d.metrics.frames >= framesAtDown + 2000 && d.metrics.triggers >= triggersAtDown + 3, 180_000);
      // Low again: after the hold, back up to the teacher.
      pacing.setSpeed(LOW_SPEED);
      await until('a step up', () => switches().length >= 2, 180_000);
      const triggersAtUp = d.metrics.triggers;
      await until('a detection under the teacher again', () => d.metrics.triggers >= triggersAtUp + 2, 180_000);
    } finally {
      await d.stop();
    }
    expectDownThenUp(d, controls, log, base, STUDENT);
  }, 600_000);

  it('the shipped host/configs/keywords-sizes.yaml starts: the teacher and two student sizes, ranked by their cards, the teacher first', async () => {
    const file = join(REPO, 'host', 'configs', 'keywords-sizes.yaml');
    const cfg = { ...loadConfigFile(file), sinks: {}, server: { ...loadConfigFile(file).server, enabled: false } };
    cfg.source = { ...cfg.source!, pacing: 'max', loop: false } as typeof cfg.source;
    const cardOf = (folder: string) => JSON.parse(readFileSync(join(REPO, 'models', 'zoo', folder, 'card.json'), 'utf8'));
    const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: join(REPO, 'host', 'configs'), firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });
    try {
      expect(d.models.names).toEqual([STUDENT, 'teacher', 'w24']);
      // On the simulator a student is ranked by its fixed-point accuracy, the teacher (onnx) by its float one.
      const ranked = d.selection!.selector.models.map((m) => [m.name, m.accuracy]);
      expect(ranked).toEqual([[STUDENT, cardOf('keywords').student.fixedAccuracyEmulated], ['teacher', cardOf('keywords').teacher.accuracy], ['w24', cardOf('keywords-w24').student.fixedAccuracyEmulated]]);
      d.start();
      expect(d.models.name).toBe('teacher');
      await d.sourceDone;
    } finally {
      await d.stop();
    }
    expect(d.view.snapshot().modelSelection?.estimates).toHaveLength(3);
  }, 180_000);
});
