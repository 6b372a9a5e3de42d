import { describe, expect, it } from 'vitest';
import { createJetFeatureGenerator, JET_FEATURES } from './jet-features.js';

describe('jet feature generator', () => {
  it('is seeded, writes 16 little-endian float32 standard normals per frame', () => {
    const a = createJetFeatureGenerator(3);
    const b = createJetFeatureGenerator(3);
    const c = createJetFeatureGenerator(4);
    const n = 2000;
    const fa = new Uint8Array(n * a.frameBytes);
    const fb = new Uint8Array(n * a.frameBytes);
    const fc = new Uint8Array(n * a.frameBytes);
    for (let i = 0; i < n; i++) {
      a.next(fa, i * a.frameBytes);
      b.next(fb, i * a.frameBytes);
      c.next(fc, i * a.frameBytes);
    }
    expect(a.frameBytes).toBe(JET_FEATURES * 4);
    expect(fa).toEqual(fb);
    expect(fa).not.toEqual(fc);
    const v = new Float32Array(fa.buffer);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });
});
