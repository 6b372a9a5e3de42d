/**
 * The contract every inference backend keeps (onnx now; the firmware simulator and the FPGA
 * driver later). `predict` is synchronous: for the simulator and the FPGA a thread hop costs
 * more than the work, and the hot path from frame arrival to trigger write never awaits.
 */
export interface BackendInfo {
  /** Which implementation: `onnx` (float reference), `sim` (firmware on the CPU), `fpga`. */
  kind: string;
  /** Path of the model file the backend runs. */
  model: string;
  /** Input shape without the batch dimension, e.g. [1, 48, 48]. */
  inputShape: number[];
  /** Number of outputs, one per class. */
  outputs: number;
  /**
   * What `predict` writes: `logits` (the trigger policy applies softmax) or `probabilities`
   * (a model that ends in its own softmax; the policy takes them as they are).
   */
  outputKind: OutputKind;
  /** Arithmetic, e.g. `float32` or `ap_fixed<16,6>`. */
  precision: string;
  /** Trainable parameters, when the model says. */
  params: number | null;
  /** Modelled device cycles per inference, for backends that have a latency model. */
  modelledCycles: number | null;
  /** The clock those cycles are counted at, MHz (the firmware's), when the backend knows it. */
  clockMhz?: number;
}

/** What a backend's outputs are: raw class scores, or a probability distribution over the classes. */
export type OutputKind = 'logits' | 'probabilities';

export interface Backend {
  info(): BackendInfo;
  /**
   * Classifies one frame: reads `input` (length = product of `inputShape`) and writes the
   * logits or probabilities (`outputKind`) into `output` (length `outputs`). The caller owns
   * both buffers. Throws `ModelError` when inference fails; never keeps a reference to either
   * buffer.
   */
  predict(input: Float32Array, output: Float32Array): void;
  /**
   * As `predict`, for a model of several inputs: `inputs[k]` is the k-th model input (the
   * frame's `inputs`). Absent on backends whose firmware takes one input; the daemon refuses
   * such a backend for a model of several at start-up.
   */
  predictInputs?(inputs: readonly Float32Array[], output: Float32Array): void;
  /**
   * Bytes of one camera frame `predictPixels` takes; absent on backends whose firmware does
   * not preprocess (onnx, a library compiled without a uint8 image preprocessing).
   */
  readonly pixelBytes?: number;
  /**
   * As `predict`, from the camera's uint8 frame `raw[offset, offset + pixelBytes)`: the
   * firmware crops and normalises (hls/nnet/nnet_preprocess.h). The caller owns both buffers
   * and guarantees the byte range; never keeps a reference to `output`.
   */
  predictPixels?(raw: Uint8Array, offset: number, output: Float32Array): void;
  /** Releases the model. `predict` after `close` is a programmer error. */
  close(): Promise<void>;
}

/** What a backend is loaded from. */
export interface ModelRef {
  /** Path of the model file (ONNX for `onnx`). */
  path: string;
  /** The input shape the pipeline will feed (without batch), checked against the model. */
  inputShape: readonly number[];
  /** Every input's shape in the model's input order, for a model of several named inputs (a
   * cutout triplet and a feature vector); absent: one input of `inputShape`. */
  inputShapes?: readonly (readonly number[])[];
  /** Number of classes the pipeline expects, checked against the model. */
  classes: number;
  /** Parameter count from the model card, when known. */
  params?: number | null;
}
