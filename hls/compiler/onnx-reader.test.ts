import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { ModelError } from '../../host/src/core/errors.js';
import { decodeTensor, longToNumber, parseOnnx, readOnnx } from './onnx-reader.js';
import { encodeModel } from './testing.js';
import { MODEL_CASES } from './models.fixture.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

describe('readOnnx', () => {
  it('decodes every shared and zoo model with float initializers of the declared size', () => {
    for (const c of MODEL_CASES) {
      const g = readOnnx(c.path);
      expect(g.inputs).toHaveLength(1);
      expect(g.nodes.length).toBeGreaterThan(0);
      for (const t of g.initializers.values()) {
        expect(t.data.length, `${c.label} ${t.name}`).toBe(t.dims.reduce((a, b) => a * b, 1));
      }
    }
  });

  it('drops initializers from the inputs, keeps symbolic batch as -1 and synthesises node names', () => {
    const keras = readOnnx(MODEL_CASES.find((c) => c.label === 'conv2d_small_keras')!.path);
    expect(keras.inputs).toEqual([{ name: 'conv2d_1_input_0', shape: [1, 8, 8, 1] }]);
    expect(keras.nodes.map((n) => n.name)).toContain('Gemm_6');
    const student = readOnnx(MODEL_CASES.find((c) => c.label === 'cells-bccd/student')!.path);
    expect(student.inputs[0].shape).toEqual([-1, 3, 32, 32]);
    expect(student.opset).toBe(13);
    expect(student.nodes[0].attributes.get('kernel_shape')).toEqual([3, 3]);
    expect(student.nodes[6].attributes.get('axis')).toBe(1);
  });

  it('throws ModelError naming the file for bytes that are not ONNX, a missing file, or no graph', () => {
    expect(() => parseOnnx(new TextEncoder().encode('this is a csv file,1,2,3\n'), 'notes.csv')).toThrow(/E_MODEL at notes\.csv/);
    expect(() => readOnnx('/nonexistent/model.onnx')).toThrow(ModelError);
    const empty = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8 })).finish();
    expect(() => parseOnnx(empty, 'empty.onnx')).toThrow(/empty\.onnx is not an ONNX model with a graph/);
  });

  it('decodes int64 from raw_data and from int64_data Longs, including negatives', () => {
    const raw = new Uint8Array(24);
    const dv = new DataView(raw.buffer);
    [-1n, 7n, 1n << 40n].forEach((v, i) => dv.setBigInt64(i * 8, v, true));
    expect(decodeTensor({ name: 'r', dims: [3], dataType: DT.INT64, rawData: raw }, 't').data).toEqual([-1, 7, 2 ** 40]);
    const bytes = encodeModel({
      input: { name: 'x', shape: ['N', 2] },
      output: { name: 'y', shape: ['N', 2] },
      initializers: [{ name: 's', dims: [2], data: [-1, 2 ** 40] }],
      nodes: [{ op: 'Reshape', name: 'r', inputs: ['x', 's'], outputs: ['y'] }],
    });
    expect(parseOnnx(bytes, 'm').initializers.get('s')!.data).toEqual([-1, 2 ** 40]);
    expect(longToNumber({ low: -1, high: -1 })).toBe(-1);
    expect(longToNumber({ low: 0, high: 1, unsigned: true })).toBe(2 ** 32);
  });

  it('decodes float raw_data little-endian and rejects a raw length that disagrees with dims', () => {
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setFloat32(4, 1.5, true);
    expect(Array.from(decodeTensor({ name: 'f', dims: [2], dataType: DT.FLOAT, rawData: raw }, 't').data)).toEqual([0, 1.5]);
    expect(() => decodeTensor({ name: 'f', dims: [3], dataType: DT.FLOAT, rawData: raw }, 'where.onnx')).toThrow(/where\.onnx.*"f" has 8 raw bytes/);
    expect(() => decodeTensor({ name: 'h', dims: [1], dataType: DT.FLOAT16, rawData: raw.subarray(0, 2) }, 'w')).toThrow(/FLOAT16/);
  });
});
