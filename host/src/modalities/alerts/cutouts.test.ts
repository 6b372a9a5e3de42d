import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError, FitsError, FrameValueError } from '../../core/errors.js';
import { FrameRing } from '../../core/frame.js';
import { createStreamPreprocessor, preprocessors } from '../../preprocess/stream-preprocessor.js';
import { fitsFloat32 } from '../../../../test/support/fits.js';
import { createCutoutScratch, cutoutTriplet, type CutoutsSpec } from './cutouts.js';
import './index.js';
import { setSlotAlert, type AlertView, type Cutouts } from './types.js';

/** A w x h stamp whose pixel (y, x) is f(y, x). */
function stamp(w: number, h: number, f: (y: number, x: number) => number): Float32Array {
  const v = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[y * w + x] = f(y, x);
  return v;
}

/** Channel c of a [3, S, S] output as rows. */
function channel(out: Float32Array, c: number, S: number): number[][] {
  return Array.from({ length: S }, (_, y) => Array.from(out.subarray(c * S * S + y * S, c * S * S + (y + 1) * S)));
}

const scratch = createCutoutScratch();

describe('cutoutTriplet', () => {
  it('a 3x3 stamp zero-padded into 5, NaN -> 0, unit norm: worked by hand', () => {
    const s = fitsFloat32(3, 3, Float32Array.of(3, 0, 0, 0, 4, 0, 0, 0, NaN));
    const out = new Float32Array(3 * 25);
    cutoutTriplet({ science: s, template: s, difference: s }, { stamp: 5, size: 5 }, out, scratch);
    const want = Array.from({ length: 5 }, () => [0, 0, 0, 0, 0]);
    want[1]![1] = Math.fround(3 / 5);
    want[2]![2] = Math.fround(4 / 5);
    for (let c = 0; c < 3; c++) expect(channel(out, c, 5)).toEqual(want);
  });

  it('gzip (ZTF) and plain FITS (Rubin) stamps give the same channels, in science, template, difference order', () => {
    const planes = [1, 2, 3].map((k) => stamp(63, 63, (y, x) => k * 1000 + y * 63 + x));
    const plain = planes.map((p) => fitsFloat32(63, 63, p));
    const [a, b] = [new Float32Array(3 * 63 * 63), new Float32Array(3 * 63 * 63)];
    cutoutTriplet({ science: plain[0]!, template: plain[1]!, difference: plain[2]! }, { stamp: 63, size: 63 }, a, scratch);
    cutoutTriplet({ science: gzipSync(plain[0]!), template: gzipSync(plain[1]!), difference: gzipSync(plain[2]!) }, { stamp: 63, size: 63 }, b, scratch);
    expect(b).toEqual(a);
    for (let c = 0; c < 3; c++) {
      const p = planes[c]!;
      const norm = Math.sqrt(p.reduce((s, v) => s + v * v, 0));
      expect(a[c * 63 * 63 + 5]).toBe(Math.fround(p[5]! / norm));
    }
  });

  it('a 70x66 stamp is centre-cropped to 63 then 21: offsets (70-63)>>1 + (63-21)>>1 and (66-63)>>1 + 21', () => {
    const p = stamp(66, 70, (y, x) => 1 + y * 100 + x);
    const out = new Float32Array(3 * 21 * 21);
    const f = fitsFloat32(66, 70, p);
    cutoutTriplet({ science: f, template: f, difference: f }, { stamp: 63, size: 21 }, out, scratch);
    const rows = channel(out, 0, 21);
    const raw = rows.map((r, y) => r.map((_, x) => 1 + (y + 3 + 21) * 100 + (x + 1 + 21)));
    const norm = Math.sqrt(raw.flat().reduce((s, v) => s + v * v, 0));
    expect(rows).toEqual(raw.map((r) => r.map((v) => Math.fround(v / norm))));
  });

  it('all-zero, all-NaN and infinite pixels: zero stays zero, infinities count as 0', () => {
    const out = new Float32Array(3 * 63 * 63).fill(7);
    const inf = stamp(63, 63, (y, x) => (y === 0 && x === 0 ? Infinity : y === 1 && x === 1 ? 2 : 0));
    cutoutTriplet({ science: fitsFloat32(63, 63, new Float32Array(3969)), template: fitsFloat32(63, 63, new Float32Array(3969).fill(NaN)), difference: fitsFloat32(63, 63, inf) }, { stamp: 63, size: 63 }, out, scratch);
    expect(out.subarray(0, 2 * 3969).every((v) => Object.is(v, 0))).toBe(true);
    expect(out[2 * 3969]).toBe(0);
    expect(out[2 * 3969 + 64]).toBe(1);
  });

  it('a missing stamp is a FrameValueError, a broken one a FitsError, each at the place whereOf names', () => {
    const ok = fitsFloat32(63, 63, new Float32Array(3969).fill(1));
    const out = new Float32Array(3 * 3969);
    const whereOf = (s: string) => `alerts.avro record 7 ${s}`;
    expect(() => cutoutTriplet({ science: ok, template: null, difference: ok }, { stamp: 63, size: 63 }, out, scratch, whereOf)).toThrow(FrameValueError);
    expect(() => cutoutTriplet({ science: ok, template: null, difference: ok }, { stamp: 63, size: 63 }, out, scratch, whereOf)).toThrow(/alerts\.avro record 7 cutoutTemplate.*no cutoutTemplate stamp/);
    const cut = gzipSync(ok).subarray(0, 100);
    const err = (() => { try { cutoutTriplet({ science: ok, template: ok, difference: cut }, { stamp: 63, size: 63 }, out, scratch, whereOf); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(FitsError);
    expect((err as FitsError).where).toBe('alerts.avro record 7 cutoutDifference');
    expect((err as FitsError).message).toBe('E_FITS at alerts.avro record 7 cutoutDifference: corrupt or truncated gzip data (100 bytes)');
  });
});

describe('the cutouts preprocessor', () => {
  it('is registered from the modality and reads the alert its slot carries', () => {
    expect(preprocessors.has('cutouts')).toBe(true);
    const pre = createStreamPreprocessor({ kind: 'cutouts', size: 31 });
    expect(pre.frame).toEqual({ shape: null, dtype: 'uint8' });
    expect(pre.inputElements).toEqual([3 * 31 * 31]);
    const ring = new FrameRing(pre.inputElements, 2, 4);
    const slot = ring.acquire();
    expect(() => pre.run(slot, { derive: () => slot }, () => {})).toThrow(FrameValueError); // no alert decoded
    const p = stamp(63, 63, (y, x) => y - x);
    const f = fitsFloat32(63, 63, p);
    const cutouts: Cutouts = { science: f, template: gzipSync(f), difference: null };
    setSlotAlert(slot, { cutouts, source: 'night.avro', index: 3 } as AlertView);
    expect(() => pre.run(slot, { derive: () => slot }, () => {})).toThrow(/night\.avro record 3 cutoutDifference/);
    cutouts.difference = f;
    expect(pre.run(slot, { derive: () => slot }, () => {})).toBe(true);
    const want = new Float32Array(3 * 31 * 31);
    cutoutTriplet(cutouts, { stamp: 63, size: 31 } satisfies CutoutsSpec, want, createCutoutScratch());
    expect(slot.inputs[0]).toEqual(want);
  });

  it('a size above the stamp is a ConfigError naming the size field', () => {
    const err = (() => { try { createStreamPreprocessor({ kind: 'cutouts', stamp: 63, size: 64 }, 'card.preprocessing'); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).where).toBe('card.preprocessing.size');
    expect(() => createStreamPreprocessor({ kind: 'cutouts', stamp: 0 })).toThrow(/preprocessing\.stamp/);
    expect(() => createStreamPreprocessor({ kind: 'cutouts', crop: 3 })).toThrow(ConfigError);
  });
});
