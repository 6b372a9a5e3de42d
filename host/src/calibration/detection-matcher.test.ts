import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MLPERF_RULES, scoreStream, type Detection, type ScoreRules, type TruthWindow } from '../modalities/audio/score.js';
import { DetectionMatcher } from './detection-matcher.js';

const WORDS = ['yes', 'no', 'up'];
const wordIndex = (w: TruthWindow) => (w.word === null ? -1 : WORDS.indexOf(w.word));

/** Random truth windows and detections on a 10 ms grid (so detections fall exactly on window
 * edges and on debounce boundaries often), windows overlapping and of any word or none. */
const streams = fc.record({
  windows: fc.array(fc.record({ start: fc.integer({ min: 0, max: 600 }), len: fc.integer({ min: 0, max: 150 }), word: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }) }), { maxLength: 25 }),
  detections: fc.array(fc.record({ at: fc.integer({ min: 0, max: 800 }), word: fc.integer({ min: 0, max: 2 }) }), { maxLength: 60 }),
  rules: fc.constantFrom<ScoreRules>(MLPERF_RULES, { acceptAfterEndS: 0.5, debounceS: 1 }, { acceptAfterEndS: 0, debounceS: 0.3 }),
});

type Case = typeof streams extends fc.Arbitrary<infer T> ? T : never;
function build(c: Case): { windows: TruthWindow[]; dets: Detection[] } {
  const windows = c.windows.map((w) => ({ startS: w.start / 100, endS: (w.start + w.len) / 100, word: w.word === null ? null : WORDS[w.word]! }));
  const dets = c.detections.map((d) => ({ streamMs: d.at * 10, word: WORDS[d.word]! })).sort((a, b) => a.streamMs - b.streamMs);
  return { windows, dets };
}

describe('DetectionMatcher: MLPerf Tiny streaming rules, one detection at a time', () => {
  it("ends with the batch scorer's counts, delays and windows detected (random windows and detections)", () => {
    fc.assert(
      fc.property(streams, (c) => {
        const { windows, dets } = build(c);
        const want = scoreStream(windows, dets, c.rules);
        const m = new DetectionMatcher(windows, wordIndex, c.rules);
        for (const d of dets) m.detectAt(d.streamMs, WORDS.indexOf(d.word));
        m.finish();
        expect([m.truePositives, m.misses, m.falseAlarms, m.pending]).toEqual([want.truePositives, want.misses, want.falseAlarms, 0]);
        expect(Array.from(m.delaysMs.subarray(0, m.truePositives)).sort((a, b) => a - b)).toEqual([...want.delayMs].sort((a, b) => a - b));
        // Every detection is a window's first, a repeat of a detected window's, or left over (a false alarm or debounced).
        expect(m.detections).toBe(dets.length);
        const perWord = WORDS.map((_, k) => m.tally(Uint8Array.from(WORDS, (__, j) => (j === k ? 1 : 0))));
        for (const [k, w] of WORDS.entries()) {
          const of = want.windows.filter((o) => o.word === w);
          expect(perWord[k]).toEqual({ decided: of.length, detected: of.filter((o) => o.detected).length });
        }
      }),
      { numRuns: 400, seed: 15_015 },
    );
  });

  it('mid-stream: a window is a true positive from its first detection and a miss once the stream passes its end + acceptAfterEnd', () => {
    fc.assert(
      fc.property(streams, fc.integer({ min: 0, max: 900 }), (c, cutAt) => {
        const { windows, dets } = build(c);
        const cutMs = cutAt * 10 + 5; // between grid points: no detection sits on the cut
        const want = scoreStream(windows, dets, c.rules);
        const m = new DetectionMatcher(windows, wordIndex, c.rules);
        for (const d of dets) if (d.streamMs < cutMs) m.detectAt(d.streamMs, WORDS.indexOf(d.word));
        m.advanceTo(cutMs);
        const closed = (o: TruthWindow) => o.endS * 1000 + c.rules.acceptAfterEndS * 1000 < cutMs;
        expect(m.truePositives).toBe(want.windows.filter((o) => o.detected && o.triggerMs! < cutMs).length);
        expect(m.misses).toBe(want.windows.filter((o) => closed(o) && !(o.detected && o.triggerMs! < cutMs)).length);
        expect(m.falseAlarms).toBe(want.falseAlarmMs.filter((t) => t < cutMs).length);
      }),
      { numRuns: 400, seed: 15_016 },
    );
  });

  it('scores the hand-built list of the batch tests the same way (2 tp, 1 miss, 2 false alarms)', () => {
    const windows = [{ startS: 1.0, endS: 1.647625, word: null }, { startS: 4.0, endS: 4.76175, word: null }, { startS: 7.0, endS: 7.358625, word: null }];
    const m = new DetectionMatcher(windows, () => -1, MLPERF_RULES);
    for (const t of [1300, 1500, 4900, 6500, 6900]) m.detectAt(t, 0);
    expect([m.truePositives, m.misses, m.falseAlarms, m.repeats, m.pending]).toEqual([2, 0, 1, 1, 1]);
    m.advanceTo(8358.625); // the third window's end + 1 s, inclusive: still open
    expect(m.pending).toBe(1);
    m.advanceTo(8358.7);
    expect([m.misses, m.pending]).toEqual([1, 0]);
    m.detectAt(8400, 0);
    expect(m.falseAlarms).toBe(2);
  });
});
