import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { MLPERF_RULES, readDetections, readTruth, scoreStream, type Detection, type ScoreRules, type TruthWindow } from './score.js';

const SWW = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'audio', 'mlperf-tiny-wakeword', 'sww_short_test.json');
const W = (startS: number, endS: number, word: string | null = null): TruthWindow => ({ startS, endS, word });
const D = (streamMs: number, word = 'marvin'): Detection => ({ streamMs, word });

/**
 * The reference: the same rules computed on a 1 ms grid, as MLPerf's training-side evaluator
 * computes them on a sample grid (masks zeroed over each window's range, then a walk that
 * skips `debounce` after each false alarm), with integer ms throughout.
 */
function gridScore(windows: readonly TruthWindow[], dets: readonly Detection[], rules: ScoreRules): { tp: number; misses: number; fa: number[]; delays: number[] } {
  const ms = (s: number) => Math.round(s * 1000);
  const words = [...new Set(dets.map((d) => d.word))];
  const horizon = Math.max(0, ...dets.map((d) => d.streamMs)) + 1;
  const grid = new Map(words.map((w) => [w, new Int32Array(horizon)]));
  for (const d of dets) grid.get(d.word)![d.streamMs]++;
  let tp = 0;
  const delays: number[] = [];
  const ordered = windows.map((w, i) => [w, i] as const).sort((a, b) => a[0].startS - b[0].startS || a[1] - b[1]);
  for (const [w] of ordered) {
    const to = Math.min(horizon - 1, ms(w.endS) + ms(rules.acceptAfterEndS));
    let first = -1;
    for (const [word, g] of grid) {
      if (w.word !== null && word !== w.word) continue;
      for (let t = ms(w.startS); t <= to; t++) {
        if (g[t]! > 0 && (first < 0 || t < first)) first = t;
        g[t] = 0;
      }
    }
    if (first >= 0) {
      tp++;
      delays.push(first - ms(w.endS));
    }
  }
  const fa: number[] = [];
  for (let t = 0; t < horizon; t++) {
    if ([...grid.values()].some((g) => g[t]! > 0)) {
      fa.push(t);
      t += ms(rules.debounceS);
    }
  }
  return { tp, misses: windows.length - tp, fa, delays };
}

