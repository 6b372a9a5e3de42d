import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../sim/src/rng.js';
import { ModelError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import { backendContract } from './contract.js';
import { loadOnnxBackend } from './onnx.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');

for (const task of ['cells-bccd', 'cells-lymphocyte']) {
  describe(`onnx backend on the ${task} student`, () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', task));
    const ref = { path: join(card.dir, 'student.onnx'), inputShape: card.inputShape, classes: card.labels.length, params: card.params.student };
    const n = card.inputShape.reduce((a, b) => a * b, 1);
    const inputs = () => {
      const rng = createRng(17);
      return Array.from({ length: 8 }, () => Float32Array.from({ length: n }, () => rng.normal()));
    };
    let session: ort.InferenceSession | null = null;
    const reference = async (x: Float32Array) => {
      session ??= await ort.InferenceSession.create(ref.path);
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
      return out[session.outputNames[0]].data as Float32Array;
    };
    backendContract('onnx', () => loadOnnxBackend(ref), ref, inputs, reference, 1e-5);
  });
}

describe('onnx backend refuses models that do not fit', () => {
  it('names the missing file', async () => {
    await expect(loadOnnxBackend({ path: '/nonexistent/student.onnx', inputShape: [1, 4, 4], classes: 2 })).rejects.toThrow(ModelError);
  });

  it('names the output shape when the class count differs', async () => {
    const path = join(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
    await expect(loadOnnxBackend({ path, inputShape: [16], classes: 3 })).rejects.toThrow(/output .* has shape \[1, 5\], the pipeline expects \[1, 3\]/);
    const b = await loadOnnxBackend({ path, inputShape: [16], classes: 5 });
    expect(b.info().outputs).toBe(5);
    await b.close();
  });
});
