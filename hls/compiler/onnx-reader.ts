/**
 * Stage 1 of the model compiler: ONNX bytes -> a plain, typed graph (`OnnxGraph`).
 *
 * Nothing here interprets operators; it only decodes protobuf into JS values that later
 * stages can read without knowing protobufjs (no Long objects, no raw byte buffers).
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { ModelError } from '../../host/src/core/errors.js';

const { onnx } = onnxProto;

/** A decoded tensor: float types become Float32Array, integer types become plain numbers. */
export type OnnxTensor =
  | { readonly name: string; readonly dims: number[]; readonly type: 'float'; readonly data: Float32Array }
  | { readonly name: string; readonly dims: number[]; readonly type: 'int'; readonly data: number[] };

/** An attribute value decoded to plain JS. Graph-valued attributes are kept opaque. */
export type OnnxAttribute = number | string | number[] | string[] | OnnxTensor | OnnxTensor[] | { readonly graph: true };

/** One graph input or output: name and shape (symbolic or unknown dims are -1). */
export interface OnnxValueInfo {
  readonly name: string;
  /** null when the file declares no shape. */
  readonly shape: number[] | null;
}

export interface OnnxNode {
  readonly opType: string;
  readonly domain: string;
  /** The node's name, or `<opType>_<index>` when the file leaves it empty. */
  readonly name: string;
  /** Input tensor names; an omitted optional input is the empty string, as in ONNX. */
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

export interface OnnxGraph {
  /** Where the graph came from (a path or a label); used in every error message. */
  readonly source: string;
  /** Opset version of the default ("" or "ai.onnx") domain. */
  readonly opset: number;
  /** Graph inputs that are not initializers (IR < 4 files list initializers as inputs too). */
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  /** In file order, which ONNX requires to be topological. */
  readonly nodes: OnnxNode[];
}

type LongLike = number | { low: number; high: number; unsigned?: boolean };

/** protobufjs gives int64 as number or Long; convert exactly where the value is a safe
 * integer, and to the nearest double otherwise (INT64_MAX sentinels in Slice ends). */
export function longToNumber(v: LongLike): number {
  if (typeof v === 'number') return v;
  const low = v.low >>> 0;
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  return high * 4294967296 + low;
}

/**
 * Reads and decodes an ONNX file. Throws `ModelError` naming the file when it cannot be
 * read, is not an ONNX model, or has no graph. The returned graph owns its arrays.
 */
export function readOnnx(path: string): OnnxGraph {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ModelError(path, `cannot read model file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseOnnx(bytes, path);
}

/** Decodes ONNX bytes already in memory; `source` labels errors. Same contract as `readOnnx`. */
export function parseOnnx(bytes: Uint8Array, source: string): OnnxGraph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(source, `${source} is not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  // Decoded messages are class instances with defaults filled in, not the optional-field interfaces.
  const g = model.graph as onnxProto.onnx.GraphProto | null | undefined;
  if (!g || g.node.length === 0) {
    throw new ModelError(source, `${source} is not an ONNX model with a graph (no graph or no nodes)`);
  }
  const opsetEntry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const opset = opsetEntry ? longToNumber(opsetEntry.version as LongLike) : 1;

  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer as onnxProto.onnx.TensorProto[]) initializers.set(t.name, decodeTensor(t, source));
  const inputs = g.input.filter((v) => !initializers.has(v.name ?? '')).map(decodeValueInfo);
  const outputs = g.output.map(decodeValueInfo);
  const nodes = (g.node as onnxProto.onnx.NodeProto[]).map((n, index): OnnxNode => {
    const name = n.name !== '' ? n.name : `${n.opType}_${index}`;
    const attributes = new Map<string, OnnxAttribute>();
    for (const a of n.attribute as onnxProto.onnx.AttributeProto[]) attributes.set(a.name, decodeAttribute(a, `${source} node "${name}"`));
    return { opType: n.opType, domain: n.domain, name, inputs: [...n.input], outputs: [...n.output], attributes };
  });
  return { source, opset, inputs, outputs, initializers, nodes };
}

function decodeValueInfo(v: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return { name: v.name ?? '', shape: null };
  const dims = (shape.dim ?? []).map((d) => {
    if (d.dimParam) return -1;
    if (d.dimValue === null || d.dimValue === undefined) return -1;
    const n = longToNumber(d.dimValue as LongLike);
    return n > 0 ? n : -1;
  });
  return { name: v.name ?? '', shape: dims };
}

const T = onnx.TensorProto.DataType;

/** Decodes one TensorProto; `where` labels errors (unsupported element type, short data). */
export function decodeTensor(t: onnxProto.onnx.ITensorProto, where: string): OnnxTensor {
  const name = t.name ?? '';
  const dims = (t.dims ?? []).map((d) => longToNumber(d as LongLike));
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const need = (bytesPer: number): void => {
    if (view && view.byteLength !== count * bytesPer) {
      throw new ModelError(where, `tensor "${name}" has ${view.byteLength} raw bytes, expected ${count * bytesPer} for dims [${dims.join(',')}]`);
    }
  };
  switch (t.dataType) {
    case T.FLOAT: {
      need(4);
      const data = new Float32Array(count);
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
      else data.set(checkLength(t.floatData ?? [], count, name, where));
      return { name, dims, type: 'float', data };
    }
    case T.DOUBLE: {
      need(8);
      const data = new Float32Array(count);
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
      else data.set(checkLength(t.doubleData ?? [], count, name, where));
      return { name, dims, type: 'float', data };
    }
    case T.INT64: {
      need(8);
      const data = view
        ? Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true)))
        : checkLength(t.int64Data ?? [], count, name, where).map((v) => longToNumber(v as LongLike));
      return { name, dims, type: 'int', data };
    }
    case T.INT32: {
      need(4);
      const data = view
        ? Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true))
        : [...checkLength(t.int32Data ?? [], count, name, where)];
      return { name, dims, type: 'int', data };
    }
    default:
      throw new ModelError(where, `tensor "${name}" has element type ${T[t.dataType ?? 0] ?? t.dataType}; only FLOAT, DOUBLE, INT32 and INT64 are supported`);
  }
}

