/**
 * QONNX quantisers (`Quant`, `BipolarQuant` of the `qonnx.custom_op.general` domain, also
 * written as `finn.custom_op.general` and `onnx.brevitas`): their exact semantics (the
 * interpreter's reference for `--check`, since onnxruntime cannot run them), and their
 * mapping onto `ap_fixed` types.
 *
 * Semantics, as the QONNX reference implementation (`qonnx/custom_op/general/quant.py`):
 *   y = x / scale + zeropt
 *   1-bit signed: y = y >= 0 ? 1 : -1; else y = round(clamp(y, min_int, max_int))
 *   out = (y - zeropt) * scale
 * with min_int = signed ? -2^(b-1) + narrow : 0, max_int = signed ? 2^(b-1) - 1 :
 * 2^b - 1 - narrow, and round one of ROUND (half to even, numpy's round), CEIL, FLOOR,
 * ROUND_TO_ZERO. Clamping before or after rounding gives the same result (the bounds are
 * integers and rounding is monotone), which is what lets one `ap_fixed` cast (round, then
 * saturate) implement it. BipolarQuant: out = (x / scale >= 0 ? 1 : -1) * scale.
 *
 * Mapping (what hls4ml's QONNX converter does, `quant_opt.py`, for the cases it folds into a
 * type): ROUND -> AP_RND_CONV, FLOOR -> AP_TRN (hls4ml refuses the others; ROUND_TO_ZERO ->
 * AP_TRN_ZERO is added here, it is exact), narrow signed -> AP_SAT_SYM, else AP_SAT; a
 * power-of-two scale 2^-f gives f fractional bits: signed `ap_fixed<b, b - f>`, unsigned
 * `ap_fixed<b + 1, b + 1 - f>` (ht_fixed has no ap_ufixed: one more bit for the sign, and the
 * quantiser clamps at 0 first). A non-power-of-two scale, a non-zero zero point, CEIL and
 * narrow unsigned are refused with a `ModelError` naming the node (hls4ml rescales those
 * with ApplyAlpha layers around the quantiser, which is no longer exact; see README).
 */
import { ModelError } from '../../host/src/core/errors.js';
import type { FixedType, QMode } from './precision.js';

/** Domains exporters put QONNX quantisers in. */
export const QONNX_DOMAINS: ReadonlySet<string> = new Set(['qonnx.custom_op.general', 'finn.custom_op.general', 'onnx.brevitas']);

/** Rounding modes of the QONNX `Quant` node. */
export const QUANT_ROUNDING = ['ROUND', 'CEIL', 'FLOOR', 'ROUND_TO_ZERO'] as const;
export type QuantRounding = (typeof QUANT_ROUNDING)[number];

