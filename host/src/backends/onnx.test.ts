import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../../hls/compiler/onnx-reader.js';
import { createRng } from '../core/rng.js';
import { ModelError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import type { ModelRef, OutputKind } from './backend.js';
import { backendContract } from './contract.js';
import { loadOnnxBackend } from './onnx.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const EXAMPLES = join(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples');
const tempDir = (name: string): string => mkdtempSync(join(tmpdir(), `ht-${name}-`));

/** The public (async) onnxruntime API on the calling thread: the reference for the backend. */
function ortReference(path: string, dims: readonly number[]): (x: Float32Array) => Promise<Float32Array> {
  let session: ort.InferenceSession | null = null;
  afterAll(async () => session?.release());
  return async (x) => {
    session ??= await ort.InferenceSession.create(path);
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...dims]) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  };
}

/** What the model outputs, read by the compiler's own ONNX reader (not the backend's). */
function graphOutputKind(path: string): OutputKind {
  const g = parseOnnx(readFileSync(path), path);
  return g.nodes.at(-1)!.opType === 'Softmax' ? 'probabilities' : 'logits';
}

function normalInputs(n: number, seed: number): () => Float32Array[] {
  return () => {
    const rng = createRng(seed);
    return Array.from({ length: 8 }, () => Float32Array.from({ length: n }, () => rng.normal()));
  };
}

// The cell students end in a dense layer (logits), the jet tagger in a Softmax (probabilities).
for (const task of ['cells-bccd', 'cells-lymphocyte', 'jets-hls4ml']) {
  describe(`onnx backend on the ${task} student`, () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', task));
    const ref = { path: card.files.student, inputShape: card.inputShape, classes: card.labels.length, params: card.params.student };
    const n = card.inputShape.reduce((a, b) => a * b, 1);
    backendContract('onnx', () => loadOnnxBackend(ref), ref, normalInputs(n, 17), ortReference(ref.path, card.inputShape), 1e-5, graphOutputKind(ref.path));
  });
}

describe('onnx backend output kind', () => {
  it('a Softmax of an older opset (7, 9: normalising over all dims from axis 1) gives probabilities', async () => {
    const cases = [{ file: 'dense_big_keras.onnx', inputShape: [16], classes: 5 }, { file: 'conv2d_small_keras.onnx', inputShape: [8, 8, 1], classes: 10 }];
    for (const c of cases) {
      const b = await loadOnnxBackend({ path: join(EXAMPLES, c.file), inputShape: c.inputShape, classes: c.classes });
      expect(b.info().outputKind).toBe('probabilities');
      await b.close();
    }
  });

  const dir = tempDir('onnx-kind');
  it('a Softmax behind an Identity gives probabilities', async () => {
    const path = join(dir, 'softmax-identity.onnx');
    writeFileSync(path, tinyModel([{ opType: 'Softmax', input: ['x'], output: ['p'], attribute: [axis(-1)] }, { opType: 'Identity', input: ['p'], output: ['y'] }]));
    const b = await loadOnnxBackend({ path, inputShape: [5], classes: 5 });
    expect(b.info().outputKind).toBe('probabilities');
    const y = new Float32Array(5);
    b.predict(Float32Array.from([0, 1, 2, 3, 4]), y);
    const e = [0, 1, 2, 3, 4].map(Math.exp);
    const sum = e.reduce((a, v) => a + v, 0);
    y.forEach((v, k) => expect(v).toBeCloseTo(e[k]! / sum, 6));
    await b.close();
  });

  it('refuses a Softmax over the batch axis, naming the file and the axis', async () => {
    const path = join(dir, 'softmax-batch.onnx');
    writeFileSync(path, tinyModel([{ opType: 'Softmax', input: ['x'], output: ['y'], attribute: [axis(0)] }]));
    await expect(loadOnnxBackend({ path, inputShape: [5], classes: 5 })).rejects.toThrow(ModelError);
    await expect(loadOnnxBackend({ path, inputShape: [5], classes: 5 })).rejects.toThrow(/softmax-batch\.onnx.*Softmax over axis 0/);
  });
});

describe('onnx backend refuses models that do not fit', () => {
  const dir = tempDir('onnx-refuse');
  it('names the missing file', async () => {
    await expect(loadOnnxBackend({ path: '/nonexistent/student.onnx', inputShape: [1, 4, 4], classes: 2 })).rejects.toThrow(ModelError);
  });

  it('names a file that is not ONNX, from the parser and from onnxruntime', async () => {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'definitely not protobuf');
    await expect(loadOnnxBackend({ path: garbage, inputShape: [5], classes: 5 })).rejects.toThrow(/garbage\.onnx.*not a loadable ONNX model/);
    // Valid protobuf, a graph onnxruntime refuses (an operator that does not exist).
    const bogus = join(dir, 'bogus-op.onnx');
    writeFileSync(bogus, tinyModel([{ opType: 'NoSuchOperator', input: ['x'], output: ['y'] }]));
    await expect(loadOnnxBackend({ path: bogus, inputShape: [5], classes: 5 })).rejects.toThrow(/bogus-op\.onnx.*not a loadable ONNX model: .*NoSuchOperator/);
  });

  it('names the output shape when the class count differs', async () => {
    const path = join(EXAMPLES, 'three_layer_keras.onnx');
    await expect(loadOnnxBackend({ path, inputShape: [16], classes: 3 })).rejects.toThrow(/output .* has shape \[1, 5\], the pipeline expects \[1, 3\]/);
    const b = await loadOnnxBackend({ path, inputShape: [16], classes: 5 });
    expect(b.info().outputs).toBe(5);
    await b.close();
  });
});

describe('onnx backend errors at inference', () => {
  it('come back from the worker as a ModelError with onnxruntime\'s message, frame after frame', async () => {
    // A symbolic batch lets the model load; reshaping 4 values to [1, 5] fails when it runs.
    const path = join(tempDir('onnx-run'), 'bad-reshape.onnx');
    const shape = { name: 'shape', dataType: onnxProto.onnx.TensorProto.DataType.INT64, dims: [2], int64Data: [1, 5] };
    writeFileSync(path, tinyModel([{ opType: 'Reshape', input: ['x', 'shape'], output: ['y'] }], { inputDims: ['N', 4], initializer: [shape] }));
    const ref: ModelRef = { path, inputShape: [4], classes: 5 };
    const b = await loadOnnxBackend(ref);
    for (let i = 0; i < 2; i++) {
      expect(() => b.predict(new Float32Array(4), new Float32Array(5))).toThrow(ModelError);
      expect(() => b.predict(new Float32Array(4), new Float32Array(5))).toThrow(/bad-reshape\.onnx.*inference failed: .*[Rr]eshape/);
    }
    await b.close();
  });
});

function axis(i: number): onnxProto.onnx.IAttributeProto {
  return { name: 'axis', type: onnxProto.onnx.AttributeProto.AttributeType.INT, i };
}

/** An opset-13 model of `nodes` from float input x ([1, 5] unless given) to float output y ([1, 5]). */
function tinyModel(nodes: onnxProto.onnx.INodeProto[], o: { inputDims?: (number | string)[]; initializer?: onnxProto.onnx.ITensorProto[] } = {}): Uint8Array {
  const { onnx } = onnxProto;
  const tensor = (name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'hairtrigger test',
    graph: { name: 'g', node: nodes, input: [tensor('x', o.inputDims ?? [1, 5])], output: [tensor('y', [1, 5])], initializer: o.initializer ?? [] },
  }).finish();
}
