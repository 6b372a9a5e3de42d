import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import { loadOnnxBackend } from './onnx.js';

// A model of two named inputs (as an alert model takes a cutout and a feature vector):
// y = concat(a, b) @ W, a [1, 2], b [1, 3], W [5, 2].
const W = [1, -2, 0.5, 3, -1, 0.25, 2, 2, -0.5, 1];

function twoInputModel(): Uint8Array {
  const { onnx } = onnxProto;
  const tensor = (name: string, dims: number[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'hairtrigger test',
    graph: {
      name: 'two-inputs',
      node: [
        { opType: 'Concat', input: ['cutout', 'features'], output: ['ab'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: 'MatMul', input: ['ab', 'W'], output: ['y'] },
      ],
      input: [tensor('cutout', [1, 2]), tensor('features', [1, 3])],
      output: [tensor('y', [1, 2])],
      initializer: [{ name: 'W', dims: [5, 2], dataType: onnx.TensorProto.DataType.FLOAT, floatData: W }],
    },
  }).finish();
}

describe('onnx backend with several named model inputs', () => {
  let backend: Backend;
  let path: string;
  beforeAll(async () => {
    path = join(mkdtempSync(join(tmpdir(), 'ht-inputs-')), 'two-inputs.onnx');
    writeFileSync(path, twoInputModel());
    backend = await loadOnnxBackend({ path, inputShape: [2], inputShapes: [[2], [3]], classes: 2 });
  });
  afterAll(async () => backend.close());

  it('feeds each input by the model order and computes what a hand calculation gives', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 5, maxLength: 5 }), (v) => {
        const a = Float32Array.from(v.slice(0, 2));
        const b = Float32Array.from(v.slice(2));
        const y = new Float32Array(2);
        backend.predictInputs!([a, b], y);
        const ab = [...a, ...b];
        for (let j = 0; j < 2; j++) {
          const want = ab.reduce((s, x, i) => s + x * W[i * 2 + j]!, 0);
          expect(y[j]).toBeCloseTo(want, 3);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a pipeline whose inputs differ from the model, naming them', async () => {
    await expect(loadOnnxBackend({ path, inputShape: [5], classes: 2 })).rejects.toThrow(/expected 1 input\(s\) and one output, model has 2 inputs \(cutout, features\)/);
    await expect(loadOnnxBackend({ path, inputShape: [2], inputShapes: [[2], [4]], classes: 2 })).rejects.toThrow(/input "features" has shape \[1, 3\], the pipeline feeds \[1, 4\]/);
  });
});
