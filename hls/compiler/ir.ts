/**
 * The compiler's intermediate representation: a topologically ordered list of layers with
 * static shapes, weights in a fixed layout, and stable C-safe names.
 *
 * Conventions (every later stage relies on them):
 * - Shapes drop the batch dimension and stay channels-first as in ONNX: conv2d input is
 *   [C, H, W], conv1d [C, L], dense [N].
 * - Dense weights are [nIn][nOut] row-major (`w[i * nOut + o]`), as hls4ml's dense kernels.
 * - Conv weights keep the ONNX layout [cOut][cIn][k...]; pads are [begin..., end...].
 * - A layer refers to its inputs by layer name; the graph input is named `IR_INPUT`.
 * - Weights are Float32Array owned by the layer; nothing else aliases them.
 */

import type { FixedType } from './precision.js';
import type { QuantParams } from './qonnx.js';

export type Shape = readonly number[];

/** The name by which layers refer to the IR's single input. */
export const IR_INPUT = 'input';

interface LayerBase {
  /** Stable, unique, C-identifier-safe: `<kind>_<n>` counting per kind in graph order. */
  readonly name: string;
  /** Names of the ONNX node(s) this layer came from (e.g. a Conv and a folded BatchNormalization). */
  readonly sources: string[];
  /** Layer names (or `IR_INPUT`) whose outputs feed this layer, in operand order. */
  readonly inputs: string[];
  readonly inputShapes: Shape[];
  readonly outputShape: Shape;
  /** Types the model itself fixes for the layer's parameters (QONNX quantisers on its weights
   * and biases, qonnx.ts); qonnx-precision.ts turns them into precision overrides. */
  fixedTypes?: { weight?: FixedType; bias?: FixedType };
}

export interface DenseLayer extends LayerBase {
  readonly kind: 'dense';
  readonly nIn: number;
  readonly nOut: number;
  /** [nIn][nOut] row-major. */
  weights: Float32Array;
  /** [nOut]. */
  bias: Float32Array;
}

export interface ConvLayer extends LayerBase {
  readonly kind: 'conv1d' | 'conv2d';
  readonly cIn: number;
  readonly cOut: number;
  /** Spatial kernel size, one entry per spatial dim. */
  readonly kernel: number[];
  readonly strides: number[];
  /** [begin per spatial dim..., end per spatial dim...]. */
  readonly pads: number[];
  /** [cOut][cIn][k...] row-major (ONNX layout). */
  weights: Float32Array;
  /** [cOut]. */
  bias: Float32Array;
}

/** Depthwise 2-D convolution (ONNX Conv with group = channels, one filter per channel). */
export interface DepthwiseConvLayer extends LayerBase {
  readonly kind: 'dwconv2d';
  /** Input and output channels (equal: no channel multiplier). */
  readonly channels: number;
  readonly kernel: number[];
  readonly strides: number[];
  /** [top, left, bottom, right] (ONNX [begin..., end...]). */
  readonly pads: number[];
  /** [channels][kh][kw] row-major (ONNX [C][1][kh][kw] without the 1). */
  weights: Float32Array;
  /** [channels]. */
  bias: Float32Array;
}

export interface PoolLayer extends LayerBase {
  readonly kind: 'maxpool1d' | 'maxpool2d' | 'avgpool1d' | 'avgpool2d';
  readonly kernel: number[];
  readonly strides: number[];
  readonly pads: number[];
  /** Average pools only: whether padded positions count in the divisor (ONNX count_include_pad). */
  readonly countIncludePad: boolean;
}

export interface GlobalAvgPoolLayer extends LayerBase {
  readonly kind: 'globalavgpool';
}

/** Flatten and Reshape: the data is unchanged, only the recorded shape changes. */
export interface ReshapeLayer extends LayerBase {
  readonly kind: 'reshape';
}

export interface TransposeLayer extends LayerBase {
  readonly kind: 'transpose';
  /** Permutation of the batch-less dims: output dim d is input dim perm[d]. */
  readonly perm: number[];
}

export interface ActivationLayer extends LayerBase {
  readonly kind: 'relu' | 'sigmoid' | 'tanh';
}

export interface LeakyReluLayer extends LayerBase {
  readonly kind: 'leakyrelu';
  readonly alpha: number;
}

export interface SoftmaxLayer extends LayerBase {
  readonly kind: 'softmax';
  /** Batch-less axis. */
  readonly axis: number;
  /** 'axis': softmax along `axis` only (opset >= 13). 'trailing': over all dims from `axis`
   * on, flattened (opset < 13 semantics). Identical when `axis` is the last dim. */
  readonly span: 'axis' | 'trailing';
}

/** Elementwise sum of two tensors of identical shape. */
export interface AddLayer extends LayerBase {
  readonly kind: 'add';
}

/** A BatchNormalization that could not be folded: y = x * scale[c] + shift[c], c = dim 0. */
export interface BatchNormLayer extends LayerBase {
  readonly kind: 'batchnorm';
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

/**
 * Elu, Selu, Softplus, HardSigmoid (ONNX): elu y = x >= 0 ? x : alpha (e^x - 1); selu the same
 * times gamma; hardsigmoid y = clamp(alpha x + beta, 0, 1); softplus y = ln(1 + e^x) (no params).
 */
export interface ParamActivationLayer extends LayerBase {
  readonly kind: 'elu' | 'selu' | 'softplus' | 'hardsigmoid';
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
}

/** A QONNX quantiser (Quant, BipolarQuant) on computed data: qonnx.ts's semantics. */
export interface QuantLayer extends LayerBase {
  readonly kind: 'quant';
  readonly quant: QuantParams;
}

export type Layer =
  | DenseLayer
  | ConvLayer
  | DepthwiseConvLayer
  | PoolLayer
  | GlobalAvgPoolLayer
  | ReshapeLayer
  | TransposeLayer
  | ActivationLayer
  | LeakyReluLayer
  | SoftmaxLayer
  | AddLayer
  | BatchNormLayer
  | QuantLayer
  | ParamActivationLayer;

export type LayerKind = Layer['kind'];

export interface Ir {
  /** The ONNX file (or label) the IR was built from. */
  readonly source: string;
  readonly inputName: string;
  readonly inputShape: Shape;
  /** Layers in topological order. */
  readonly layers: Layer[];
  /** Name of the layer (or `IR_INPUT`) whose output is the model output. */
  readonly output: string;
  readonly outputShape: Shape;
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A layer with weights and biases (a multiply-accumulate layer): dense, conv, depthwise conv. */
export type MacLayer = DenseLayer | ConvLayer | DepthwiseConvLayer;

/** Whether `l` is a multiply-accumulate layer with `weights` and `bias`. */
export function isMacLayer(l: Layer): l is MacLayer {
  return l.kind === 'dense' || l.kind === 'conv1d' || l.kind === 'conv2d' || l.kind === 'dwconv2d';
}

/** Output channels (dense: outputs) of a multiply-accumulate layer: the length of its bias. */
export function macOutputs(l: MacLayer): number {
  return l.kind === 'dense' ? l.nOut : l.kind === 'dwconv2d' ? l.channels : l.cOut;
}
