/**
 * Reading QONNX quantiser nodes for build-ir: their attributes and constant parameter inputs,
 * and folding a quantiser whose input is a constant (weights, biases) into the constant it
 * produces, with the fixed-point type that holds it exactly.
 */
import { ModelError } from '../../host/src/core/errors.js';
import type { OnnxNode, OnnxTensor } from './onnx-reader.js';
import { QUANT_ROUNDING, quantFixedType, quantizeValue } from './qonnx.js';
import type { QuantParams, QuantRounding } from './qonnx.js';
import type { FixedType } from './precision.js';

/** Constant folds that keep every value (so a quantised constant keeps its type through them). */
export const VALUE_PRESERVING_FOLDS: ReadonlySet<string> = new Set(['Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Cast']);

/** A quantiser node's parameters: scalar ones in `params` (its scale is the first of `scale`). */
export interface QuantNode {
  readonly params: QuantParams;
  /** The scale tensor (per-tensor: one value; per-channel: broadcast against the input). */
  readonly scale: OnnxTensor & { type: 'float' };
}

function constInput(node: OnnxNode, i: number, lookup: (n: string) => OnnxTensor | undefined, what: string, where: string): number[] {
  const t = lookup(node.inputs[i] ?? '');
  if (t === undefined) throw new ModelError(where, `${node.opType} at ${where}: ${what} (input ${i}, "${node.inputs[i] ?? ''}") must be a constant`);
  return Array.from(t.data as ArrayLike<number>);
}

function flag(node: OnnxNode, name: string, fallback: number, where: string): boolean {
  const v = node.attributes.get(name) ?? fallback;
  if (v !== 0 && v !== 1) throw new ModelError(where, `${node.opType} at ${where}: attribute ${name}=${String(v)} must be 0 or 1`);
  return v === 1;
}

/**
 * The parameters of a `Quant` (inputs x, scale, zeropt, bitwidth; attributes signed, narrow,
 * rounding_mode) or `BipolarQuant` (x, scale) node. Scale, zero point and bit width must be
 * constants; the zero point and bit width scalars (or all-equal); scales positive. Anything
 * else, or another QONNX op, is a `ModelError` at `where`.
 */
export function readQuant(node: OnnxNode, lookup: (n: string) => OnnxTensor | undefined, where: string): QuantNode {
  if (node.opType !== 'Quant' && node.opType !== 'BipolarQuant') {
    throw new ModelError(where, `unsupported QONNX operator ${node.domain}.${node.opType} at ${where}; supported: Quant, BipolarQuant`);
  }
  const scaleT = lookup(node.inputs[1] ?? '');
  if (scaleT === undefined || scaleT.type !== 'float') throw new ModelError(where, `${node.opType} at ${where}: scale (input 1) must be a float constant`);
  if (Array.from(scaleT.data).some((s) => !(s > 0) || !Number.isFinite(s))) throw new ModelError(where, `${node.opType} at ${where}: scales must be positive and finite`);
  const scale = scaleT as OnnxTensor & { type: 'float' };
  if (node.opType === 'BipolarQuant') {
    return { scale, params: { bipolar: true, bitWidth: 1, signed: true, narrow: false, rounding: 'ROUND', scale: scale.data[0]!, zeroPoint: 0 } };
  }
  const zp = constInput(node, 2, lookup, 'the zero point', where);
  const bits = constInput(node, 3, lookup, 'the bit width', where);
  if (zp.some((z) => z !== zp[0])) throw new ModelError(where, `Quant at ${where}: a per-channel zero point is not supported`);
  if (bits.length !== 1 || !Number.isInteger(bits[0]) || bits[0]! < 1 || bits[0]! > 32) {
    throw new ModelError(where, `Quant at ${where}: bit width [${bits.join(',')}] must be one integer from 1 to 32`);
  }
  const rounding = String(node.attributes.get('rounding_mode') ?? 'ROUND').toUpperCase();
  if (!(QUANT_ROUNDING as readonly string[]).includes(rounding)) {
    throw new ModelError(where, `Quant at ${where}: rounding_mode ${rounding} is not one of ${QUANT_ROUNDING.join(', ')}`);
  }
  return { scale, params: { bipolar: false, bitWidth: bits[0]!, signed: flag(node, 'signed', 1, where), narrow: flag(node, 'narrow', 0, where),
    rounding: rounding as QuantRounding, scale: scale.data[0]!, zeroPoint: zp[0]! } };
}

/** Index into `small` (numpy-broadcast against `dims`, right-aligned) for each flat index of `dims`. */
function broadcastIndex(dims: readonly number[], small: readonly number[], where: string): (i: number) => number {
  if (small.length > dims.length || small.some((d, k) => d !== 1 && d !== dims[dims.length - small.length + k])) {
    throw new ModelError(where, `scale dims [${small.join(',')}] do not broadcast to [${dims.join(',')}]`);
  }
  const full = [...new Array<number>(dims.length - small.length).fill(1), ...small];
  return (i) => {
    let rest = i;
    let idx = 0;
    let stride = 1;
    for (let k = dims.length - 1; k >= 0; k--) {
      const c = rest % dims[k]!;
      rest = Math.floor(rest / dims[k]!);
      if (full[k] !== 1) idx += c * stride;
      stride *= full[k]!;
    }
    return idx;
  };
}

/**
 * A quantiser applied to constant `t`: the quantised tensor (named `name`) and the type that
 * holds all its values (over every scale of a per-channel quantiser). Throws `ModelError`
 * where the quantiser has no fixed-point type (qonnx.ts `quantFixedType`).
 */
export function foldQuant(t: OnnxTensor, qn: QuantNode, name: string, where: string): { tensor: OnnxTensor; type: FixedType } {
  const scales = Array.from(qn.scale.data);
  const type = quantFixedType(qn.params, where, Math.min(...scales), Math.max(...scales));
  const at = broadcastIndex(t.dims, qn.scale.dims, where);
  const src = t.data as ArrayLike<number>;
  const data = Float32Array.from({ length: src.length }, (_, i) => quantizeValue(src[i]!, qn.params, scales[at(i)]));
  return { tensor: { name, dims: [...t.dims], type: 'float', data }, type };
}
