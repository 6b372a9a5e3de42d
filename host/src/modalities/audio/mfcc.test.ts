import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameShapeError } from '../../core/errors.js';
import { FrameRing } from '../../core/frame.js';
import { modelInputSpecSchema } from '../../preprocess/model-input.js';
import { createStreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import './index.js';
import { createMfcc, LOGMEL_DEFAULT_SPEC, melWeights, MFCC_DEFAULT_SPEC, type FrontEndSpec } from './mfcc.js';
import { feed, wholeClip } from './testing.js';

const RATE = 16_000;

const tone = (hz: number, amplitude: number, n: number) => Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / RATE)));
const hzToMel = (hz: number) => 1127 * Math.log(1 + hz / 700);

describe('createMfcc (MLPerf Tiny front end)', () => {
  it('puts a pure tone in the mel band whose peak is nearest its frequency', () => {
    const front = createMfcc(LOGMEL_DEFAULT_SPEC);
    const out = new Float32Array(40);
    for (const hz of [250, 1000, 2500]) {
      front.run(tone(hz, 0.5, 480), out);
      const best = out.indexOf(Math.max(...out));
      // Band b peaks at mel(20) + (b + 1) * (mel(4000) - mel(20)) / 41.
      const step = (hzToMel(4000) - hzToMel(20)) / 41;
      const nearest = Math.round((hzToMel(hz) - hzToMel(20)) / step) - 1;
      expect(Math.abs(best - nearest), `${hz} Hz`).toBeLessThanOrEqual(1);
    }
  });

  it('gives digital silence ln(logOffset) in every band, and c0 = sqrt(2 * 40) ln(1e-6), the rest 0', () => {
    const lm = new Float32Array(40);
    createMfcc(LOGMEL_DEFAULT_SPEC).run(new Int16Array(480), lm);
    for (const v of lm) expect(v).toBeCloseTo(Math.log(1e-6), 5);
    const c = new Float32Array(10);
    createMfcc(MFCC_DEFAULT_SPEC).run(new Int16Array(480), c);
    expect(c[0]).toBeCloseTo(Math.sqrt(80) * Math.log(1e-6), 4);
    for (let k = 1; k < 10; k++) expect(Math.abs(c[k]!)).toBeLessThan(1e-5);
  });

  it('builds triangles that rise to 1 and leave out DC and everything outside 20 Hz - 4 kHz', () => {
    const w = melWeights(MFCC_DEFAULT_SPEC);
    const bins = 257;
    for (let b = 0; b < 40; b++) {
      const row = w.subarray(b * bins, (b + 1) * bins);
      expect(row[0]).toBe(0);
      expect(Math.max(...row)).toBeGreaterThan(0.5); // a bin falls near each peak (bins are 31.25 Hz apart)
      for (let k = 0; k < bins; k++) if ((k * RATE) / 512 >= 4000 || (k * RATE) / 512 <= 20) expect(row[k]).toBe(0);
    }
  });

  it('reads int16 samples times scale the same as the floats they stand for', () => {
    const s = Int16Array.from({ length: 480 }, (_, i) => ((i * 7919) % 65536) - 32768);
    const a = new Float32Array(10);
    const b = new Float32Array(10);
    createMfcc(MFCC_DEFAULT_SPEC).run(s, a);
    createMfcc({ ...MFCC_DEFAULT_SPEC, frame: { ...MFCC_DEFAULT_SPEC.frame, dtype: 'float32' }, scale: 1 }).run(Float64Array.from(s, (v) => v / 32768), b);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('refuses inconsistent specs, naming the field', () => {
    const bad: [Partial<FrontEndSpec>, RegExp][] = [
      [{ input: { shape: [1, 49, 12] } }, /input\.shape/],
      [{ fftSize: 500 }, /fftSize/],
      [{ fftSize: 256 }, /fftSize/],
      [{ upperHz: 9000 }, /upperHz/],
      [{ hopSamples: 481 }, /hopSamples/],
      [{ coefficients: 41 } as Partial<FrontEndSpec>, /coefficients/],
    ];
    for (const [patch, where] of bad) {
      expect(() => createMfcc({ ...MFCC_DEFAULT_SPEC, ...patch } as FrontEndSpec)).toThrow(ConfigError);
      expect(() => createMfcc({ ...MFCC_DEFAULT_SPEC, ...patch } as FrontEndSpec)).toThrow(where);
    }
    expect(() => createStreamPreprocessor({ ...MFCC_DEFAULT_SPEC, melBand: 40 })).toThrow(ConfigError);
    expect(() => createStreamPreprocessor({ ...LOGMEL_DEFAULT_SPEC, coefficients: 10 })).toThrow(ConfigError);
    createMfcc({ ...MFCC_DEFAULT_SPEC, input: { shape: [49, 10, 1] } });
  });
});

describe('mfcc / logmel stream preprocessors', () => {
  it('are registered with the card shapes: [49, 10] MFCC and [49, 40] log-mel on int16 chunks', () => {
    expect(createStreamPreprocessor(MFCC_DEFAULT_SPEC).inputElements).toEqual([490]);
    expect(createStreamPreprocessor(LOGMEL_DEFAULT_SPEC).inputElements).toEqual([1960]);
    expect(createStreamPreprocessor(MFCC_DEFAULT_SPEC).frame).toEqual({ shape: null, dtype: 'int16' });
    // A model card's `preprocessing` (checked by the card schema, then by the kind's own).
    for (const spec of [MFCC_DEFAULT_SPEC, LOGMEL_DEFAULT_SPEC]) expect(modelInputSpecSchema.parse(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });

  it('emit, whatever the chunking, every stride hops the last `frames` whole-clip feature vectors, due at the newest window', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FrontEndSpec>(MFCC_DEFAULT_SPEC, LOGMEL_DEFAULT_SPEC),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 8 }),
        (base, frames, stride, extra, seed, sizes) => {
          const width = base.kind === 'mfcc' ? base.coefficients : base.melBands;
          const spec = { ...base, frames, stride, input: { shape: [frames, width] } } as FrontEndSpec;
          let x = seed;
          const samples = Int16Array.from({ length: 480 + extra }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768);
          const rows = wholeClip(spec, samples);
          const got = feed(spec, samples, sizes);
          const ends: number[] = [];
          for (let e = frames - 1; e < rows.length; e += stride) ends.push(e);
          expect(got.map((g) => g.seq)).toEqual(ends.map((_, j) => j));
          got.forEach((g, j) => {
            const e = ends[j]!;
            const want = rows.slice(e - frames + 1, e + 1).flatMap((r) => Array.from(r));
            expect(Array.from(g.x)).toEqual(want);
            expect(g.dueNs).toBeCloseTo(((e * 320 + 479) * 1e9) / RATE, 3);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('starts over after reset, and refuses a chunk that is not whole samples', () => {
    const pre = createStreamPreprocessor({ ...MFCC_DEFAULT_SPEC, frames: 1, input: { shape: [1, 10] } });
    const ring = new FrameRing(10, 2, 8);
    const slot = ring.acquire();
    slot.raw = new Uint8Array(3);
    slot.rawLength = 3;
    expect(() => pre.run(slot, { derive: () => ring.acquire() }, () => {})).toThrow(FrameShapeError);
    pre.reset();
    const seqs: number[] = [];
    slot.raw = new Uint8Array(960 * 2);
    slot.rawLength = 960 * 2;
    for (let round = 0; round < 2; round++) {
      pre.run(slot, { derive: () => ring.acquire() }, (s) => seqs.push(s.seq));
      pre.reset();
    }
    expect(seqs).toEqual([0, 1, 0, 1]);
  });
});