/** One quantiser with scalar parameters (a `Quant`, or a `BipolarQuant` with `bipolar`). */
export interface QuantParams {
  readonly bipolar: boolean;
  readonly bitWidth: number;
  readonly signed: boolean;
  readonly narrow: boolean;
  readonly rounding: QuantRounding;
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Rounds half to even (numpy's `round`, QONNX's ROUND). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function roundBy(mode: QuantRounding, v: number): number {
  switch (mode) {
    case 'ROUND': return roundHalfEven(v);
    case 'CEIL': return Math.ceil(v);
    case 'FLOOR': return Math.floor(v);
    case 'ROUND_TO_ZERO': return Math.trunc(v);
  }
}

/** The integer range [min, max] of a Quant (QONNX `min_int`, `max_int`). */
export function quantIntRange(bitWidth: number, signed: boolean, narrow: boolean): [number, number] {
  if (signed) return [-(2 ** (bitWidth - 1)) + (narrow ? 1 : 0), 2 ** (bitWidth - 1) - 1];
  return [0, 2 ** bitWidth - 1 - (narrow ? 1 : 0)];
}

/** Quantises one value in float64 (exact for power-of-two scales). */
export function quantizeValue(x: number, q: QuantParams, scale = q.scale, zeroPoint = q.zeroPoint): number {
  if (q.bipolar) return (x / scale >= 0 ? 1 : -1) * scale;
  let y = x / scale + zeroPoint;
  if (q.bitWidth === 1 && q.signed) {
    y = y >= 0 ? 1 : -1;
  } else {
    const [lo, hi] = quantIntRange(q.bitWidth, q.signed, q.narrow);
    y = roundBy(q.rounding, Math.min(hi, Math.max(lo, y)));
  }
  // `+ 0` turns a -0 (a negative value rounded to 0) into 0, as the firmware gives.
  return (y - zeroPoint) * scale + 0;
}

/** log2(v) when v is a power of two (2^k, any integer k), else null. */
export function log2Exact(v: number): number | null {
  if (!(v > 0) || !Number.isFinite(v)) return null;
  const k = Math.round(Math.log2(v));
  return 2 ** k === v ? k : null;
}

const ROUNDING_TO_Q: Readonly<Record<QuantRounding, QMode | null>> = {
  ROUND: 'AP_RND_CONV', FLOOR: 'AP_TRN', ROUND_TO_ZERO: 'AP_TRN_ZERO', CEIL: null,
};

/**
 * The `ap_fixed` type holding exactly the values of quantiser `q` with scales between
 * `scaleMin` and `scaleMax` (both powers of two; equal for a scalar scale), rounding and
 * saturating as `q` does when a wider value is cast to it. Throws `ModelError` at `where`
 * for what has no such type: non-power-of-two scale, non-zero zero point, CEIL, narrow unsigned.
 */
export function quantFixedType(q: QuantParams, where: string, scaleMin = q.scale, scaleMax = q.scale): FixedType {
  const kMin = log2Exact(scaleMin);
  const kMax = log2Exact(scaleMax);
  if (kMin === null || kMax === null) {
    throw new ModelError(where, `${where}: scale ${scaleMin === scaleMax ? scaleMin : `${scaleMin}..${scaleMax}`} is not a power of two; ` +
      'only power-of-two scales map onto a fixed-point type (re-export with power-of-two scaling, e.g. Brevitas ' +
      'restrict_scaling_type=POWER_OF_TWO or QKeras alpha=1)');
  }
  if (q.zeroPoint !== 0) throw new ModelError(where, `${where}: zero point ${q.zeroPoint} is not supported (only 0)`);
  // ±2^k: 2 bits at LSB 2^k; per-channel scales widen the LSB down to the smallest.
  if (q.bipolar) return { width: 2 + kMax - kMin, integer: kMax + 2, rounding: 'AP_TRN', saturation: 'AP_SAT' };
  const rounding = ROUNDING_TO_Q[q.rounding];
  if (rounding === null) throw new ModelError(where, `${where}: rounding_mode ${q.rounding} has no ap_fixed mode; supported: ROUND, FLOOR, ROUND_TO_ZERO`);
  if (q.narrow && !q.signed) throw new ModelError(where, `${where}: narrow unsigned quantisation (max 2^b - 2) has no ap_fixed type`);
  if (q.bitWidth === 1 && q.signed) throw new ModelError(where, `${where}: a 1-bit signed Quant is bipolar; export it as BipolarQuant`);
  // Values are integers in [min, max] times 2^k, k from kMin (LSB) to kMax (range).
  const intBits = q.bitWidth + (q.signed ? 0 : 1);
  const integer = intBits + kMax;
  return { width: integer - kMin, integer, rounding, saturation: q.narrow ? 'AP_SAT_SYM' : 'AP_SAT' };
}

/** The config fields of nnet_quant.h's `quantize` / `bipolar_quant` for a quant layer. */
export function quantConfigFields(layer: { readonly quant: QuantParams }): string[] {
  const q = layer.quant;
  if (!q.bipolar) return [`static constexpr bool clamp_zero = ${!q.signed};`];
  // A power of two prints exactly in JS's shortest form; add ".0" where it has no point.
  const s = String(q.scale);
  return [`static constexpr double scale = ${/[.e]/.test(s) ? s : `${s}.0`};`];
}
