/**
 * Constant folding for the small integer/float subgraphs exporters emit around Reshape
 * (Constant, Shape -> Gather -> Unsqueeze -> Concat, Cast, ...). Used by build-ir only.
 *
 * The batch dimension is evaluated as 1: a `Shape` of a computed tensor yields
 * [1, ...batch-less shape]. Reshape/Flatten later require the batch dim to stay 1, so a
 * subgraph that mixes the batch into other dims is rejected there, not silently miscompiled.
 */
import { ModelError } from '../../host/src/core/errors.js';
import type { OnnxNode, OnnxTensor } from './onnx-reader.js';
import type { Shape } from './ir.js';

/** Operators this module can evaluate when all their inputs are constant. */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Identity', 'Reshape',
]);

/** Looks up constant inputs; returns undefined for a tensor that is not constant. */
export type ConstLookup = (name: string) => OnnxTensor | undefined;

/**
 * Evaluates `node` over constant inputs and returns its single output tensor, named after
 * `node.outputs[0]`. `dynShape` gives the batch-less shape of a computed input (for Shape).
 * Throws `ModelError` naming `where` for forms it cannot evaluate.
 */
export function foldNode(
  node: OnnxNode,
  opset: number,
  lookup: ConstLookup,
  dynShape: (name: string) => Shape | undefined,
  where: string,
): OnnxTensor {
  const out = node.outputs[0];
  const input = (i: number): OnnxTensor => {
    const t = lookup(node.inputs[i]);
    if (!t) throw new ModelError(where, `${node.opType} input ${i} ("${node.inputs[i]}") is not constant`);
    return t;
  };
  const intList = (t: OnnxTensor): number[] => (t.type === 'int' ? t.data : Array.from(t.data, Math.trunc));
  switch (node.opType) {
    case 'Constant':
      return constantValue(node, where);
    case 'Shape': {
      const s = lookup(node.inputs[0])?.dims ?? [1, ...(dynShape(node.inputs[0]) ?? fail(where, 'Shape of a tensor with unknown shape'))];
      return { name: out, dims: [s.length], type: 'int', data: [...s] };
    }
    case 'Identity':
      return { ...input(0), name: out };
    case 'Cast': {
      const to = Number(node.attributes.get('to') ?? 1);
      const t = input(0);
      if (to === 1 || to === 11) return { name: out, dims: t.dims, type: 'float', data: Float32Array.from(t.data) };
      return { name: out, dims: t.dims, type: 'int', data: intList(t) };
    }
    case 'Gather': {
      const data = input(0);
      const idx = intList(input(1));
      if (Number(node.attributes.get('axis') ?? 0) !== 0 || data.dims.length !== 1) {
        throw new ModelError(where, 'Gather is folded only on 1-D constant data along axis 0');
      }
      const n = data.dims[0];
      const picked = idx.map((i) => (i < 0 ? i + n : i));
      const dims = input(1).dims;
      return data.type === 'int'
        ? { name: out, dims, type: 'int', data: picked.map((i) => data.data[i]) }
        : { name: out, dims, type: 'float', data: Float32Array.from(picked, (i) => data.data[i]) };
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const t = input(0);
      const axesAttr = node.attributes.get('axes');
      const axes = opset >= 13 && node.inputs[1] ? intList(input(1)) : Array.isArray(axesAttr) ? (axesAttr as number[]) : [];
      const dims = node.opType === 'Unsqueeze' ? unsqueezeDims(t.dims, axes) : squeezeDims(t.dims, axes);
      return { ...t, name: out, dims };
    }
    case 'Concat': {
      const parts = node.inputs.map((_, i) => input(i));
      if (parts.some((p) => p.dims.length !== 1)) throw new ModelError(where, 'Concat is folded only on 1-D constants');
      const all = parts.flatMap((p) => Array.from(p.data));
      return parts.every((p) => p.type === 'int')
        ? { name: out, dims: [all.length], type: 'int', data: all }
        : { name: out, dims: [all.length], type: 'float', data: Float32Array.from(all) };
    }
    case 'Reshape': {
      const t = input(0);
      const dims = resolveReshape(t.dims, intList(input(1)), where);
      return { ...t, name: out, dims };
    }
    default:
      throw new ModelError(where, `cannot fold constant operator ${node.opType}`);
  }
}

function fail(where: string, message: string): never {
  throw new ModelError(where, message);
}

function constantValue(node: OnnxNode, where: string): OnnxTensor {
  const out = node.outputs[0];
  const a = node.attributes;
  const v = a.get('value');
  if (v && typeof v === 'object' && 'type' in v) return { ...v, name: out };
  const f = a.get('value_float');
  if (typeof f === 'number') return { name: out, dims: [], type: 'float', data: Float32Array.of(f) };
  const fs = a.get('value_floats');
  if (Array.isArray(fs)) return { name: out, dims: [fs.length], type: 'float', data: Float32Array.from(fs as number[]) };
  const i = a.get('value_int');
  if (typeof i === 'number') return { name: out, dims: [], type: 'int', data: [i] };
  const is = a.get('value_ints');
  if (Array.isArray(is)) return { name: out, dims: [is.length], type: 'int', data: [...(is as number[])] };
  throw new ModelError(where, 'Constant has no value, value_float(s) or value_int(s) attribute');
}

function unsqueezeDims(dims: number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const norm = new Set(axes.map((x) => (x < 0 ? x + rank : x)));
  const outDims: number[] = [];
  let k = 0;
  for (let d = 0; d < rank; d++) outDims.push(norm.has(d) ? 1 : dims[k++]);
  return outDims;
}

function squeezeDims(dims: number[], axes: number[]): number[] {
  if (axes.length === 0) return dims.filter((d) => d !== 1);
  const norm = new Set(axes.map((x) => (x < 0 ? x + dims.length : x)));
  return dims.filter((_, d) => !norm.has(d));
}

/**
 * ONNX Reshape shape resolution: 0 copies the input dim, one -1 is inferred. Throws
 * `ModelError` when the element counts cannot agree.
 */
export function resolveReshape(inDims: readonly number[], target: readonly number[], where: string): number[] {
  const total = inDims.reduce((a, b) => a * b, 1);
  const dims = target.map((t, i) => (t === 0 ? inDims[i] : t));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const inferred = dims.filter((d) => d === -1).length;
  if (inferred > 1 || (inferred === 1 && (known === 0 || total % known !== 0)) || (inferred === 0 && known !== total)) {
    throw new ModelError(where, `cannot reshape [${inDims.join(',')}] to [${target.join(',')}]`);
  }
  return dims.map((d) => (d === -1 ? total / known : d));
}
