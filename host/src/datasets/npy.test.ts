import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../core/errors.js';
import { decodeNpy, encodeNpy } from './npy.js';

describe('.npy', () => {
  it('round-trips float32, int64 and uint8 arrays of any shape', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 2 }), (shape, kind) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const arr =
          kind === 0
            ? ({ dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => i / 7) } as const)
            : kind === 1
              ? ({ dtype: 'int64', shape, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 3)) } as const)
              : ({ dtype: 'uint8', shape, data: Uint8Array.from({ length: n }, (_, i) => i & 255) } as const);
        const bytes = encodeNpy(arr);
        expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
        const back = decodeNpy(bytes);
        expect(back.dtype).toBe(arr.dtype);
        expect(back.shape).toEqual(shape);
        expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(arr.data as ArrayLike<number | bigint>));
      }),
    );
  });

  it('malformed bytes never throw anything but CaptureFormatError', () => {
    const good = encodeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length }), fc.uint8Array({ maxLength: 16 }), fc.integer({ min: 0, max: good.length }), (cut, junk, at) => {
        const bytes = Uint8Array.from(good.subarray(0, cut));
        bytes.set(junk.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length));
        try {
          decodeNpy(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CaptureFormatError);
        }
      }),
    );
  });
});
