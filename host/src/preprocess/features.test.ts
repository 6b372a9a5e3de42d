import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameValueError } from '../core/errors.js';
import { createModelPreprocessor } from './model-input.js';

const spec = (n: number, mean: number[], std: number[]) => ({ kind: 'features', frame: { shape: [n], dtype: 'float32' }, input: { shape: [n] }, mean, std });

describe('feature-vector preprocessing', () => {
  it('standardises each feature from little-endian float32 bytes at any offset (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 24 }).chain((n) => fc.record({
        values: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: n, maxLength: n }),
        mean: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }),
        std: fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: n, maxLength: n }),
        offset: fc.integer({ min: 0, max: 7 }),
      })),
      ({ values, mean, std, offset }) => {
        const n = values.length;
        const p = createModelPreprocessor(spec(n, mean, std));
        expect(p.frameBytes).toBe(4 * n);
        const raw = new Uint8Array(offset + 4 * n + 3);
        const dv = new DataView(raw.buffer);
        values.forEach((v, i) => dv.setFloat32(offset + 4 * i, v, true));
        const out = new Float32Array(n);
        p.run(raw, offset, out);
        for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(Math.fround((Math.fround(values[i]!) - mean[i]!) / std[i]!), 1);
        for (let i = 0; i < n; i++) expect(Math.abs(out[i]! - (Math.fround(values[i]!) - mean[i]!) / std[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(out[i]!)));
      },
    ), { numRuns: 300 });
  });

  it('refuses NaN and infinite features, naming the feature', () => {
    const p = createModelPreprocessor(spec(3, [0, 0, 0], [1, 1, 1]));
    const raw = new Uint8Array(12);
    new DataView(raw.buffer).setFloat32(8, Number.NaN, true);
    expect(() => p.run(raw, 0, new Float32Array(3))).toThrow(FrameValueError);
    expect(() => p.run(raw, 0, new Float32Array(3))).toThrow(/feature 2 is not finite/);
  });

  it('refuses specs whose sizes disagree, naming the field', () => {
    expect(() => createModelPreprocessor(spec(3, [0, 0], [1, 1, 1]))).toThrow(/mean and std need 3 entries/);
    expect(() => createModelPreprocessor({ ...spec(3, [0, 0, 0], [1, 1, 1]), input: { shape: [4] } })).toThrow(/input\.shape/);
    expect(() => createModelPreprocessor(spec(3, [0, 0, 0], [1, 0, 1]))).toThrow(ConfigError);
    expect(() => createModelPreprocessor({ ...spec(3, [0, 0, 0], [1, 1, 1]), extra: true })).toThrow(ConfigError);
  });
});