describe('scoreStream (MLPerf Tiny streaming wake-word rules)', () => {
  it('scores a hand-built trigger list on the benchmark windows as the rules say', () => {
    const windows = [W(1.0, 1.647625), W(4.0, 4.76175), W(7.0, 7.358625)];
    // 1.3 and 1.5 s: one utterance; 4.9 s: within 1 s of the second's end; 6.5 s: a false alarm;
    // 6.9 s: within its 1 s debounce; 8.4 s: past the third's end + 1 s, a second false alarm.
    const s = scoreStream(windows, [D(1300), D(1500), D(4900), D(6500), D(6900), D(8400)]);
    expect([s.truePositives, s.misses, s.falseAlarms]).toEqual([2, 1, 2]);
    expect(s.falseAlarmMs).toEqual([6500, 8400]);
    expect(s.delayMs[0]).toBeCloseTo(1300 - 1647.625, 9);
    expect(s.delayMs[1]).toBeCloseTo(4900 - 4761.75, 9);
    expect(s.windows.map((w) => w.detected)).toEqual([true, true, false]);
  });

  it('takes both ends of a window range and debounces false alarms over (t, t + 1 s]', () => {
    expect(scoreStream([W(1, 1.5)], [D(1000)]).truePositives).toBe(1);
    expect(scoreStream([W(1, 1.5)], [D(2500)]).truePositives).toBe(1);
    expect(scoreStream([W(1, 1.647)], [D(2647)]).truePositives).toBe(1); // 1.647 s * 1000 is not exact
    const late = scoreStream([W(1, 1.5)], [D(2501)]);
    expect([late.truePositives, late.misses, late.falseAlarms]).toEqual([0, 1, 1]);
    expect(scoreStream([], [D(0), D(1000), D(1001), D(2000), D(2002)]).falseAlarmMs).toEqual([0, 1001, 2002]);
  });

  it('with words: a window takes only its word, a wrong word is a false alarm', () => {
    const s = scoreStream([W(1, 1.5, 'yes'), W(3, 3.5, 'no')], [D(1200, 'no'), D(1400, 'yes'), D(3300, 'no')]);
    expect([s.truePositives, s.misses, s.falseAlarms]).toEqual([2, 0, 1]);
    expect(s.falseAlarmMs).toEqual([1200]);
    expect(s.words).toEqual(['no', 'yes', 'no']);
  });

  it('agrees with a 1 ms grid computation on random windows and triggers', () => {
    const word = fc.constantFrom('yes', 'no', 'marvin');
    const windowMs = fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 0, max: 1500 }));
    fc.assert(
      fc.property(
        fc.array(windowMs, { maxLength: 6 }),
        fc.boolean(),
        fc.array(word, { minLength: 6, maxLength: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), word), { maxLength: 30 }),
        fc.constantFrom(0.5, 1),
        fc.constantFrom(0.25, 1),
        (wins, labelled, labels, dets, acceptAfterEndS, debounceS) => {
          const windows = wins.map(([s, len], i) => W(s / 1000, (s + len) / 1000, labelled ? labels[i]! : null));
          const detections = dets.map(([t, w]) => D(t, w));
          const rules = { acceptAfterEndS, debounceS };
          const got = scoreStream(windows, detections, rules);
          const want = gridScore(windows, detections, rules);
          expect([got.truePositives, got.misses, got.falseAlarmMs]).toEqual([want.tp, want.misses, want.fa]);
          expect(got.delayMs.map(Math.round)).toEqual(want.delays);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('uses the runner rules by default', () => {
    expect(MLPERF_RULES).toEqual({ acceptAfterEndS: 1, debounceS: 1 });
  });
});

describe('readTruth and readDetections', () => {
  it("reads MLPerf Tiny's own truth file", () => {
    const t = readTruth(SWW);
    expect(t.wavFile).toBe('short_wav_easy10s.wav');
    expect(t.lengthS).toBe(10);
    expect(t.windows.map((w) => [w.startS, w.endS])).toEqual([[1.0, 1.6476250000000001], [4.0, 4.76175], [7.0, 7.358625]]);
  });

  it('names the file and the fault in a typed error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-score-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ wav_file: 'a.wav', length_sec: 2, detection_windows: [[1.5, 1.0]] }]));
    expect(() => readTruth(bad)).toThrow(ConfigError);
    expect(() => readTruth(bad)).toThrow(/bad\.json: a\.wav detection_windows\.0/);
    writeFileSync(bad, JSON.stringify([{ wav_file: 'a.wav', length_sec: 2, detection_windows: [] }, { wav_file: 'b.wav', length_sec: 2, detection_windows: [] }]));
    expect(() => readTruth(bad)).toThrow(/name one with --wav/);
    expect(readTruth(bad, 'b.wav').wavFile).toBe('b.wav');
    const log = join(dir, 't.jsonl');
    writeFileSync(log, [
      { kind: 'trigger', class: 'yes', streamMs: 900 },
      { kind: 'missed', class: 'no', streamMs: 300 },
      { kind: 'trigger', class: 'go', streamMs: 100 },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(readDetections([log], { includeMissed: false })).toEqual([D(100, 'go'), D(900, 'yes')]);
    expect(readDetections([log], { includeMissed: true }).map((d) => d.word)).toEqual(['go', 'no', 'yes']);
    writeFileSync(log, JSON.stringify({ kind: 'trigger', class: 'yes', streamMs: null }) + '\n');
    expect(() => readDetections([log], { includeMissed: false })).toThrow(/t\.jsonl:1/);
  });
});
