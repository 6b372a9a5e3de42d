import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CALIBRATION_FORMAT, readCalibrationFile, writeCalibrationFile, type CalibrationFile } from './calibration-file.js';
import { nextUp } from './conformal.js';
import { calibrateThresholds, type LabelledScores } from './thresholds.js';

const LABELS = ['RBC', 'WBC', 'Platelets'];

/** 60 frames a class; class c's own probability rises with the frame index. */
function scores(): LabelledScores {
  const truth: number[] = [];
  const probs: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 60; i++) {
      const own = 0.4 + (0.6 * i) / 60;
      const p = [0, 0, 0].map((_, k) => (k === c ? own : (1 - own) / 2));
      truth.push(c);
      probs.push(...p);
    }
  }
  return { labels: LABELS, truth: Int16Array.from(truth), probs: Float32Array.from(probs), source: 'test' };
}

describe('calibrateThresholds', () => {
  it('gives a recall class its own threshold and makes it a target', () => {
    const r = calibrateThresholds(scores(), [{ kind: 'recall', cls: 'Platelets', recall: 0.9 }], ['WBC']);
    // floor(0.1 * 61) = 6: the 6th smallest Platelets score, frame 5's.
    expect(r.thresholds.Platelets).toBe(Math.fround(0.4 + (0.6 * 5) / 60));
    expect(r.triggerTargets).toEqual(['WBC', 'Platelets']);
    expect(r.threshold).toBeNull();
    expect(r.byClass).toEqual({ RBC: 60, WBC: 60, Platelets: 60 });
    expect(r.reference).toHaveLength(180);
    expect([...r.reference].sort((a, b) => a - b)).toEqual(r.reference);
  });

  it('sets one threshold over the targets for a false-trigger rate', () => {
    const r = calibrateThresholds(scores(), [{ kind: 'falseRate', rate: 0.05 }], ['WBC']);
    expect(r.targets[0]).toMatchObject({ kind: 'falseRate', classes: ['WBC'], n: 120, k: Math.ceil(0.95 * 121) });
    expect(r.threshold).not.toBeNull();
  });

  it('sets one threshold over the targets for their recall together: the order statistic of each target frame\'s own score', () => {
    const r = calibrateThresholds(scores(), [{ kind: 'recallTargets', recall: 0.9 }], ['WBC', 'Platelets']);
    // 120 target frames (WBC and Platelets): floor(0.1 * 121) = 12, the 12th smallest own score;
    // each class's own scores are frame i's 0.4 + 0.6 i / 60, so the 12th smallest is i = 5 (twice each for i = 0..5).
    expect(r.targets[0]).toMatchObject({ kind: 'recall', classes: ['WBC', 'Platelets'], n: 120, k: 12 });
    expect(r.threshold).toBe(Math.fround(0.4 + (0.6 * 5) / 60));
    expect(r.thresholds).toEqual({});
    expect(r.referencePer).toBe('frame');
  });

  it("sets a class's own threshold for its false-trigger rate over the frames of every other class", () => {
    const r = calibrateThresholds(scores(), [{ kind: 'falseRate', cls: 'WBC', rate: 0.05 }], ['WBC']);
    // 120 non-WBC frames whose WBC probability is (1 - own)/2; k = ceil(0.95 * 121) = 115.
    const neg = Array.from({ length: 60 }, (_, i) => Math.fround((1 - (0.4 + (0.6 * i) / 60)) / 2)).flatMap((v) => [v, v]).sort((a, b) => a - b);
    expect(r.targets[0]).toMatchObject({ kind: 'falseRate', classes: ['WBC'], n: 120, k: 115 });
    // Just above the 115th smallest: of 120 non-WBC frames, those strictly above it fire (the
    // 115th and 116th tie, so 4 do: a rate of 4/120 <= 0.05).
    expect(r.thresholds.WBC).toBe(nextUp(neg[114]!));
    expect(neg.filter((v) => v >= r.thresholds.WBC!)).toHaveLength(4);
    expect(r.threshold).toBeNull();
  });

  it('refuses mixed promises, unknown classes, a class asked twice, and nothing asked', () => {
    expect(() => calibrateThresholds(scores(), [{ kind: 'recall', cls: 'WBC', recall: 0.9 }, { kind: 'falseRate', rate: 0.05 }], ['WBC'])).toThrow(/E_CALIBRATION.*calibrate one of them/);
    expect(() => calibrateThresholds(scores(), [{ kind: 'recall', cls: 'Neutrophil', recall: 0.9 }], ['WBC'])).toThrow(/"Neutrophil" is not a label/);
    expect(() => calibrateThresholds(scores(), [{ kind: 'recall', cls: 'WBC', recall: 0.9 }, { kind: 'recall', cls: 'WBC', recall: 0.8 }], ['WBC'])).toThrow(/given twice/);
    expect(() => calibrateThresholds(scores(), [], ['WBC'])).toThrow(/nothing asked/);
    expect(() => calibrateThresholds(scores(), [{ kind: 'recallTargets', recall: 0.9 }, { kind: 'recall', cls: 'WBC', recall: 0.8 }], ['WBC'])).toThrow(/--recall-targets.*asked alone/);
    expect(() => calibrateThresholds(scores(), [{ kind: 'falseRate', rate: 0.05 }, { kind: 'falseRate', cls: 'RBC', rate: 0.05 }], ['WBC'])).toThrow(/--false-rate.*asked alone/);
    expect(() => calibrateThresholds(scores(), [{ kind: 'falseRate', cls: 'RBC', rate: 0.05 }, { kind: 'falseRate', cls: 'RBC', rate: 0.1 }], ['WBC'])).toThrow(/--false-rate RBC.*given twice/);
  });
});

describe('calibration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calfile-'));
  const file: CalibrationFile = {
    format: CALIBRATION_FORMAT, method: 'split-conformal', guarantee: 'g', createdAt: 'now',
    model: { task: 'cells-bccd', variant: 'student', backend: 'sim', labels: LABELS },
    data: { source: 'x', frames: 3, byClass: { RBC: 1, WBC: 1, Platelets: 1 } },
    targets: [{ kind: 'recall', classes: ['WBC'], target: 0.9, threshold: 0.5, n: 20, k: 2, bound: 0.905 }],
    reference: { score: 'top', sorted: [0.5, 0.7, 0.9] },
  };

  it('round-trips, and is never overwritten', () => {
    const path = join(dir, 'a.json');
    writeCalibrationFile(path, file);
    expect(readCalibrationFile(path, LABELS)).toEqual(file);
    expect(() => writeCalibrationFile(path, file)).toThrow(/exists: a calibration file is never overwritten/);
  });

  it("refuses another model's labels, an unsorted reference and a foreign format, naming the field", () => {
    const path = join(dir, 'a.json');
    expect(() => readCalibrationFile(path, ['B', 'T4', 'T8'])).toThrow(/a\.json: model\.labels.*calibrate this model/);
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...file, reference: { score: 'top', sorted: [0.9, 0.5] } }));
    expect(() => readCalibrationFile(join(dir, 'b.json'), LABELS)).toThrow(/reference\.sorted.*not sorted at index 1/);
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...file, format: 'other/1' }));
    expect(() => readCalibrationFile(join(dir, 'c.json'), LABELS)).toThrow(/E_CALIBRATION at .*c\.json: format/);
  });
});
