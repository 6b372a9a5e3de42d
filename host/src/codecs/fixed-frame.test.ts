import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameShapeError } from '../core/errors.js';
import { FrameRing } from '../core/frame.js';
import { createFixedFrameDecoder } from './fixed-frame.js';

describe('image frame decoder', () => {
  const spec = { stream: 'cells', shape: [4, 4, 3], dtype: 'uint8' as const, labels: ['A', 'B'] };
  const decode = createFixedFrameDecoder(spec);
  const ring = new FrameRing(1, 2, 2);

  it('accepts exactly the frames of the declared shape with a known or absent label', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: -1, max: 3 }), fc.integer({ min: 0, max: 200 }), (offset, length, label, bufLen) => {
        const slot = ring.acquire();
        slot.raw = new Uint8Array(bufLen);
        slot.rawOffset = offset;
        slot.rawLength = length;
        slot.label = label;
        const ok = length === 48 && offset + 48 <= bufLen && label < 2;
        if (ok) expect(decode.run(slot)).toBe(true);
        else expect(() => decode.run(slot)).toThrow(FrameShapeError);
      }),
    );
  });

  it('names the stream, the frame and both sizes', () => {
    const slot = ring.acquire();
    slot.seq = 77;
    slot.raw = new Uint8Array(100);
    slot.rawLength = 47;
    expect(() => decode.run(slot)).toThrow(/stream cells frame seq 77.*47 bytes.*\[4, 4, 3\] uint8 needs 48/);
  });
});
