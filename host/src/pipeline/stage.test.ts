import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameValueError } from '../core/errors.js';
import { FrameRing, STAMP } from '../core/frame.js';
import { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import { ErrorLog } from './error-log.js';
import { buildPipeline } from './pipeline.js';
import type { FrameStage } from './stage.js';

const pass = (name: FrameStage['name'], advanceNs: number, clock: ReturnType<typeof manualClock>, fail?: (seq: number) => boolean): FrameStage => ({
  name,
  run(slot) {
    clock.advanceNs(advanceNs);
    if (fail?.(slot.seq)) throw new FrameValueError(`frame seq ${slot.seq}`, 'bad');
    if (name === 'policy') {
      slot.predicted = slot.seq % 2;
      slot.triggered = slot.seq % 3 === 0;
    }
    return true;
  },
});

describe('pipeline', () => {
  function setup(fail?: (seq: number) => boolean, bug = false) {
    const clock = manualClock(0);
    const metrics = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['A', 'B'], budgetUs: 2 }, clock);
    const lines: string[] = [];
    const errors = new ErrorLog(metrics, (l) => lines.push(l));
    const infer: FrameStage = bug ? { name: 'infer', run: () => { throw new TypeError('a bug'); } } : pass('infer', 1000, clock, fail);
    const bugs: unknown[] = [];
    const p = buildPipeline({ decode: pass('decode', 100, clock), preprocess: pass('preprocess', 200, clock), infer, policy: pass('policy', 300, clock), emit: pass('emit', 400, clock) }, clock, metrics, errors, (e) => bugs.push(e));
    const ring = new FrameRing(1, 2, 4);
    return { clock, metrics, errors, lines, p, ring, bugs };
  }

  it('times every stage from the slot stamps and counts frames, triggers, classes and budget violations', () => {
    const { clock, metrics, p, ring } = setup();
    for (let i = 0; i < 9; i++) {
      const s = ring.acquire();
      s.seq = i;
      s.label = i % 2;
      clock.stamp(s.stampsNs, 0);
      s.dueNs = s.stampsNs[0];
      p.push(s);
      expect(s.stampsNs[STAMP.emit] - s.stampsNs[0]).toBe(2000);
    }
    const snap = metrics.snapshot();
    expect(snap.frames).toBe(9);
    expect(snap.triggers).toBe(3);
    expect(snap.stagesUs.infer.p50).toBeCloseTo(1, 2);
    expect(snap.stagesUs.emit.p50).toBeCloseTo(0.4, 2);
    expect(snap.e2eUs.p50).toBeCloseTo(2, 2);
    expect(snap.budgetViolations).toBe(0);
    expect(snap.perClass).toEqual({ A: 5, B: 4 });
    expect(snap.confusion).toEqual([[5, 0], [0, 4]]);
  });

  it('drops a frame whose stage throws an operating error, counts it under its code, and goes on', () => {
    const { metrics, errors, lines, p, ring } = setup((seq) => seq === 2 || seq === 5);
    for (let i = 0; i < 8; i++) {
      const s = ring.acquire();
      s.seq = i;
      p.push(s);
    }
    const snap = metrics.snapshot();
    expect(snap.frames).toBe(6);
    expect(snap.dropped).toBe(2);
    expect(snap.errorsByCode).toEqual({ E_FRAME_VALUE: 2 });
    expect(errors.recent().map((e) => e.message)).toEqual([expect.stringMatching(/^infer: frame seq 2: /), expect.stringMatching(/^infer: frame seq 5: /)]);
    expect(lines.length).toBe(2);
  });

  it('closes the stream and reports a programmer error instead of counting it', () => {
    const { metrics, p, ring, bugs } = setup(undefined, true);
    p.push(ring.acquire());
    expect(bugs).toHaveLength(1);
    expect(bugs[0]).toBeInstanceOf(TypeError);
    expect(p.subscription.closed).toBe(true);
    expect(metrics.snapshot().dropped).toBe(0);
  });
});
