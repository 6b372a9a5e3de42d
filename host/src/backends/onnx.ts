import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ModelError } from '../core/errors.js';
import type { Backend, BackendInfo, ModelRef } from './backend.js';

const require = createRequire(import.meta.url);

/**
 * The typed edge of onnxruntime-node's native binding (the one file allowed loose types).
 * The public `InferenceSession.run` wraps the binding's synchronous `run` in a promise and a
 * `setImmediate`; calling the binding directly keeps the hot path synchronous and lets the
 * output tensor be preallocated (the binding writes into a tensor passed in `fetches`).
 */
interface NativeSession {
  loadModel(path: string, options: object): void;
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: ReadonlyArray<{ name: string; isTensor: boolean; type: number; shape: number[] }>;
  readonly outputMetadata: ReadonlyArray<{ name: string; isTensor: boolean; type: number; shape: number[] }>;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: object): Record<string, unknown>;
  dispose(): void;
}
interface OrtTensorCtor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): unknown;
}
const ortBinding = require('onnxruntime-node/dist/binding.js') as {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
};
const { Tensor } = require('onnxruntime-common') as { Tensor: OrtTensorCtor };

const ONNX_FLOAT = 1;
/** One intra-op thread: a 10 us inference does not amortise a thread pool wake-up, and
 * this machine has two cores, one of which the event loop needs. */
const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;

/**
 * Loads an ONNX model on onnxruntime's CPU provider as the float reference backend.
 * Refuses, with a ModelError naming the file, a file that is not ONNX, a model with other
 * than one float input and one float output, or whose input/output shape differs from the
 * pipeline's (a symbolic batch dimension is accepted).
 */
export async function loadOnnxBackend(ref: ModelRef): Promise<Backend> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(ref.path);
  } catch (err) {
    throw new ModelError(ref.path, `cannot read model: ${(err as Error).message}`, { cause: err });
  }
  ortBinding.initOrt();
  const session = new ortBinding.binding.InferenceSession();
  try {
    session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, SESSION_OPTIONS);
  } catch (err) {
    throw new ModelError(ref.path, `not a loadable ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const [input, output] = checkSignature(session, ref);
  const inputData = new Float32Array(ref.inputShape.reduce((a, b) => a * b, 1));
  const outputData = new Float32Array(ref.classes);
  const feeds = { [input]: new Tensor('float32', inputData, [1, ...ref.inputShape]) };
  const fetches = { [output]: new Tensor('float32', outputData, [1, ref.classes]) };
  const runOptions = {};
  const info: BackendInfo = {
    kind: 'onnx',
    model: ref.path,
    inputShape: [...ref.inputShape],
    outputs: ref.classes,
    precision: 'float32',
    params: ref.params ?? null,
    modelledCycles: null,
  };
  let open = true;
  return {
    info: () => info,
    predict(x, y) {
      if (!open) throw new ModelError(ref.path, 'predict after close');
      inputData.set(x);
      try {
        session.run(feeds, fetches, runOptions);
      } catch (err) {
        throw new ModelError(ref.path, `inference failed: ${(err as Error).message}`, { cause: err });
      }
      y.set(outputData);
    },
    async close() {
      if (open) session.dispose();
      open = false;
    },
  };
}

function checkSignature(session: NativeSession, ref: ModelRef): [string, string] {
  const ins = session.inputMetadata;
  const outs = session.outputMetadata;
  if (ins.length !== 1 || outs.length !== 1) {
    throw new ModelError(ref.path, `expected one input and one output, model has ${ins.length} inputs (${ins.map((i) => i.name).join(', ')}) and ${outs.length} outputs`);
  }
  const [i, o] = [ins[0], outs[0]];
  if (!i.isTensor || i.type !== ONNX_FLOAT || !o.isTensor || o.type !== ONNX_FLOAT) {
    throw new ModelError(ref.path, `input "${i.name}" and output "${o.name}" must be float32 tensors`);
  }
  const want = [1, ...ref.inputShape];
  if (!shapeFits(i.shape, want)) {
    throw new ModelError(ref.path, `input "${i.name}" has shape [${i.shape.map(dim).join(', ')}], the pipeline feeds [${want.join(', ')}] (check the model card's input shape and preprocessing)`);
  }
  if (!shapeFits(o.shape, [1, ref.classes])) {
    throw new ModelError(ref.path, `output "${o.name}" has shape [${o.shape.map(dim).join(', ')}], the pipeline expects [1, ${ref.classes}] (one logit per label)`);
  }
  return [i.name, o.name];
}

/** -1 marks a symbolic dimension; it fits any size. */
function shapeFits(actual: readonly number[], want: readonly number[]): boolean {
  return actual.length === want.length && actual.every((d, k) => d === -1 || d === want[k]);
}

function dim(d: number): string {
  return d === -1 ? 'N' : String(d);
}
