import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/schema.js';
import { readModelCard } from './card.js';
import { cardAccuracy } from './model-selection.js';

const ZOO = join(import.meta.dirname, '..', '..', '..', 'models', 'zoo');
const base = {
  pipeline: 'p', model: 'm', budgetUs: 100,
  source: { kind: 'synthetic', seed: 1, rateHz: 10, frames: 1 },
  trigger: { targets: ['a'], threshold: 0.5 },
  server: { enabled: false },
};

describe('modelSelection config', () => {
  it('fills the named limits with their defaults', () => {
    const cfg = validateConfig({ ...base, modelSelection: { mode: 'budget' } });
    expect(cfg.modelSelection).toMatchObject({ mode: 'budget', intervalMs: 200, utilizationDown: 0.9, utilizationTarget: 0.7, utilizationUp: 0.5, lateFractionDown: 0.1, lateFractionUp: 0.02, holdUpMs: 2000, dwellMinMs: 500, accuracy: {}, priorUs: {} });
  });

  it('refuses limits without hysteresis, an unknown mode and unknown keys, naming the field', () => {
    expect(() => validateConfig({ ...base, modelSelection: { mode: 'budget', utilizationUp: 0.95 } })).toThrow(/modelSelection: .*utilizationUp \(0\.95\) <= utilizationTarget/);
    expect(() => validateConfig({ ...base, modelSelection: { mode: 'fastest' } })).toThrow(/modelSelection\.mode/);
    expect(() => validateConfig({ ...base, modelSelection: { mode: 'budget', holdMs: 1 } })).toThrow(/unknown key\(s\) "holdMs"/);
  });
});

describe('cardAccuracy: what a model is ranked by', () => {
  it("firmware ranks by the student's fixed-point accuracy, onnx by the float one, a teacher by its own", () => {
    const card = readModelCard(join(ZOO, 'cells-bccd'));
    const raw = card.raw as { student: { accuracy: number; fixedAccuracyEmulated: number }; teacher: { accuracy: number } };
    expect(cardAccuracy(card, 'student', 'sim', 'x')).toBe(raw.student.fixedAccuracyEmulated);
    expect(cardAccuracy(card, 'student', 'onnx', 'x')).toBe(raw.student.accuracy);
    expect(cardAccuracy(card, 'teacher', 'onnx', 'x')).toBe(raw.teacher.accuracy);
    const rb = readModelCard(join(ZOO, 'alerts-realbogus'));
    expect(() => cardAccuracy(rb, 'teacher', 'onnx', 'config: modelSelection (model t)')).toThrow(/no teacher\.accuracy .*modelSelection\.accuracy/);
  });
});
