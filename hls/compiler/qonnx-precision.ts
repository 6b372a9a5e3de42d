/**
 * The types a quantised model fixes: every QONNX quantiser's type (qonnx.ts), and the
 * exact types they imply downstream, laid over a precision spec (default, auto or a card's).
 *
 * A layer is exact when every value it can produce is held by its type without rounding:
 * a quant layer; relu, max pool, reshape and transpose of an exact input; add of two exact
 * inputs; a dense or conv layer with quantised (typed) weights, an exact input and a bias
 * that fits the product grid. Such a layer gets result = accumulator = that type (frac bits
 * F(in) + F(w), integer bits from the largest sum the weights allow), so the firmware
 * computes exactly what the float64 interpreter computes and every quantiser rounds the
 * same value: bit-exact. Exact types are at most 53 bits wide (float64's mantissa, where the
 * interpreter stops being exact); a wider one is left to the base spec. Other layers (an
 * unfolded batchnorm, pools that divide, tables) keep the base spec's types.
 */
import { IR_INPUT, isMacLayer } from './ir.js';
import type { Ir, Layer, MacLayer } from './ir.js';
import { quantFixedType } from './qonnx.js';
import { fracBits, printFixedType } from './precision.js';
import type { FixedType, LayerPrecisionSpec, PrecisionSpec } from './precision.js';

/** Widest exact type: float64's 53-bit significand (the interpreter's exactness). */
export const exactWidthBitsMax = 53;

/** Fractional bits needed for every value of `v` (null beyond `max`). */
function fracBitsOf(v: ArrayLike<number>, max: number): number | null {
  let f = 0;
  for (let i = 0; i < v.length; i++) {
    while (f <= max && !Number.isInteger(v[i]! * 2 ** f)) f++;
    if (f > max) return null;
  }
  return f;
}

/** Integer bits (sign included) of a signed type holding [-bound, bound]. */
function intBitsFor(bound: number): number {
  return bound > 0 ? Math.floor(Math.log2(bound)) + 2 : 1;
}

function maxAbsOf(t: FixedType): number {
  return 2 ** (t.integer - 1);
}

/** Largest |bias + sum of weight * input| a MAC layer can reach for |input| <= inMax. */
function macBound(l: MacLayer, inMax: number): number {
  const nOut = l.kind === 'dense' ? l.nOut : l.bias.length;
  const sums = new Float64Array(nOut);
  if (l.kind === 'dense') {
    for (let i = 0; i < l.nIn; i++) for (let o = 0; o < nOut; o++) sums[o] += Math.abs(l.weights[i * nOut + o]!);
  } else {
    const per = l.weights.length / nOut;
    for (let o = 0; o < nOut; o++) for (let k = 0; k < per; k++) sums[o] += Math.abs(l.weights[o * per + k]!);
  }
  let m = 0;
  for (let o = 0; o < nOut; o++) m = Math.max(m, sums[o]! * inMax + Math.abs(l.bias[o]!));
  return m;
}

/** The exact type of MAC layer `l` over an exact input type, with its weight and bias types; null if none fits. */
function exactMac(l: MacLayer, input: FixedType): { result: FixedType; weight: FixedType; bias: FixedType } | null {
  const weight = l.fixedTypes?.weight;
  if (weight === undefined) return null;
  const f = fracBits(input) + fracBits(weight);
  const biasF = l.fixedTypes?.bias !== undefined ? fracBits(l.fixedTypes.bias) : fracBitsOf(l.bias, f);
  if (biasF === null || biasF > f) return null;
  const integer = intBitsFor(macBound(l, maxAbsOf(input)));
  if (integer + f > exactWidthBitsMax) return null;
  const result: FixedType = { width: integer + f, integer, rounding: 'AP_TRN', saturation: 'AP_WRAP' };
  return { result, weight, bias: l.fixedTypes?.bias ?? result };
}

/** The exact output type of `l` given the exact types of its inputs (null: not exact). */
function exactLayer(l: Layer, ins: (FixedType | null)[], spec: Record<string, LayerPrecisionSpec>): FixedType | null {
  if (l.kind === 'quant') return quantFixedType(l.quant, `${l.sources.join('+')} (${l.name})`);
  if (ins.some((t) => t === null)) return null;
  const x = ins[0]!;
  switch (l.kind) {
    case 'reshape': case 'transpose': case 'relu': case 'maxpool1d': case 'maxpool2d':
      return x;
    case 'add': {
      const y = ins[1]!;
      const f = Math.max(fracBits(x), fracBits(y));
      const integer = Math.max(x.integer, y.integer) + 1;
      return integer + f > exactWidthBitsMax ? null : { width: integer + f, integer, rounding: 'AP_TRN', saturation: 'AP_WRAP' };
    }
    default: {
      if (!isMacLayer(l)) return null;
      const m = exactMac(l, x);
      if (m === null) return null;
      const t = printFixedType(m.result);
      spec[l.name] = { ...spec[l.name], weight: printFixedType(m.weight), bias: printFixedType(m.bias), accum: t, result: t };
      return m.result;
    }
  }
}

/**
 * The type of the quantiser(s) the model input feeds, through reshapes and transposes (a
 * channels-last input's Transpose), when it feeds nothing else and they agree: the input's
 * conversion from double then rounds as they do, and each quant layer passes it on unchanged.
 */
function inputQuantType(ir: Ir): FixedType | null {
  const frontier = [IR_INPUT];
  const types: FixedType[] = [];
  while (frontier.length > 0) {
    const ref = frontier.pop()!;
    for (const l of ir.layers.filter((x) => x.inputs.includes(ref))) {
      if (l.kind === 'reshape' || l.kind === 'transpose') frontier.push(l.name);
      else if (l.kind === 'quant') types.push(exactLayer(l, [], {})!);
      else return null;
    }
  }
  return types.length > 0 && types.every((t) => printFixedType(t) === printFixedType(types[0]!)) ? types[0]! : null;
}

/**
 * `base` with the types `ir`'s quantisers fix (see the file comment): quant layers' results,
 * quantised weights and biases, and exact types downstream of them; the model input takes
 * the type of the quantiser(s) it feeds when it feeds nothing else (`inputQuantType`). Returns `base` itself
 * for a model without quantisers. Throws `ModelError` (qonnx.ts) for a quantiser without a type.
 */
export function withModelTypes(ir: Ir, base: PrecisionSpec): PrecisionSpec {
  if (!ir.layers.some((l) => l.kind === 'quant' || l.fixedTypes !== undefined)) return base;
  const layers: Record<string, LayerPrecisionSpec> = { ...base.layers };
  const exact = new Map<string, FixedType | null>();
  const inType = inputQuantType(ir);
  exact.set(IR_INPUT, inType);
  const input = inType === null ? base.input : printFixedType(inType);
  for (const l of ir.layers) {
    const t = exactLayer(l, l.inputs.map((n) => exact.get(n) ?? null), layers);
    exact.set(l.name, t);
    if (t !== null && !isMacLayer(l) && l.kind !== 'reshape') layers[l.name] = { ...layers[l.name], result: printFixedType(t) };
    else if (t === null && l.fixedTypes !== undefined) {
      // Quantised weights keep their type even where the layer is not exact.
      const w = l.fixedTypes.weight;
      const b = l.fixedTypes.bias;
      layers[l.name] = { ...layers[l.name], ...(w ? { weight: printFixedType(w) } : {}), ...(b ? { bias: printFixedType(b) } : {}) };
    }
  }
  return { ...base, ...(input === undefined ? {} : { input }), layers };
}
