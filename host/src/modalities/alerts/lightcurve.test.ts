import { describe, expect, it } from 'vitest';
import { ConfigError, FrameValueError } from '../../core/errors.js';
import { FrameRing } from '../../core/frame.js';
import { createStreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import './index.js';
import { LIGHTCURVE_DEFAULT_SPEC, checkLightCurveSpec, lightCurveGrid, type LightCurveSpec } from './lightcurve.js';
import { setSlotAlert, type AlertView, type LightCurvePoints } from './types.js';

/** Points from rows [jd, band code, flux, upperLimit]. */
function pts(rows: [number, number, number, number][]): LightCurvePoints {
  return {
    count: rows.length,
    jd: Float64Array.from(rows, (r) => r[0]),
    band: Uint8Array.from(rows, (r) => r[1]),
    flux: Float32Array.from(rows, (r) => r[2]),
    fluxErr: Float32Array.from(rows, () => 1),
    upperLimit: Uint8Array.from(rows, (r) => r[3]),
  };
}

// A 3-step, 2-band grid of 2-day steps: small enough to compute by hand.
const SMALL: LightCurveSpec = { ...LIGHTCURVE_DEFAULT_SPEC, bands: ['g', 'r'], steps: 3, stepDays: 2, upperLimitMax: 4, input: { shape: [6, 3] } };
const JD = 100;
const at = (out: Float32Array, row: number, channel: number, bin: number) => out[(row * 3 + channel) * 3 + bin];

describe('lightCurveGrid', () => {
  it('bins, averages, normalises and caps as the definition says (values worked out by hand)', () => {
    const out = new Float32Array(18);
    lightCurveGrid(pts([
      [93.5, 1, 999, 0], // g, age 6.5: off the 6-day window
      [94.5, 1, 40, 0], // g, age 5.5: bin 0
      [95.5, 1, 20, 0], // g, age 4.5: bin 0 (mean 30)
      [97, 2, 4, 1], // r limit, age 3: bin 1, 4/80 = 0.05
      [97.5, 2, 2, 1], // r limit, age 2.5: bin 1, deeper: 0.025
      [98.5, 2, 1000, 1], // r limit, age 1.5: bin 2, 12.5 capped at 4
      [99, 2, -20, 0], // r, age 1: bin 2, -20/80
      [100, 1, 80, 0], // g, the alert: bin 2, scale 80
      [100.5, 1, 500, 0], // after the alert: ignored
      [99.5, 0, 700, 0], // u: not in the bands
    ]), JD, SMALL, out);
    // g: flux 30/80 in bin 0, 1 in bin 2; detected there; no limits.
    expect([0, 1, 2].map((k) => at(out, 0, 0, k))).toEqual([0.375, 0, 1]);
    expect([0, 1, 2].map((k) => at(out, 0, 1, k))).toEqual([1, 0, 1]);
    expect([0, 1, 2].map((k) => at(out, 0, 2, k))).toEqual([0, 0, 0]);
    // r: one detection (-0.25) in bin 2; limits 0.025 (deepest of two) and 4 (cap).
    expect([0, 1, 2].map((k) => at(out, 1, 0, k))).toEqual([0, 0, -0.25]);
    expect([0, 1, 2].map((k) => at(out, 1, 1, k))).toEqual([0, 0, 1]);
    expect([0, 1, 2].map((k) => at(out, 1, 2, k))).toEqual([0, Math.fround(0.025), 4]);
  });

  it('puts every limit at the cap when there is no detection, and overwrites the output', () => {
    const out = new Float32Array(18).fill(7);
    lightCurveGrid(pts([[99, 1, 30, 1]]), JD, SMALL, out);
    expect(Array.from(out).filter((v) => v !== 0)).toEqual([4]);
    expect(at(out, 0, 2, 2)).toBe(4);
  });

  it('refuses a spec whose input shape is not [bands x 3, steps]', () => {
    expect(() => checkLightCurveSpec({ ...SMALL, input: { shape: [18, 3] } })).toThrow(ConfigError);
    expect(() => checkLightCurveSpec({ ...SMALL, bands: ['g', 'g'] })).toThrow(/names a band twice/);
    expect(() => createStreamPreprocessor({ ...SMALL, steps: 0 })).toThrow(ConfigError);
  });

  it('runs as the registered `lightcurve` preprocessor on the alert a slot carries', () => {
    const pre = createStreamPreprocessor(LIGHTCURVE_DEFAULT_SPEC);
    expect(pre.frame).toEqual({ shape: null, dtype: 'uint8' });
    expect(pre.inputElements).toEqual([1800]);
    const slot = new FrameRing(1800, 7, 1).acquire();
    expect(() => pre.run(slot, { derive: (s) => s }, () => {})).toThrow(FrameValueError);
    const points = pts([[90, 2, 10, 0], [99.9, 1, 5, 1], [100, 3, -20, 0]]);
    setSlotAlert(slot, { jd: JD, points } as unknown as AlertView);
    expect(pre.run(slot, { derive: (s) => s }, () => {})).toBe(true);
    const want = new Float32Array(1800);
    lightCurveGrid(points, JD, LIGHTCURVE_DEFAULT_SPEC, want);
    expect(slot.input).toEqual(want);
    // r (row 2) day -10 -> bin 89 holds 10/20; i (row 3) bin 99 holds -1; g (row 1) limit 5/20.
    expect(slot.input[(2 * 3) * 100 + 89]).toBe(0.5);
    expect(slot.input[(3 * 3) * 100 + 99]).toBe(-1);
    expect(slot.input[(1 * 3 + 2) * 100 + 99]).toBe(0.25);
  });
});
