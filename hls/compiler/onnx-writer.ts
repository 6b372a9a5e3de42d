/**
 * In-memory ONNX writer: encodes a small declarative graph (`ModelSpec`) as ONNX bytes. Used by
 * the compiler's tests (through testing.ts) and by the latency fit (fit-latency.ts), which
 * builds the published hls4ml designs it compares with (published-designs.ts).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type AttrSpec = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

export interface NodeSpec {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrSpec>;
  domain?: string;
}

export interface ModelSpec {
  opset?: number;
  input: { name: string; shape: (number | string)[] };
  output: { name: string; shape: (number | string)[] };
  /** Float tensors (Float32Array) or int64 tensors (number[]). */
  initializers?: { name: string; dims: number[]; data: Float32Array | number[] }[];
  nodes: NodeSpec[];
}

function valueInfo(v: { name: string; shape: (number | string)[] }): onnxProto.onnx.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name: v.name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

function attribute(name: string, a: AttrSpec): onnxProto.onnx.IAttributeProto {
  const AT = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: AT.INT, i: a.i };
  if ('f' in a) return { name, type: AT.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: AT.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: AT.FLOATS, floats: a.floats };
  return { name, type: AT.STRING, s: new TextEncoder().encode(a.s) };
}

/** Encodes `spec` as ONNX bytes (IR version 8, default-domain opset `spec.opset ?? 13`). */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const DT = onnx.TensorProto.DataType;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'g',
      input: [valueInfo(spec.input)],
      output: [valueInfo(spec.output)],
      initializer: (spec.initializers ?? []).map((t) =>
        t.data instanceof Float32Array
          ? { name: t.name, dims: t.dims, dataType: DT.FLOAT, floatData: Array.from(t.data) }
          : { name: t.name, dims: t.dims, dataType: DT.INT64, int64Data: t.data },
      ),
      node: spec.nodes.map((n) => ({
        opType: n.op, name: n.name, input: n.inputs, output: n.outputs, domain: n.domain ?? '',
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
