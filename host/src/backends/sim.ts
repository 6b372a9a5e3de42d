import { ModelError } from '../core/errors.js';
import { loadSimModel, type NativeSimModel } from '../native/addon.js';
import type { Backend, BackendInfo, ModelRef } from './backend.js';

/** A sim backend's model: `path` is the compiled library (lib<name>.so of a firmware project). */
export interface SimModelRef extends ModelRef {
  /** SHA-256 (hex) of the ONNX file the library must have been compiled from, when known. */
  readonly sourceSha256?: string;
}

/**
 * The firmware itself, on the CPU: the generated HLS C++ compiled with g++ into a model
 * library (hls/compiler/bridge.ts) and run through the native addon, bit for bit what the
 * FPGA computes. Refuses, with a ModelError naming the library, one that does not load (the
 * loader's reason), whose sizes differ from the pipeline's, or that was compiled from
 * another ONNX file than `sourceSha256`.
 *
 * `predict` copies the input into a buffer bound to the library once and calls it with no
 * arguments (unwrapping two typed arrays per call costs as much as a small model), then
 * copies the logits out: two memcpy's, no allocation.
 */
export function loadSimBackend(ref: SimModelRef): Backend {
  const model = loadSimModel(ref.path);
  try {
    return new SimBackend(model, ref);
  } catch (err) {
    model.close();
    throw err;
  }
}

/** Inputs up to this many values are copied by loop rather than TypedArray.set. */
const SHORT_COPY_MAX = 64;

class SimBackend implements Backend {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly desc: BackendInfo;

  constructor(private readonly model: NativeSimModel, ref: SimModelRef) {
    const info = model.info();
    const nIn = ref.inputShape.reduce((a, b) => a * b, 1);
    if (info.nIn !== nIn) throw new ModelError(ref.path, `library ${info.name} takes ${info.nIn} inputs; the pipeline feeds [${ref.inputShape.join(', ')}] = ${nIn}`);
    if (info.nOut !== ref.classes) throw new ModelError(ref.path, `library ${info.name} writes ${info.nOut} outputs; the pipeline expects ${ref.classes} classes`);
    if (ref.sourceSha256 !== undefined && info.modelSha256 !== ref.sourceSha256) {
      throw new ModelError(ref.path, `library ${info.name} was compiled from ONNX ${info.modelSha256.slice(0, 12)}..., the model is ${ref.sourceSha256.slice(0, 12)}...: rebuild it (make firmware)`);
    }
    this.x = new Float32Array(info.nIn);
    this.y = new Float32Array(info.nOut);
    model.bind(this.x, this.y);
    this.desc = { kind: 'sim', model: ref.path, inputShape: [...ref.inputShape], outputs: info.nOut, precision: info.precision,
      params: ref.params ?? null, modelledCycles: info.latencyCycles };
  }

  info(): BackendInfo {
    return { ...this.desc, inputShape: [...this.desc.inputShape] };
  }

  predict(input: Float32Array, output: Float32Array): void {
    const x = this.x;
    const y = this.y;
    // Short vectors (feature streams, logits) by loop: TypedArray.set's call costs more than
    // copying a few values; long ones (image tensors) by set (a memcpy).
    if (x.length <= SHORT_COPY_MAX) for (let i = 0; i < x.length; i++) x[i] = input[i]!;
    else x.set(input);
    this.model.run();
    for (let k = 0; k < y.length; k++) output[k] = y[k]!;
  }

  async close(): Promise<void> {
    this.model.close();
  }
}
