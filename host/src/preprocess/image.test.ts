import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameValueError } from '../core/errors.js';
import { createPreprocessor, type PreprocessSpec } from './image.js';

function spec(H: number, W: number, C: number, h: number, w: number, dtype: 'uint8' | 'float32' = 'uint8'): PreprocessSpec {
  return {
    frame: { shape: [H, W, C], dtype },
    input: { shape: [C, h, w] },
    resize: 'bilinear',
    scale: dtype === 'uint8' ? 1 / 255 : 1,
    mean: Array.from({ length: C }, (_, c) => 0.1 * (c + 1)),
    std: Array.from({ length: C }, (_, c) => 0.2 + 0.1 * c),
  };
}

const dims = fc.record({ H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }), C: fc.integer({ min: 1, max: 3 }) });

describe('image preprocessing', () => {
  it('without resizing, is per-channel (v*scale - mean)/std with HWC -> CHW', () => {
    fc.assert(
      fc.property(dims, fc.integer({ min: 0, max: 2 ** 31 }), ({ H, W, C }, seed) => {
        const s = spec(H, W, C, H, W);
        const p = createPreprocessor(s);
        const raw = Uint8Array.from({ length: H * W * C + 3 }, (_, i) => (i * 131 + seed) & 255);
        const out = new Float32Array(p.inputElements);
        p.run(raw, 3, out);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++) {
              const v = raw[3 + (y * W + x) * C + c];
              expect(out[c * H * W + y * W + x]).toBeCloseTo((v / 255 - s.mean[c]) / s.std[c], 5);
            }
      }),
    );
  });

  it('with resize centre-crop, is the input-sized window at floor((H - h) / 2), floor((W - w) / 2), standardised', () => {
    fc.assert(
      fc.property(dims, fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 2 ** 31 }), ({ H, W, C }, dh, dw, seed) => {
        const h = Math.max(1, H - dh);
        const w = Math.max(1, W - dw);
        const s: PreprocessSpec = { ...spec(H, W, C, h, w), resize: 'centre-crop' };
        const p = createPreprocessor(s);
        const raw = Uint8Array.from({ length: H * W * C + 5 }, (_, i) => (i * 97 + seed) & 255);
        const out = new Float32Array(p.inputElements);
        p.run(raw, 5, out);
        const top = Math.floor((H - h) / 2);
        const left = Math.floor((W - w) / 2);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              const v = raw[5 + ((y + top) * W + x + left) * C + c]!;
              // Exactly the float64 multiply-add the firmware's constants are fitted to, in float32.
              expect(out[c * h * w + y * w + x]).toBe(Math.fround(v * (s.scale / s.std[c]!) + -s.mean[c]! / s.std[c]!));
            }
      }),
    );
    expect(() => createPreprocessor({ ...spec(4, 4, 1, 5, 4), resize: 'centre-crop' })).toThrow(ConfigError);
  });

  it('maps a constant image to a constant tensor at any output size', () => {
    fc.assert(
      fc.property(dims, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 255 }), ({ H, W, C }, h, w, v) => {
        const s = spec(H, W, C, h, w);
        const p = createPreprocessor(s);
        const out = new Float32Array(p.inputElements);
        p.run(new Uint8Array(H * W * C).fill(v), 0, out);
        for (let c = 0; c < C; c++) {
          const want = (v / 255 - s.mean[c]) / s.std[c];
          for (let i = 0; i < h * w; i++) expect(out[c * h * w + i]).toBeCloseTo(want, 4);
        }
      }),
    );
  });

  it('halving the size averages each 2x2 block (half-pixel centres)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
        const s = { ...spec(8, 8, 1, 4, 4), mean: [0], std: [1], scale: 1 };
        const p = createPreprocessor(s);
        const out = new Float32Array(16);
        p.run(raw, 0, out);
        for (let y = 0; y < 4; y++)
          for (let x = 0; x < 4; x++) {
            const avg = (raw[2 * y * 8 + 2 * x] + raw[2 * y * 8 + 2 * x + 1] + raw[(2 * y + 1) * 8 + 2 * x] + raw[(2 * y + 1) * 8 + 2 * x + 1]) / 4;
            expect(out[y * 4 + x]).toBeCloseTo(avg, 3);
          }
      }),
    );
  });

  it('output stays within the range of the input values (bilinear never overshoots)', () => {
    fc.assert(
      fc.property(dims, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 }), fc.uint8Array({ minLength: 432, maxLength: 432 }), ({ H, W, C }, h, w, bytes) => {
        const s = { ...spec(H, W, C, h, w), mean: Array(C).fill(0), std: Array(C).fill(1), scale: 1 };
        const p = createPreprocessor(s);
        const out = new Float32Array(p.inputElements);
        p.run(bytes, 0, out);
        const lo = Math.min(...bytes.subarray(0, H * W * C));
        const hi = Math.max(...bytes.subarray(0, H * W * C));
        for (const v of out) {
          expect(v).toBeGreaterThanOrEqual(lo - 1e-3);
          expect(v).toBeLessThanOrEqual(hi + 1e-3);
        }
      }),
    );
  });

  it('reads float32 frames at any byte offset and refuses NaN or infinite pixels with FrameValueError', () => {
    const s = spec(4, 4, 1, 4, 4, 'float32');
    const p = createPreprocessor(s);
    const buf = new Uint8Array(8 + 64);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < 16; i++) dv.setFloat32(8 + i * 4, i / 16, true);
    const out = new Float32Array(16);
    p.run(buf.subarray(4), 4, out);
    expect(out[5]).toBeCloseTo((5 / 16 - 0.1) / 0.2, 5);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      dv.setFloat32(8 + 7 * 4, bad, true);
      expect(() => p.run(buf, 8, out)).toThrow(FrameValueError);
    }
  });

  it('refuses specs that do not fit with a ConfigError naming the field', () => {
    expect(() => createPreprocessor({ ...spec(4, 4, 1, 4, 4), mean: [0, 0] })).toThrow(/mean/);
    expect(() => createPreprocessor({ ...spec(4, 4, 3, 4, 4), input: { shape: [1, 4, 4] } })).toThrow(/input\.shape\[0\]/);
    expect(() => createPreprocessor({ ...spec(4, 4, 1, 4, 4), resize: 'nearest' })).toThrow(ConfigError);
    expect(() => createPreprocessor({ ...spec(4, 4, 1, 4, 4), extra: 1 })).toThrow(ConfigError);
    expect(() => createPreprocessor({ ...spec(4, 4, 1, 4, 4), std: [0] })).toThrow(/std/);
  });
});
