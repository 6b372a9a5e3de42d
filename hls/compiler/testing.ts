/**
 * Test support for the compiler (imported only by *.test.ts): builds ONNX models in memory,
 * runs onnxruntime as the reference, and draws seeded normal inputs.
 */
import * as ort from 'onnxruntime-node';

export { encodeModel, type AttrSpec, type ModelSpec, type NodeSpec } from './onnx-writer.js';
import type { ModelSpec } from './onnx-writer.js';

export { withSymbolicBatch } from './onnx-reader.js';

/** An onnxruntime session (CPU, warnings off) that runs one batch-1 sample at a time. */
export async function ortRunner(bytes: Uint8Array): Promise<(x: Float32Array, shape: readonly number[]) => Promise<Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  return async (x, shape) => {
    const result = await session.run({ [inName]: new ort.Tensor('float32', x, [1, ...shape]) });
    return result[outName].data as Float32Array;
  };
}

/** Seeded N(0, sigma) draws (mulberry32 + Box-Muller); the same seed gives the same values. */
export function normalSampler(seed: number): (n: number, sigma?: number) => Float32Array {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return (n, sigma = 1) =>
    Float32Array.from({ length: n }, () => sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/**
 * A 2-D graph through most of the added layers: conv (stride 2, pads 1), average pools with
 * pads with and without count_include_pad, a two-tensor Add, leaky relu, tanh, a padded max
 * pool, sigmoid, softmax over channels; [N, 2, 7, 7] -> [N, 3, 3, 3]. Weights and biases are
 * normalSampler(seed)'s draws.
 */
export function ops2dSpec(seed: number): ModelSpec {
  const rnd = normalSampler(seed);
  return {
    input: { name: 'x', shape: ['N', 2, 7, 7] },
    output: { name: 'y', shape: ['N', 3, 3, 3] },
    initializers: [{ name: 'w', dims: [3, 2, 3, 3], data: rnd(54, 0.5) }, { name: 'b', dims: [3], data: rnd(3) }],
    nodes: [
      { op: 'Conv', name: 'c', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } } },
      { op: 'AveragePool', name: 'a1', inputs: ['c'], outputs: ['a1'],
        attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { i: 1 } } },
      { op: 'AveragePool', name: 'a2', inputs: ['c'], outputs: ['a2'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Add', name: 'sum', inputs: ['a1', 'a2'], outputs: ['s'] },
      { op: 'LeakyRelu', name: 'lr', inputs: ['s'], outputs: ['l'], attrs: { alpha: { f: 0.2 } } },
      { op: 'Tanh', name: 'th', inputs: ['l'], outputs: ['t'] },
      { op: 'MaxPool', name: 'mp', inputs: ['t'], outputs: ['m'], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Sigmoid', name: 'sg', inputs: ['m'], outputs: ['g'] },
      { op: 'Softmax', name: 'sm', inputs: ['g'], outputs: ['y'], attrs: { axis: { i: 1 } } },
    ],
  };
}

/** max |a - b| / (1 + |b|): the golden tests' error measure (b is the reference). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}
