import { readFileSync } from 'node:fs';
import { receiveMessageOnPort } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { ModelError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Backend, BackendInfo, ModelRef, OutputKind } from './backend.js';
import { copyInto } from './firmware.js';
import { decodeOnnxModel, onnxOutputKind } from './onnx-graph.js';
import { PROTOCOL, startOnnxWorker, waitForAnswer, type OnnxValueMetadata, type OnnxWorker } from './onnx-worker.js';

/** One intra-op thread: a 10 us inference does not amortise a thread pool wake-up, and
 * this machine has two cores, one of which the event loop needs. */
const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;

/**
 * Loads an ONNX model on onnxruntime's CPU provider, through its public API, as the float
 * reference backend. The session lives in a worker thread (onnx-worker.ts); `predict` hands
 * it one frame over shared memory and blocks until it answers, so the hot path stays
 * synchronous at the cost of a thread round trip per call.
 *
 * Refuses, with a ModelError naming the file, a file that is not ONNX, a model with other
 * than the pipeline's float inputs (one, or `inputShapes`) and one float output, or whose input/output shape differs from the
 * pipeline's (a symbolic batch dimension is accepted). `info().outputKind` says whether the
 * output is produced by a Softmax node (probabilities) or not (logits).
 */
export async function loadOnnxBackend(ref: ModelRef): Promise<Backend> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(ref.path);
  } catch (err) {
    throw new ModelError(ref.path, `cannot read model: ${(err as Error).message}`, { cause: err });
  }
  const model = decodeOnnxModel(bytes, ref.path);
  const w = startOnnxWorker(bytes, SESSION_OPTIONS, ref.inputShapes ?? [ref.inputShape], ref.classes, limits.onnxWaitPollsMax);
  try {
    const report = await w.loaded;
    if (report.kind === 'failed') throw new ModelError(ref.path, `not a loadable ONNX model: ${report.message}`);
    const output = checkSignature(report.inputs, report.outputs, ref);
    const backend = new OnnxBackend(w, ref, onnxOutputKind(model, output, ref.path));
    // The backend only runs when predict is called: it need not keep the process alive.
    w.worker.unref();
    return backend;
  } catch (err) {
    await w.worker.terminate();
    throw err;
  }
}

class OnnxBackend implements Backend {
  private readonly desc: BackendInfo;
  private open = true;

  constructor(private readonly w: OnnxWorker, private readonly ref: ModelRef, outputKind: OutputKind) {
    this.desc = { kind: 'onnx', model: ref.path, inputShape: [...ref.inputShape], outputs: ref.classes, outputKind, precision: 'float32',
      params: ref.params ?? null, modelledCycles: null };
  }

  info(): BackendInfo {
    return { ...this.desc, inputShape: [...this.desc.inputShape] };
  }

  /** One round trip to the worker; allocates nothing on this thread unless inference fails. */
  predict(input: Float32Array, output: Float32Array): void {
    assert(this.w.xs.length === 1, 'a model of several inputs is run with predictInputs');
    copyInto(this.w.x, input);
    this.run(output);
  }

  /** Every input of a model of several, in its input order; one round trip. */
  predictInputs(inputs: readonly Float32Array[], output: Float32Array): void {
    const xs = this.w.xs;
    assert(inputs.length === xs.length, 'one tensor per model input');
    for (let k = 0; k < xs.length; k++) copyInto(xs[k], inputs[k]);
    this.run(output);
  }

  private run(output: Float32Array): void {
    if (!this.open) throw new ModelError(this.ref.path, 'predict after close');
    const { control, y } = this.w;
    // A frame that timed out may still be running: never hand the worker a second one.
    if (Atomics.load(control, PROTOCOL.state) === PROTOCOL.request) {
      throw new ModelError(this.ref.path, 'the onnxruntime worker is still running a frame that timed out');
    }
    Atomics.store(control, PROTOCOL.state, PROTOCOL.request);
    Atomics.notify(control, PROTOCOL.state);
    if (!waitForAnswer(control, limits.onnxInferenceWaitMsMax, limits.onnxWaitPollsMax)) {
      throw new ModelError(this.ref.path, `the onnxruntime worker did not answer within ${limits.onnxInferenceWaitMsMax} ms`);
    }
    if (Atomics.load(control, PROTOCOL.state) === PROTOCOL.failed) {
      const reason = receiveMessageOnPort(this.w.errors)?.message as string | undefined;
      throw new ModelError(this.ref.path, `inference failed: ${reason ?? 'onnxruntime gave no reason'}`);
    }
    copyInto(output, y);
  }

  /** Terminates the worker, which frees the session. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.w.errors.close();
    await this.w.worker.terminate();
  }
}

/** Checks the session's signature against the pipeline; returns the output's name. */
function checkSignature(ins: OnnxValueMetadata[], outs: OnnxValueMetadata[], ref: ModelRef): string {
  const shapes = ref.inputShapes ?? [ref.inputShape];
  if (ins.length !== shapes.length || outs.length !== 1) {
    throw new ModelError(ref.path, `expected ${shapes.length} input(s) and one output, model has ${ins.length} inputs (${ins.map((i) => i.name).join(', ')}) and ${outs.length} outputs`);
  }
  const o = outs[0]!;
  ins.forEach((i, k) => {
    if (!i.isTensor || i.type !== 'float32' || !o.isTensor || o.type !== 'float32') {
      throw new ModelError(ref.path, `input "${i.name}" and output "${o.name}" must be float32 tensors`);
    }
    const want = [1, ...shapes[k]!];
    if (!shapeFits(i.shape!, want)) {
      throw new ModelError(ref.path, `input "${i.name}" has shape [${i.shape!.map(dim).join(', ')}], the pipeline feeds [${want.join(', ')}] (check the model card's input shape and preprocessing)`);
    }
  });
  if (!shapeFits(o.shape!, [1, ref.classes])) {
    throw new ModelError(ref.path, `output "${o.name}" has shape [${o.shape!.map(dim).join(', ')}], the pipeline expects [1, ${ref.classes}] (one logit per label)`);
  }
  return o.name;
}

/** A symbolic dimension (a name) fits any size. */
function shapeFits(actual: ReadonlyArray<number | string>, want: readonly number[]): boolean {
  return actual.length === want.length && actual.every((d, k) => typeof d === 'string' || d === want[k]);
}

function dim(d: number | string): string {
  return typeof d === 'string' ? 'N' : String(d);
}
