/**
 * QONNX quantiser semantics (qonnx.ts) against an independent calculation written here from
 * the QONNX spec's formula: out = (q - zeropt) * scale with q the integer of [min_int,
 * max_int] chosen by the rounding mode from y = x / scale + zeropt, found by searching the
 * integers around y rather than by rounding y (property tests, fast-check); and the mapping
 * onto ap_fixed types, checked by enumerating every value of the quantiser.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../host/src/core/errors.js';
import { QUANT_ROUNDING, quantFixedType, quantizeValue } from './qonnx.js';
import type { QuantParams, QuantRounding } from './qonnx.js';
import { foldQuant, readQuant } from './qonnx-import.js';
import type { OnnxNode, OnnxTensor } from './onnx-reader.js';

/** The spec's integer range, written out case by case. */
function specRange(b: number, signed: boolean, narrow: boolean): [number, number] {
  if (signed && narrow) return [1 - 2 ** (b - 1), 2 ** (b - 1) - 1];
  if (signed) return [-(2 ** (b - 1)), 2 ** (b - 1) - 1];
  return [0, narrow ? 2 ** b - 2 : 2 ** b - 1];
}

/** The integer the rounding mode picks for y, by comparing the integers next to y (no Math.round). */
function pickInteger(y: number, mode: QuantRounding): number {
  let below = Math.trunc(y);
  if (below > y) below -= 1; // the largest integer <= y
  const above = below === y ? below : below + 1;
  if (mode === 'FLOOR') return below;
  if (mode === 'CEIL') return above;
  if (mode === 'ROUND_TO_ZERO') return y < 0 ? above : below;
  const dBelow = y - below;
  const dAbove = above - y;
  if (dBelow !== dAbove) return dBelow < dAbove ? below : above;
  return Math.abs(below % 2) === 0 ? below : above; // a tie goes to the even integer
}

function specQuant(x: number, p: QuantParams): number {
  if (p.bipolar) return (x / p.scale >= 0 ? 1 : -1) * p.scale;
  const y = x / p.scale + p.zeroPoint;
  if (p.bitWidth === 1 && p.signed) return ((y >= 0 ? 1 : -1) - p.zeroPoint) * p.scale;
  const [lo, hi] = specRange(p.bitWidth, p.signed, p.narrow);
  const q = Math.min(hi, Math.max(lo, pickInteger(y, p.rounding)));
  return (q - p.zeroPoint) * p.scale;
}

const params = (pow2Only: boolean): fc.Arbitrary<QuantParams> => fc.record({
  bipolar: fc.boolean(),
  bitWidth: fc.integer({ min: 1, max: 12 }),
  signed: fc.boolean(),
  narrow: fc.boolean(),
  rounding: fc.constantFrom(...QUANT_ROUNDING),
  scale: pow2Only ? fc.integer({ min: -8, max: 4 }).map((k) => 2 ** k) : fc.double({ min: 1e-3, max: 8, noNaN: true }),
  zeroPoint: pow2Only ? fc.constant(0) : fc.integer({ min: -3, max: 3 }),
});

/** Inputs that hit ties and the clamps: halves and quarters of the scale, and arbitrary doubles. */
const inputs = (p: QuantParams): fc.Arbitrary<number> => fc.oneof(
  fc.integer({ min: -4 * 2 ** p.bitWidth, max: 4 * 2 ** p.bitWidth }).map((k) => (k / 4) * p.scale),
  fc.double({ min: -2 * 2 ** p.bitWidth * p.scale, max: 2 * 2 ** p.bitWidth * p.scale, noNaN: true }),
);

describe('Quant / BipolarQuant semantics', () => {
  it('equal the spec formula for every bit width, sign, narrow, rounding mode, scale and zero point', () => {
    fc.assert(fc.property(params(false).chain((p) => fc.tuple(fc.constant(p), inputs(p))), ([p, x]) => {
      expect(quantizeValue(x, p)).toBe(specQuant(x, p) + 0);
    }), { numRuns: 20_000 });
  });

  it('ROUND is half to even, as numpy round: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2', () => {
    const p: QuantParams = { bipolar: false, bitWidth: 8, signed: true, narrow: false, rounding: 'ROUND', scale: 1, zeroPoint: 0 };
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map((x) => quantizeValue(x, p))).toEqual([0, 2, 2, 0, -2, -2]);
  });
});

