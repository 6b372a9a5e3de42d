import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import { createLymphocyteGenerator } from '../modalities/cells/lymphocytes.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { LYMPHOCYTE_SPLITS } from './export.js';
import { heldOutSet } from './test-set.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const BCCD = join(REPO, '..', 'shared', 'data', 'cells', 'bccd');

describe('heldOutSet', () => {
  it('lymphocytes: the first frames of the seeded test split, preprocessed as the daemon does', () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', 'cells-lymphocyte'));
    const h = heldOutSet(card, 50, BCCD);
    expect(h.inputs.length).toBe(50);
    expect(h.source).toBe('cells-lymphocyte test split');
    const gen = createLymphocyteGenerator({ seed: LYMPHOCYTE_SPLITS.test.seed });
    const frame = new Uint8Array(gen.frameBytes);
    const pre = createModelPreprocessor(card.preprocessing);
    const x = new Float32Array(pre.inputElements);
    for (let i = 0; i < 3; i++) {
      const label = gen.next(frame, 0);
      pre.run(frame, 0, x);
      expect(h.labels[i]).toBe(label);
      expect(Array.from(h.inputs[i]!)).toEqual(Array.from(x));
    }
  });

  it('BCCD: the whole test split (945 cells), then the validation split', () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', 'cells-bccd'));
    const h = heldOutSet(card, 1000, BCCD);
    expect(h.inputs.length).toBe(1000);
    expect(h.source).toBe('cells-bccd test+val split');
    expect(new Set(h.labels).size).toBe(3);
  });

  it('refuses a task without known data', () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', 'jets-hls4ml'));
    expect(() => heldOutSet(card, 10, BCCD)).toThrow(ConfigError);
  });
});
