import { loadSimModel, type NativeSimModel } from '../native/addon.js';
import { ModelError } from '../core/errors.js';
import { assert } from '../core/assert.js';
import type { Backend, BackendInfo, ModelRef } from './backend.js';
import { checkFirmwareFits, copyInto } from './firmware.js';

/** A sim backend's model: `path` is the compiled library (lib<name>.so of a firmware project). */
export interface SimModelRef extends ModelRef {
  /** SHA-256 (hex) of the ONNX file the library must have been compiled from, when known. */
  readonly sourceSha256?: string;
  /** The inputs are sliding windows over a sequence (an audio front end's last frames): predict
   * through the library's sliding-window stream where it has one (hls/nnet/nnet_shift_reuse.h). */
  readonly slidingWindows?: boolean;
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
 * copies the logits out (`copyInto`): no allocation. With `slidingWindows` (a keyword
 * spotter's MFCC windows) it goes through the library's sliding-window stream: a window that
 * is an earlier one moved up by the network's stride computes only the rows near its ends
 * (the same bits; the stream's states are this backend's own, so streams do not mix).
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

class SimBackend implements Backend {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly desc: BackendInfo;
  /** Bytes of a camera frame the library's pixel entry takes (absent: it takes none). */
  readonly pixelBytes?: number;
  /** The buffer frames were last read from: rebound only when frames move to another one. */
  private pixelSource: Uint8Array | null = null;
  /** Whether `predict` runs through the library's sliding-window stream. */
  readonly sliding: boolean;

  constructor(private readonly model: NativeSimModel, ref: SimModelRef) {
    const info = model.info();
    checkFirmwareFits('library', info, ref);
    // `hairtrigger compile` strips a trailing softmax and records it as `postprocess`: the
    // library's outputs are logits either way, and the policy applies the softmax.
    if (info.postprocess !== '' && info.postprocess !== 'softmax') {
      throw new ModelError(ref.path, `library ${info.name} asks the host for postprocess "${info.postprocess}"; this host applies "softmax" or nothing`);
    }
    this.x = new Float32Array(info.nIn);
    this.y = new Float32Array(info.nOut);
    model.bind(this.x, this.y);
    this.sliding = ref.slidingWindows === true && model.openStream !== undefined && model.openStream();
    if (info.nPx > 0) this.pixelBytes = info.nPx;
    this.desc = { kind: 'sim', model: ref.path, inputShape: [...ref.inputShape], outputs: info.nOut, outputKind: 'logits', precision: info.precision,
      params: ref.params ?? null, modelledCycles: info.latencyCycles, clockMhz: info.clockMhz };
  }

  info(): BackendInfo {
    return { ...this.desc, inputShape: [...this.desc.inputShape] };
  }

  predict(input: Float32Array, output: Float32Array): void {
    copyInto(this.x, input);
    this.model.run();
    copyInto(output, this.y);
  }

  predictPixels(raw: Uint8Array, offset: number, output: Float32Array): void {
    assert(this.pixelBytes !== undefined, 'sim backend: predictPixels on a library without a pixel entry');
    if (raw !== this.pixelSource) {
      this.model.bindPixels(raw, this.y);
      this.pixelSource = raw;
    }
    this.model.runPixels(offset);
    copyInto(output, this.y);
  }

  /** Predictions that reused rows of an earlier window (0 unless `sliding`). */
  reusedPredictions(): number {
    return this.sliding ? this.model.streamReused!() : 0;
  }

  async close(): Promise<void> {
    this.pixelSource = null;
    this.model.close();
  }
}
