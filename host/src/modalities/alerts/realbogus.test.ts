import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { readModelCard } from '../../model/card.js';
import { createStreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import './index.js';
import { d4View, REALBOGUS_SPLIT, splitByObject } from './realbogus.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..', '..');

describe('splitByObject', () => {
  it('puts every alert of an object in one split, and the declared share of objects in each', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 300 }), (ids) => {
      const objects = ids.map((i) => `ZTF${i}`);
      const split = splitByObject(objects);
      const of = new Map<string, string>();
      objects.forEach((o, i) => {
        expect(of.get(o) ?? split[i]).toBe(split[i]);
        of.set(o, split[i]!);
      });
      const n = of.size;
      const count = (s: string) => [...of.values()].filter((v) => v === s).length;
      expect(count('train')).toBe(Math.round(n * REALBOGUS_SPLIT.train));
      expect(count('val')).toBe(Math.round(n * REALBOGUS_SPLIT.val));
      // Seeded: the same objects in another order land in the same splits.
      const again = splitByObject([...objects].reverse()).reverse();
      expect(again).toEqual(split);
    }));
  });
});

describe('d4View', () => {
  it('turns and flips a 2x2 plane as numpy.rot90 and fliplr do', () => {
    const x = Float32Array.of(1, 2, 3, 4); // [[1, 2], [3, 4]]
    const want = [[1, 2, 3, 4], [2, 4, 1, 3], [4, 3, 2, 1], [3, 1, 4, 2], // rot90 k = 0..3
      [2, 1, 4, 3], [1, 3, 2, 4], [3, 4, 1, 2], [4, 2, 3, 1]]; // of fliplr(x)
    for (let v = 0; v < 8; v++) {
      const out = new Float32Array(4);
      d4View(x, 2, v, out);
      expect(Array.from(out), `view ${v}`).toEqual(want[v]);
    }
  });
});

describe('the zoo card of alerts-realbogus', () => {
  it('names the cutouts preprocessing the daemon creates: a [3, 32, 32] triplet', () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', 'alerts-realbogus'));
    const pre = createStreamPreprocessor(card.preprocessing);
    expect(pre.inputElements).toEqual([3 * 32 * 32]);
    expect(card.inputShape).toEqual([3, 32, 32]);
    expect(card.files.teacher).toBeNull();
    expect(() => createStreamPreprocessor({ ...card.preprocessing, input: { shape: [3, 63, 63] } })).toThrow(ConfigError);
  });
});
