import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameShapeError } from '../core/errors.js';
import { copyFrameHeader, FrameRing, type FrameSlot } from '../core/frame.js';
import './builtins.js';
import { createStreamPreprocessor } from './stream-preprocessor.js';

const RATE = 16_000;

/** Feeds int16 `samples` in chunks of the given sizes; returns every emitted window with its seq and due time. */
function run(window: number, hop: number, samples: Int16Array, chunks: number[]) {
  const pre = createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: RATE }, window, hop, scale: 1 / 32768 });
  const ring = new FrameRing(pre.inputElements, 2, 256);
  const out: { seq: number; dueNs: number; x: number[] }[] = [];
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  let at = 0;
  let chunkEndNs = 0;
  for (const n of chunks) {
    const slot = ring.acquire();
    slot.raw = bytes;
    slot.rawOffset = at * 2;
    slot.rawLength = n * 2;
    at += n;
    chunkEndNs = ((at - 1) * 1e9) / RATE; // due when its last sample arrived
    slot.dueNs = chunkEndNs;
    const kept = pre.run(slot, { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } }, (s) => out.push({ seq: s.seq, dueNs: s.dueNs, x: Array.from(s.input) }));
    expect(kept).toBe(false);
  }
  return out;
}

/** The windows an independent calculation expects: window k covers samples [k*hop, k*hop + window). */
function expected(window: number, hop: number, samples: Int16Array) {
  const out: { seq: number; dueNs: number; x: number[] }[] = [];
  for (let k = 0; k * hop + window <= samples.length; k++) {
    const last = k * hop + window - 1;
    out.push({ seq: k, dueNs: (last * 1e9) / RATE, x: Array.from(samples.subarray(k * hop, k * hop + window), (v) => v / 32768) });
  }
  return out;
}

describe('window preprocessor (stateful: zero or more frames per input)', () => {
  it('emits every hop the last window of samples, whatever the chunking, each due when its last sample arrived', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }).chain((window) => fc.tuple(fc.constant(window), fc.integer({ min: 1, max: window }))),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 0, maxLength: 400 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 40 }),
        ([window, hop], values, sizes) => {
          const samples = Int16Array.from(values);
          // Chunk sizes cycled until the samples are used up.
          const chunks: number[] = [];
          for (let left = samples.length, i = 0; left > 0; i++) {
            const n = Math.min(left, sizes[i % sizes.length]);
            chunks.push(n);
            left -= n;
          }
          const got = run(window, hop, samples, chunks);
          const want = expected(window, hop, samples);
          expect(got.map((g) => g.seq)).toEqual(want.map((w) => w.seq));
          got.forEach((g, i) => {
            expect(g.x).toEqual(want[i].x.map((v) => Math.fround(v)));
            expect(g.dueNs).toBeCloseTo(want[i].dueNs, 3);
          });
        },
      ),
    );
  });

  it('reads each chunk from its own view when chunks are views at different offsets of one buffer (Node pools small Buffers)', () => {
    const pre = createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: RATE }, window: 4, hop: 4 });
    const ring = new FrameRing(4, 2, 8);
    const pool = new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const got: number[][] = [];
    for (const first of [0, 4]) {
      const slot = ring.acquire();
      slot.raw = new Uint8Array(pool.buffer, first * 2, 8); // its own view: rawOffset 0 within it
      slot.rawOffset = 0;
      slot.rawLength = 8;
      pre.run(slot, { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } }, (s) => got.push(Array.from(s.input)));
    }
    expect(got).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });

  it('refuses a chunk that is not whole samples, and a hop longer than the window', () => {
    const pre = createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: RATE }, window: 4, hop: 2 });
    const ring = new FrameRing(4, 2, 4);
    const slot = ring.acquire();
    slot.raw = new Uint8Array(3);
    slot.rawOffset = 0;
    slot.rawLength = 3;
    expect(() => pre.run(slot, { derive: () => ring.acquire() }, () => {})).toThrow(FrameShapeError);
    expect(() => createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: RATE }, window: 4, hop: 5 })).toThrow(ConfigError);
    expect(() => createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: RATE }, window: 4, hop: 2, extra: 1 })).toThrow(/preprocessing/);
  });
});
