import { describe, expect, it } from 'vitest';
import { FrameRing } from '../core/frame.js';
import { createRng } from '../core/rng.js';
import { CALIBRATION_FORMAT, type CalibrationFile } from './calibration-file.js';
import { CalibrationMonitor } from './monitor.js';

const LABELS = ['RBC', 'WBC', 'Platelets'];

function file(reference: number[]): CalibrationFile {
  return {
    format: CALIBRATION_FORMAT, method: 'split-conformal', guarantee: '', createdAt: 'now',
    model: { task: 't', variant: 'student', backend: 'sim', labels: LABELS },
    data: { source: 'test', frames: reference.length, byClass: {} },
    targets: [
      { kind: 'recall', classes: ['WBC'], target: 0.9, threshold: 0.6, n: 50, k: 5, bound: 0.9 },
      { kind: 'falseRate', classes: ['WBC', 'Platelets'], target: 0.05, threshold: 0.7, n: 500, k: 477, bound: 0.046 },
      { kind: 'recall', classes: ['WBC', 'Platelets'], target: 0.8, threshold: 0.3, n: 100, k: 20, bound: 0.8 },
      { kind: 'falseRate', classes: ['Platelets'], target: 0.1, threshold: 0.4, n: 100, k: 91, bound: 0.1 },
    ],
    reference: { score: 'top', sorted: [...reference].sort((a, b) => a - b) },
  };
}

describe('CalibrationMonitor', () => {
  it('counts each rate at its threshold as an independent count over the same frames does', () => {
    const rng = createRng(9);
    const m = new CalibrationMonitor(file([0.5, 0.9]), 'c.json', LABELS, { windowFrames: 64, driftAlpha: 0.001 });
    const ring = new FrameRing(1, 3, 4);
    const frames: Array<{ p: number[]; label: number }> = [];
    for (let i = 0; i < 2000; i++) {
      const a = rng.uniform();
      const b = rng.uniform() * (1 - a);
      const p = [a, b, 1 - a - b];
      const label = i % 7 === 0 ? -1 : Math.floor(rng.uniform() * 3);
      const slot = ring.acquire();
      slot.probs.set(p);
      slot.predicted = 0;
      slot.label = label;
      m.record(slot);
      frames.push({ p: Array.from(slot.probs), label });
    }
    const v = m.read();
    const wbc = frames.filter((f) => f.label === 1);
    expect(v.targets[0]).toMatchObject({ labelled: wbc.length, passed: wbc.filter((f) => f.p[1]! >= 0.6).length });
    const neg = frames.filter((f) => f.label === 0);
    expect(v.targets[1]).toMatchObject({ labelled: neg.length, passed: neg.filter((f) => f.p[1]! >= 0.7 || f.p[2]! >= 0.7).length });
    expect(v.targets[1]!.achieved).toBeCloseTo(v.targets[1]!.passed / neg.length, 12);
    // The targets' recall together: a WBC or Platelets frame passes on its own class's probability.
    const own = frames.filter((f) => f.label === 1 || f.label === 2);
    expect(v.targets[2]).toMatchObject({ labelled: own.length, passed: own.filter((f) => f.p[f.label]! >= 0.3).length });
    // One class's false-trigger rate: frames of the other classes on which Platelets passes.
    const notPlatelets = frames.filter((f) => f.label === 0 || f.label === 1);
    expect(v.targets[3]).toMatchObject({ labelled: notPlatelets.length, passed: notPlatelets.filter((f) => f.p[2]! >= 0.4).length });
    expect(v.drift.per).toBe('frame');
  });

  it("counts a calibrated cascade cut at the cut: the wrong labelled frames it sends (catch), or every frame it sends (send)", () => {
    const rng = createRng(11);
    const frames: Array<{ p: number[]; label: number }> = [];
    for (let i = 0; i < 1500; i++) {
      const a = rng.uniform();
      const b = rng.uniform() * (1 - a);
      frames.push({ p: [a, b, 1 - a - b], label: i % 5 === 0 ? -1 : Math.floor(rng.uniform() * 3) });
    }
    const cascade = (on: 'margin' | 'entropy', promise: 'catch' | 'send', value: number) => ({ on, value, promise, target: 0.9, n: 100, k: 91, bound: 0.9 });
    // Independent statements of the two quantities.
    const marginOf = (p: number[]) => { const s = [...p].sort((x, y) => y - x); return s[0]! - s[1]!; };
    const entropyOf = (p: number[]) => -p.reduce((h, x) => (x > 0 ? h + x * Math.log(x) : h), 0) / Math.log(p.length);
    for (const [on, promise, value] of [['margin', 'catch', 0.3], ['entropy', 'send', 0.6]] as const) {
      const m = new CalibrationMonitor({ ...file([0.5, 0.9]), cascade: cascade(on, promise, value) }, 'c.json', LABELS, { windowFrames: 64, driftAlpha: 0.001 });
      const ring = new FrameRing(1, 3, 4);
      const kept: Array<{ p: number[]; label: number }> = [];
      for (const f of frames) {
        const slot = ring.acquire();
        slot.probs.set(f.p);
        slot.predicted = 0;
        slot.label = f.label;
        m.record(slot);
        kept.push({ p: Array.from(slot.probs), label: f.label });
      }
      const counted = promise === 'send' ? kept : kept.filter((f) => f.label >= 0 && f.p.indexOf(Math.max(...f.p)) !== f.label);
      const sent = counted.filter((f) => (on === 'margin' ? marginOf(f.p) < value : entropyOf(f.p) > value));
      expect(m.read().cascade, `${on} ${promise}`).toMatchObject({ on, promise, cut: value, frames: counted.length, sent: sent.length });
      m.reset();
      expect(m.read().cascade).toMatchObject({ frames: 0, sent: 0, achieved: null });
    }
    expect(new CalibrationMonitor(file([0.5]), 'c.json', LABELS, { windowFrames: 64, driftAlpha: 0.001 }).read().cascade).toBeNull();
  });

  it('tests nothing until the window is full, then the window of the newest frames', () => {
    const m = new CalibrationMonitor(file(Array.from({ length: 200 }, (_, i) => 0.5 + i / 400)), 'c.json', LABELS, { windowFrames: 100, driftAlpha: 0.001 });
    const ring = new FrameRing(1, 3, 4);
    const push = (top: number) => {
      const slot = ring.acquire();
      slot.probs.set([top, (1 - top) / 2, (1 - top) / 2]);
      slot.predicted = 0;
      slot.label = -1;
      m.record(slot);
    };
    for (let i = 0; i < 99; i++) push(0.5 + (i % 50) / 100);
    expect(m.read().drift).toMatchObject({ frames: 99, pValue: null, drift: false, checks: 0 });
    push(0.75);
    const quiet = m.read().drift;
    expect(quiet.pValue!).toBeGreaterThan(0.1);
    // 100 frames of one far lower score push every old one out: drift.
    for (let i = 0; i < 100; i++) push(0.34);
    const loud = m.read().drift;
    expect(loud).toMatchObject({ frames: 100, statistic: 1, drift: true, checks: 2, flaggedChecks: 1 });
    m.reset();
    expect(m.read().drift.frames).toBe(0);
  });
});
