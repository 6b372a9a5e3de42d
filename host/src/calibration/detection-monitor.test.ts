import { describe, expect, it } from 'vitest';
import { FrameRing } from '../core/frame.js';
import { createRng } from '../core/rng.js';
import { MLPERF_RULES, scoreStream, type StreamTruth } from '../modalities/audio/score.js';
import { CALIBRATION_FORMAT, type CalibrationFile } from './calibration-file.js';
import { DetectionMonitor } from './detection-monitor.js';

const LABELS = ['silence', 'unknown', 'yes', 'no', 'marvin'];
const HOP_MS = 20;

const calibration: CalibrationFile = {
  format: CALIBRATION_FORMAT, method: 'split-conformal', guarantee: '', createdAt: 'now',
  model: { task: 'keywords', variant: 'student', backend: 'sim', labels: LABELS },
  data: { source: 'test', frames: 10, byClass: {} },
  targets: [
    { kind: 'recall', classes: ['yes', 'no', 'marvin'], target: 0.9, threshold: 0.2, n: 100, k: 10, bound: 0.91 },
    { kind: 'falseRate', classes: ['yes'], target: 0.05, threshold: 0.6, n: 100, k: 96, bound: 0.05 },
    { kind: 'recall', classes: ['yes'], target: 0.8, threshold: 0.3, n: 40, k: 8, bound: 0.8 },
  ],
  reference: { score: 'top', per: 'hop', sorted: [0.5] },
};

/** A random stream: a truth window every few seconds (a word or none), a decided frame every
 * hop, a few of them detections (triggered, or missed when late) of random words. */
function randomStream(seed: number): { truth: StreamTruth; hops: Array<{ ms: number; word: number; triggered: boolean; missed: boolean }> } {
  const rng = createRng(seed);
  const windows = [];
  for (let s = 0.5; s < 55; s += 1 + rng.uniform() * 3) windows.push({ startS: s, endS: s + rng.uniform() * 0.8, word: rng.uniform() < 0.15 ? null : LABELS[2 + Math.floor(rng.uniform() * 3)]! });
  const hops = [];
  for (let ms = HOP_MS; ms <= 60_000; ms += HOP_MS) {
    const fires = rng.uniform() < 0.02;
    const late = fires && rng.uniform() < 0.3;
    hops.push({ ms, word: 2 + Math.floor(rng.uniform() * 3), triggered: fires && !late, missed: late });
  }
  return { truth: { wavFile: 's.wav', lengthS: 60, windows }, hops };
}

describe('DetectionMonitor', () => {
  for (const [name, settings] of [
    ['every word, triggers only', { includeMissed: false }],
    ['one word (marvin), missed detections too', { includeMissed: true, word: 'marvin' }],
  ] as const) {
    it(`${name}: the batch scorer's counts on the detections it was given, recall per target, false alarms per hour`, () => {
      const seen = [0, 0, 0];
      for (const seed of [1, 2, 3]) {
        const { truth, hops } = randomStream(seed);
        const m = new DetectionMonitor(truth, { file: 't.json', ...settings }, LABELS, calibration);
        const ring = new FrameRing(1, LABELS.length, 4);
        for (const h of hops) {
          const slot = ring.acquire();
          slot.sensorNs = h.ms * 1e6;
          slot.predicted = h.word;
          slot.triggered = h.triggered;
          slot.missed = h.missed;
          m.record(slot);
        }
        m.finish();
        const word = 'word' in settings ? settings.word : null;
        const counted = hops.filter((h) => h.triggered || (settings.includeMissed && h.missed));
        const dets = counted.map((h) => ({ streamMs: h.ms, word: LABELS[h.word]! })).filter((d) => word === null || d.word === word);
        const windows = truth.windows.map((w) => ({ ...w, word: w.word ?? word }));
        const want = scoreStream(windows, dets, MLPERF_RULES);
        const v = m.read();
        for (const [k, n] of [want.truePositives, want.misses, want.falseAlarms].entries()) seen[k] += n;
        expect([v.truePositives, v.misses, v.falseAlarms, v.pending, v.detections, v.otherWords]).toEqual([want.truePositives, want.misses, want.falseAlarms, 0, dets.length, counted.length - dets.length]);
        expect(v.falseAlarmsPerHour).toBeCloseTo(want.falseAlarms / (60 / 3600), 9);
        expect(v.delayMs?.max ?? null).toBe(want.delayMs.length === 0 ? null : Math.max(...want.delayMs));
        // The recall targets only, each over its words' windows (a window of no word: the word
        // scored, else any word, counted in none).
        expect(v.targets.map((t) => t.classes)).toEqual([['yes', 'no', 'marvin'], ['yes']]);
        for (const t of v.targets) {
          const of = want.windows.filter((w) => w.word !== null && t.classes.includes(w.word));
          expect([t.windows, t.detected], `${seed} ${t.classes.join(',')}`).toEqual([of.length, of.filter((w) => w.detected).length]);
          expect(t).toMatchObject({ per: 'clip', target: calibration.targets.find((x) => x.kind === 'recall' && x.classes.join() === t.classes.join())!.target });
        }
      }
      expect(seen.every((n) => n > 0), `the streams held hits, misses and false alarms: ${seen}`).toBe(true);
    });
  }

  it('before the end: the stream seen so far, windows still open pending, per hour over the stream seen', () => {
    const truth: StreamTruth = { wavFile: 's.wav', lengthS: 3600, windows: [{ startS: 1, endS: 1.5, word: 'yes' }, { startS: 10, endS: 10.5, word: 'no' }] };
    const m = new DetectionMonitor(truth, { file: 't.json', includeMissed: false }, LABELS, null);
    const slot = new FrameRing(1, LABELS.length, 4).acquire();
    const hop = (ms: number, word = -1) => {
      slot.sensorNs = ms * 1e6;
      slot.predicted = word;
      slot.triggered = word >= 0;
      m.record(slot);
    };
    hop(1200, 3); // "no" during the "yes" window: a false alarm
    hop(3000);
    let v = m.read();
    expect(v).toMatchObject({ truePositives: 0, misses: 1, pending: 1, falseAlarms: 1, streamS: 3, ended: false, targets: [] });
    expect(v.falseAlarmsPerHour).toBeCloseTo(1200, 9);
    hop(10_400, 3);
    m.finish();
    v = m.read();
    expect(v).toMatchObject({ truePositives: 1, misses: 1, pending: 0, ended: true, recall: 0.5, delayMs: { count: 1, p50: -100, max: -100 } });
    expect(v.falseAlarmsPerHour).toBeCloseTo(1, 9); // over the truth's length once ended
    // A frame without stream time counts nothing.
    slot.sensorNs = Number.NaN;
    m.record(slot);
    expect(m.read().detections).toBe(2);
  });
});
