import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from './assert.js';
import { createRng } from './rng.js';

function firstDraws(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.uint32());
}

describe('createRng', () => {
  it('repeats a stream for the same seed', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (seed) => {
        expect(firstDraws(seed, 8)).toEqual(firstDraws(seed, 8));
      }),
    );
  });

  it('separates seeds that share their low 32 bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), fc.integer({ min: 1, max: 2 ** 20 }), (lo, hi) => {
        expect(firstDraws(lo, 4)).not.toEqual(firstDraws(lo + hi * 2 ** 32, 4));
      }),
    );
  });

  it('draws uniforms in [0, 1) and uint32 in [0, 2^32)', () => {
    const rng = createRng(42);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      const w = rng.uint32();
      expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
    }
    // Mean of n uniforms: sd is 1/sqrt(12 n), about 0.002 here.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
  });

  it('draws standard normals', () => {
    const rng = createRng(7);
    const n = 20_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.04);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });

  it('fills buffers with the same values as single draws', () => {
    const a = createRng(3);
    const b = createRng(3);
    const ints = new Uint32Array(5);
    const floats = new Float64Array(6);
    a.fillUint32(ints, 5);
    expect(Array.from(ints)).toEqual([b.uint32(), b.uint32(), b.uint32(), b.uint32(), b.uint32()]);
    a.fillUniform(floats, 3);
    expect(Array.from(floats.subarray(0, 3))).toEqual([b.uniform(), b.uniform(), b.uniform()]);
    a.fillNormal(floats, 4);
    expect(Array.from(floats.subarray(0, 4))).toEqual([b.normal(), b.normal(), b.normal(), b.normal()]);
    expect(() => a.fillUint32(ints, 6)).toThrow(AssertionFailure);
  });

  it('refuses a seed that is not a safe integer (callers validate first)', () => {
    expect(() => createRng(0.5)).toThrow(AssertionFailure);
    expect(() => createRng(2 ** 53)).toThrow(AssertionFailure);
  });
});
