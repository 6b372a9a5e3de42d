import { ModelError } from '../core/errors.js';
import type { ModelRef } from './backend.js';

/** What a compiled firmware says about itself (simulator library info, or regmap.json). */
export interface FirmwareFacts {
  readonly name: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly modelSha256: string;
}

/**
 * Refuses, with a ModelError naming `ref.path`, firmware (the sim backend's library, the fpga
 * backend's register map: `what`) whose sizes differ from the pipeline's, or that was compiled
 * from another ONNX file than `sourceSha256` (a stale build).
 */
export function checkFirmwareFits(what: string, fw: FirmwareFacts, ref: ModelRef & { readonly sourceSha256?: string }): void {
  const nIn = ref.inputShape.reduce((a, b) => a * b, 1);
  if (fw.nIn !== nIn) throw new ModelError(ref.path, `${what} ${fw.name} takes ${fw.nIn} inputs; the pipeline feeds [${ref.inputShape.join(', ')}] = ${nIn}`);
  if (fw.nOut !== ref.classes) throw new ModelError(ref.path, `${what} ${fw.name} writes ${fw.nOut} outputs; the pipeline expects ${ref.classes} classes`);
  if (ref.sourceSha256 !== undefined && fw.modelSha256 !== ref.sourceSha256) {
    throw new ModelError(ref.path, `${what} ${fw.name} was compiled from ONNX ${fw.modelSha256.slice(0, 12)}..., the model is ${ref.sourceSha256.slice(0, 12)}...: rebuild it (make firmware)`);
  }
}

/** Vectors up to this many values are copied by loop rather than TypedArray.set. */
const SHORT_COPY_MAX = 64;

/**
 * Copies `src` into `dst` (same length) without allocating: short vectors (feature frames,
 * logits) by loop, since TypedArray.set's call costs more than copying a few values; long
 * ones (image tensors) by set, a memcpy. The hot path's way into and out of bound buffers.
 */
export function copyInto(dst: Float32Array, src: Float32Array): void {
  if (dst.length <= SHORT_COPY_MAX) for (let i = 0; i < dst.length; i++) dst[i] = src[i]!;
  else dst.set(src);
}