describe('quantFixedType', () => {
  /** Every value of the type with frac bits F: k * 2^-F for k over the type's raw range. */
  const typeValues = (w: number, i: number): number[] =>
    Array.from({ length: 2 ** w }, (_, k) => (k - 2 ** (w - 1)) * 2 ** (i - w));

  it('holds exactly the values of the quantiser: its min and max are the type\'s (or, unsigned, 0 and the max)', () => {
    fc.assert(fc.property(params(true), (p) => {
      let t;
      try {
        t = quantFixedType(p, 'n');
      } catch (e) {
        // Refused exactly where the spec's range has no ap_fixed saturation or rounding.
        expect(e).toBeInstanceOf(ModelError);
        expect(!p.bipolar && (p.rounding === 'CEIL' || (p.narrow && !p.signed) || (p.bitWidth === 1 && p.signed))).toBe(true);
        return;
      }
      const vals = typeValues(t.width, t.integer);
      const lsb = 2 ** (t.integer - t.width);
      if (p.bipolar) {
        expect(vals).toContain(p.scale);
        expect(vals).toContain(-p.scale);
        return;
      }
      const [lo, hi] = specRange(p.bitWidth, p.signed, p.narrow);
      expect(lsb).toBe(p.scale);
      expect(Math.max(...vals)).toBe(hi * p.scale);
      // Saturation: signed types end at the quantiser's min (narrow: AP_SAT_SYM's -max).
      if (p.signed) expect(p.narrow ? -Math.max(...vals) : Math.min(...vals)).toBe(lo * p.scale);
      expect(t.saturation).toBe(p.narrow ? 'AP_SAT_SYM' : 'AP_SAT');
      expect(t.rounding).toBe({ ROUND: 'AP_RND_CONV', FLOOR: 'AP_TRN', ROUND_TO_ZERO: 'AP_TRN_ZERO' }[p.rounding as 'ROUND']);
    }), { numRuns: 2_000 });
  });

  it('refuses a scale that is not a power of two, naming the node', () => {
    const p: QuantParams = { bipolar: false, bitWidth: 4, signed: true, narrow: false, rounding: 'ROUND', scale: 0.3, zeroPoint: 0 };
    expect(() => quantFixedType(p, 'model.onnx node "Quant_7"')).toThrow(/node "Quant_7".*scale 0.3 is not a power of two/);
  });
});

describe('foldQuant (a quantiser on a constant)', () => {
  /** Whether the type `ap_fixed<w, i>` holds v exactly (on its grid, within its range). */
  const holds = (v: number, w: number, i: number): boolean => {
    const raw = v * 2 ** (w - i);
    return Number.isInteger(raw) && raw >= -(2 ** (w - 1)) && raw <= 2 ** (w - 1) - 1;
  };
  const node = (op: string, inputs: string[]): OnnxNode =>
    ({ opType: op, domain: 'qonnx.custom_op.general', name: 'q', inputs, outputs: ['y'], attributes: new Map([['narrow', 0], ['signed', 1]]) });

  it('per-channel scales: each row quantised with its own scale, one type holding every value (Quant and BipolarQuant)', () => {
    const w: OnnxTensor = { name: 'w', dims: [2, 3], type: 'float', data: Float32Array.of(0.3, -0.9, 0.05, 0.3, -0.9, 0.05) };
    const consts = new Map<string, OnnxTensor>([
      ['s', { name: 's', dims: [2, 1], type: 'float', data: Float32Array.of(0.5, 0.125) }],
      ['z', { name: 'z', dims: [], type: 'float', data: Float32Array.of(0) }],
      ['b', { name: 'b', dims: [], type: 'float', data: Float32Array.of(3) }],
    ]);
    for (const [op, inputs, want] of [
      ['Quant', ['w', 's', 'z', 'b'], [0.5, -1, 0, 0.25, -0.5, 0]],
      ['BipolarQuant', ['w', 's'], [0.5, -0.5, 0.5, 0.125, -0.125, 0.125]],
    ] as const) {
      const { tensor, type } = foldQuant(w, readQuant(node(op, [...inputs]), (n) => consts.get(n), 'q'), 'y', 'q');
      expect(Array.from(tensor.data as Float32Array)).toEqual(want);
      for (const v of want) expect(holds(v, type.width, type.integer)).toBe(true);
    }
  });
});
