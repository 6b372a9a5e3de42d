import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import { createLymphocyteGenerator } from '../modalities/cells/lymphocytes.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { LYMPHOCYTE_SPLITS } from './export.js';
import { encodeNpy } from './npy.js';
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

describe('heldOutSet of a task exported as npy', () => {
  it('reads test then val rows of models/data/<task> as written, and refuses another preprocessing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-npy-held-'));
    const card = readModelCard(join(REPO, 'models', 'zoo', 'alerts-transient'));
    const size = card.inputShape.reduce((a, b) => a * b, 1);
    const rows = { test: 3, val: 4 };
    for (const [split, count] of Object.entries(rows)) {
      const x = Float32Array.from({ length: count * size }, (_, i) => (split === 'test' ? 1 : -1) * i);
      writeFileSync(join(dir, `${split}_x.npy`), encodeNpy({ dtype: 'float32', shape: [count, ...card.inputShape], data: x }));
      writeFileSync(join(dir, `${split}_y.npy`), encodeNpy({ dtype: 'int64', shape: [count], data: BigInt64Array.from({ length: count }, (_, i) => BigInt(i)) }));
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ preprocessing: card.preprocessing }));
    const h = heldOutSet(card, 5, BCCD, { npyDir: dir });
    expect(h.inputs.length).toBe(5);
    expect(Array.from(h.labels)).toEqual([0, 1, 2, 0, 1]);
    expect(h.inputs[1]![0]).toBe(size); // test row 1 starts at element `size`
    expect(h.inputs[4]![1]).toBe(-(size + 1)); // val row 1, second element
    expect(h.source).toMatch(/^alerts-transient test\+val split/);
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ preprocessing: { ...card.preprocessing, steps: 50 } }));
    expect(() => heldOutSet(card, 5, BCCD, { npyDir: dir })).toThrow(/differs from/);
  });

  it('takes the held-out synthetic voices (test_synth) after val, and never train', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-npy-held-'));
    const card = readModelCard(join(REPO, 'models', 'zoo', 'alerts-transient'));
    const size = card.inputShape.reduce((a, b) => a * b, 1);
    const fill = { test: 1, val: 2, test_synth: 3, train: 4 };
    for (const [split, value] of Object.entries(fill)) {
      writeFileSync(join(dir, `${split}_x.npy`), encodeNpy({ dtype: 'float32', shape: [2, ...card.inputShape], data: new Float32Array(2 * size).fill(value) }));
      writeFileSync(join(dir, `${split}_y.npy`), encodeNpy({ dtype: 'int64', shape: [2], data: BigInt64Array.from([0n, 1n]) }));
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ preprocessing: card.preprocessing }));
    const h = heldOutSet(card, 10, BCCD, { npyDir: dir });
    expect(h.inputs.map((x) => x[0])).toEqual([1, 1, 2, 2, 3, 3]);
    expect(h.source).toMatch(/^alerts-transient test\+val\+test_synth split/);
  });
});
