import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFrameHeader, FrameRing, frameIdString, setFrameId } from './frame.js';

describe('frame identity', () => {
  it('keeps a 64-bit sensor id exact in two 32-bit halves (ZTF candids and Rubin diaSourceIds are above 2^53)', () => {
    const ring = new FrameRing(1, 2, 2);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (id) => {
        const slot = ring.acquire();
        setFrameId(slot, id);
        expect(frameIdString(slot)).toBe(id.toString());
      }),
    );
    // Real ids of the shared alert samples: a Rubin diaSourceId and a ZTF candid.
    for (const id of [169298432598474793n, 1051245592815015004n, 2n ** 53n + 1n]) {
      const slot = ring.acquire();
      setFrameId(slot, id);
      expect(frameIdString(slot)).toBe(id.toString());
      // A float64 could not hold it: the halves are what keeps it exact.
      if (id > 2n ** 53n) expect(BigInt(Number(id))).not.toBe(id);
    }
  });

  it('has no id until a source sets one, and acquire forgets the previous frame', () => {
    const ring = new FrameRing(1, 2, 1);
    const slot = ring.acquire();
    expect(frameIdString(slot)).toBeNull();
    setFrameId(slot, 42n);
    slot.payload[0] = 7;
    slot.payloadLength = 1;
    slot.missed = true;
    slot.wallNsPerStreamNs = 0;
    const again = ring.acquire();
    expect(again).toBe(slot);
    expect(frameIdString(again)).toBeNull();
    expect(again.payloadLength).toBe(0);
    expect(again.missed).toBe(false);
    expect(Number.isNaN(again.dueNs)).toBe(true);
    expect(again.wallNsPerStreamNs).toBe(1);
  });

  it('gives every slot one tensor per named model input', () => {
    const ring = new FrameRing([3 * 63 * 63, 24], 2, 4);
    for (const s of ring.slots) {
      expect(s.inputs.map((x) => x.length)).toEqual([3 * 63 * 63, 24]);
      expect(s.input).toBe(s.inputs[0]);
    }
    expect(new Set(ring.slots.map((s) => s.inputs[1])).size).toBe(4);
  });

  it('copies what identifies a frame into a derived one, not its tensors', () => {
    const ring = new FrameRing(2, 2, 2);
    const a = ring.acquire();
    const b = ring.acquire();
    a.stream = 3;
    a.seq = 99;
    setFrameId(a, 2n ** 60n + 5n);
    a.dueNs = 1234.5;
    a.wallNsPerStreamNs = 0.1;
    a.sensorNs = 77;
    a.label = 1;
    a.payload.set([1, 2, 3]);
    a.payloadLength = 3;
    a.stampsNs[0] = 1000;
    a.input[0] = 5;
    copyFrameHeader(a, b);
    expect([b.stream, b.seq, b.dueNs, b.wallNsPerStreamNs, b.sensorNs, b.label, b.payloadLength]).toEqual([3, 99, 1234.5, 0.1, 77, 1, 3]);
    expect(frameIdString(b)).toBe((2n ** 60n + 5n).toString());
    expect(Array.from(b.payload.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(b.stampsNs[0]).toBe(1000);
    expect(b.input[0]).toBe(0);
  });
});
