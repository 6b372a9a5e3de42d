import { describe, expect, it } from 'vitest';
import { FrameRing } from '../core/frame.js';
import { AgreementCounter, TruthCounts } from './quality.js';

describe('quality counters', () => {
  const ring = new FrameRing(1, 3, 4, 3);
  function slot(label: number, triggered: boolean, late: boolean, probs: number[] = [1, 0, 0], aux: number[] = [1, 0, 0]) {
    const s = ring.acquire();
    Object.assign(s, { label, triggered, late, predicted: 0 });
    s.probs.set(probs);
    s.aux.set(aux);
    return s;
  }

  it('purity and yield over the targets in force; null before a labelled frame', () => {
    const t = new TruthCounts(3);
    expect(t.quality(['a', 'b', 'c'], ['b'], [0, 0, 0])).toBeNull();
    // b: 4 frames, 2 triggered, 1 late; a: 2 frames, 1 triggered (a false positive); unlabelled ignored.
    for (const [l, tr, late] of [[1, true, false], [1, true, false], [1, false, true], [1, false, false], [0, true, false], [0, false, false], [-1, true, false]] as const) t.record(slot(l, tr, late));
    expect(t.quality(['a', 'b', 'c'], ['b'], [0, 1, 0])).toEqual({ labelled: 6, targets: 4, triggers: 3, triggersOnTargets: 2, purity: 2 / 3, yield: 0.5, targetsMissedLate: 1, targetsSuppressed: 1, triggersByTruth: { a: 1, b: 2, c: 0 } });
  });

  it('agreement: top-1 over frames both decided; recent over the frames since a sample a window old', () => {
    const g = new AgreementCounter('teacher', 0, 3, 5);
    for (let i = 0; i < 10; i++) g.record(slot(-1, false, false, [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]));
    g.record(slot(-1, false, false, [0.1, 0.8, 0.1], [Number.NaN, 0, 0]));
    expect(g.read(0)).toEqual({ other: 'teacher', frames: 10, agreed: 10, recent: 1, windowS: 5 });
    for (let i = 0; i < 10; i++) g.record(slot(-1, false, false, [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]));
    expect(g.read(2e9)).toMatchObject({ frames: 20, agreed: 10, recent: 0.5 });
    expect(g.read(6e9)).toMatchObject({ recent: 0 }); // since the sample at t = 0 s: the 10 that disagreed
  });
});