function checkLength<V>(values: V[], count: number, name: string, where: string): V[] {
  if (values.length !== count) {
    throw new ModelError(where, `tensor "${name}" has ${values.length} values, expected ${count}`);
  }
  return values;
}

const A = onnx.AttributeProto.AttributeType;

function decodeAttribute(a: onnxProto.onnx.IAttributeProto, where: string): OnnxAttribute {
  // IR < 3 files may leave `type` unset; fall back to whichever field is populated.
  let type = a.type ?? A.UNDEFINED;
  if (type === A.UNDEFINED) {
    if (a.ints && a.ints.length > 0) type = A.INTS;
    else if (a.floats && a.floats.length > 0) type = A.FLOATS;
    else if (a.strings && a.strings.length > 0) type = A.STRINGS;
    else if (a.t) type = A.TENSOR;
    else if (a.s && a.s.length > 0) type = A.STRING;
    else if (a.i !== null && a.i !== undefined && longToNumber(a.i as LongLike) !== 0) type = A.INT;
    else type = A.FLOAT;
  }
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  switch (type) {
    case A.FLOAT: return a.f ?? 0;
    case A.INT: return longToNumber((a.i ?? 0) as LongLike);
    case A.STRING: return text(a.s ?? new Uint8Array());
    case A.TENSOR: return decodeTensor(a.t ?? {}, where);
    case A.FLOATS: return [...(a.floats ?? [])];
    case A.INTS: return (a.ints ?? []).map((v) => longToNumber(v as LongLike));
    case A.STRINGS: return (a.strings ?? []).map(text);
    case A.TENSORS: return (a.tensors ?? []).map((t) => decodeTensor(t, where));
    default: return { graph: true };
  }
}

/** Rewrites the first dim of the graph input and output to a symbolic batch, so models
 * exported with a fixed batch (three_layer_pytorch: 789444) run on one sample at a time. */
export function withSymbolicBatch(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph as onnxProto.onnx.GraphProto;
  const inits = new Set(g.initializer.map((t) => t.name));
  for (const v of [...g.input.filter((i) => !inits.has(i.name)), ...g.output]) {
    const dim = v.type?.tensorType?.shape?.dim;
    if (dim && dim.length > 0) dim[0] = { dimParam: 'N' };
  }
  return onnx.ModelProto.encode(model).finish();
}
