/**
 * Equivalents of the QONNX models hls4ml tests (test/pytest/test_qonnx.py) and of the export
 * patterns Keras/PyTorch write, built in memory (imported only by *.test.ts): the files
 * themselves cannot be downloaded here, so each builder writes the same operators, quantiser
 * placement and node patterns as the exporter does, with seeded weights. Which published model
 * each mirrors, and where it differs, is said on each builder.
 */
import type { ModelSpec, NodeSpec } from './testing.js';
import { normalSampler } from './testing.js';

const QONNX = 'qonnx.custom_op.general';

type Init = NonNullable<ModelSpec['initializers']>[number];

interface QuantOpts {
  bits: number;
  /** log2 of the scale. */
  scaleLog2: number;
  signed?: boolean;
  narrow?: boolean;
  rounding?: 'ROUND' | 'FLOOR' | 'ROUND_TO_ZERO';
}

/** Accumulates nodes and initializers; names are unique per builder. */
class Graph {
  readonly nodes: NodeSpec[] = [];
  readonly inits: Init[] = [];
  private n = 0;
  constructor(private readonly rnd: (n: number, sigma?: number) => Float32Array) {}

  init(dims: number[], data: Float32Array | number[]): string {
    const name = `c${this.n++}`;
    this.inits.push({ name, dims, data });
    return name;
  }
  random(dims: number[], sigma: number): string {
    return this.init(dims, this.rnd(dims.reduce((a, b) => a * b, 1), sigma));
  }
  node(op: string, inputs: string[], attrs: NodeSpec['attrs'] = {}, domain = ''): string {
    const out = `t${this.n++}`;
    this.nodes.push({ op, name: `${op}_${this.n}`, inputs, outputs: [out], attrs, domain });
    return out;
  }
  /** A QONNX Quant node as Brevitas exports it: scale, zero point and bit width as float initializers. */
  quant(x: string, q: QuantOpts): string {
    const scale = this.init([], Float32Array.of(2 ** q.scaleLog2));
    const zp = this.init([], Float32Array.of(0));
    const bits = this.init([], Float32Array.of(q.bits));
    return this.node('Quant', [x, scale, zp, bits],
      { signed: { i: q.signed === false ? 0 : 1 }, narrow: { i: q.narrow ? 1 : 0 }, rounding_mode: { s: q.rounding ?? 'ROUND' } }, QONNX);
  }
  bipolar(x: string, scaleLog2: number): string {
    return this.node('BipolarQuant', [x, this.init([], Float32Array.of(2 ** scaleLog2))], {}, QONNX);
  }
  /** A quantised weight: a seeded float initializer behind a Quant, as Brevitas exports QuantLinear/QuantConv weights. */
  qweight(dims: number[], sigma: number, q: QuantOpts): string {
    return this.quant(this.random(dims, sigma), q);
  }
  /** A dense layer with quantised weight and bias: Gemm with transB=1 as torch (Brevitas)
   * exports nn.Linear, or MatMul + Add as tf2onnx exports a (Q)Keras Dense. */
  linear(x: string, nIn: number, nOut: number, w: QuantOpts, biasScaleLog2: number, style: 'gemm' | 'matmul' = 'gemm'): string {
    const bias = (): string => this.qweight([nOut], 0.5, { bits: 16, scaleLog2: biasScaleLog2 });
    if (style === 'matmul') return this.node('Add', [this.node('MatMul', [x, this.qweight([nIn, nOut], 0.4, w)]), bias()]);
    const weight = this.qweight([nOut, nIn], 0.4, w);
    return this.node('Gemm', [x, weight, bias()], { transB: { i: 1 } });
  }
  spec(input: ModelSpec['input'], out: string, outShape: (number | string)[]): ModelSpec {
    // The graph output is the last node's: rename it.
    const last = this.nodes[this.nodes.length - 1]!;
    last.outputs = ['y'];
    for (const n of this.nodes) n.inputs = n.inputs.map((t) => (t === out ? 'y' : t));
    return { opset: 13, input, output: { name: 'y', shape: outShape }, initializers: this.inits, nodes: this.nodes };
  }
}

/**
 * hls4ml's jet-tagging QONNX model (test_qonnx.py `jettagging_model`: the QONNX model zoo's
 * JetTagging/QKeras_hls4ml_3layer, a QKeras 16 -> 64 -> 32 -> 32 -> 5 MLP converted by qonnx):
 * Quant on the input, each Dense as MatMul with Quant weights (6 bits, QKeras quantized_bits)
 * + Add of a Quant bias (scale = input scale x weight scale), Relu then an unsigned Quant
 * (quantized_relu, 6 bits), logits out. Power-of-two scales throughout (QKeras's with alpha=1
 * are), so every layer is exact.
 */
export function jetTaggingQonnx(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  let x = g.quant('x', { bits: 8, scaleLog2: -4 });
  let fin = 4;
  const sizes = [16, 64, 32, 32, 5];
  for (let i = 0; i + 1 < sizes.length; i++) {
    x = g.linear(x, sizes[i]!, sizes[i + 1]!, { bits: 6, scaleLog2: -4, narrow: true }, -(fin + 4), 'matmul');
    if (i + 2 < sizes.length) {
      x = g.quant(g.node('Relu', [x]), { bits: 6, scaleLog2: -3, signed: false });
      fin = 3;
    }
  }
  return g.spec({ name: 'x', shape: ['N', 16] }, x, ['N', 5]);
}

/**
 * FINN's TFC_2W2A (hls4ml test_qonnx.py `tfc_2w2a_model`, the bnn-pynq TFC exported to QONNX):
 * [1,1,28,28] -> Flatten -> input Quant (8-bit unsigned, scale 2^-8: pixels in [0, 1)) ->
 * three times (MatMul with 2-bit narrow weights, scale 1 -> BatchNormalization -> 2-bit
 * narrow signed activation Quant, scale 1) -> MatMul (2-bit) -> BatchNormalization
 * (TensorNorm) -> 10 logits; 64 units per layer, as TFC. One difference: the input is 14x14,
 * not 28x28 (g++ on the unrolled 784x64 layer took 166 s of the test beside other builds;
 * `size` restores 28). The BatchNormalizations stay layers (folding them would move the
 * weights off their grid), so this model is not exact.
 */
export function tfc2w2a(seed: number, size = 14): ModelSpec {
  const g = new Graph(normalSampler(seed));
  const rnd = normalSampler(seed + 1);
  const bn = (x: string, c: number): string => g.node('BatchNormalization', [x, g.init([c], rnd(c, 0.3).map((v) => 1 + v)),
    g.init([c], rnd(c, 0.3)), g.init([c], rnd(c, 0.5)), g.init([c], rnd(c, 0.5).map((v) => 4 + v * v))], { epsilon: { f: 1e-4 } });
  let x = g.node('Flatten', ['x'], { axis: { i: 1 } });
  x = g.quant(x, { bits: 8, scaleLog2: -8, signed: false });
  const sizes = [size * size, 64, 64, 64, 10];
  for (let i = 0; i + 1 < sizes.length; i++) {
    x = bn(g.node('MatMul', [x, g.qweight([sizes[i]!, sizes[i + 1]!], 0.6, { bits: 2, scaleLog2: 0, narrow: true })]), sizes[i + 1]!);
    if (i + 2 < sizes.length) x = g.quant(x, { bits: 2, scaleLog2: 0, narrow: true });
  }
  return g.spec({ name: 'x', shape: ['N', 1, size, size] }, x, ['N', 10]);
}

/**
 * hls4ml's Conv2D QONNX test (test_qonnx.py `conv2d_small_keras`-style QKeras-via-qonnx and
 * Brevitas conv models): input Quant, Conv 3x3 (pads 1) with 4-bit weights, Relu + unsigned
 * Quant, MaxPool 2x2, a second Conv with 4-bit weights, Relu + Quant, Flatten, Gemm -> 5.
 */
export function conv2dQonnx(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  let x = g.quant('x', { bits: 8, scaleLog2: -5 });
  let fin = 5;
  const conv = (y: string, cIn: number, cOut: number): string => {
    const w = g.qweight([cOut, cIn, 3, 3], 0.3, { bits: 4, scaleLog2: -3 });
    const b = g.qweight([cOut], 0.3, { bits: 16, scaleLog2: -(fin + 3) });
    const c = g.node('Conv', [y, w, b], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
    fin = 2;
    return g.quant(g.node('Relu', [c]), { bits: 4, scaleLog2: -2, signed: false });
  };
  x = conv(x, 3, 4);
  x = g.node('MaxPool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  x = conv(x, 4, 4);
  x = g.node('Flatten', [x], { axis: { i: 1 } });
  x = g.linear(x, 64, 5, { bits: 4, scaleLog2: -3 }, -5);
  return g.spec({ name: 'x', shape: ['N', 3, 8, 8] }, x, ['N', 5]);
}

/**
 * hls4ml's Conv1D QONNX test (test_qonnx.py's conv1d model) with binary layers as FINN's
 * BNN exports write them: input Quant, Conv1D (k=3) with bipolar weights (BipolarQuant,
 * scale 1/2), BipolarQuant on the activations, the torch flatten pattern on data
 * (Unsqueeze then Squeeze, then Flatten), Gemm with 4-bit weights -> 3.
 */
export function conv1dBipolar(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  let x = g.quant('x', { bits: 6, scaleLog2: -3, rounding: 'FLOOR' });
  const w = g.bipolar(g.random([4, 2, 3], 1), -1);
  x = g.node('Conv', [x, w], { kernel_shape: { ints: [3] } });
  x = g.bipolar(x, 0);
  x = g.node('Unsqueeze', [x, g.init([1], [2])]);
  x = g.node('Squeeze', [x, g.init([1], [2])]);
  x = g.node('Flatten', [x], { axis: { i: 1 } });
  x = g.linear(x, 56, 3, { bits: 4, scaleLog2: -2, rounding: 'ROUND_TO_ZERO' }, -2);
  return g.spec({ name: 'x', shape: ['N', 2, 16] }, x, ['N', 3]);
}

/**
 * What tf2onnx writes for a channels-last Keras conv net (float): Transpose to channels-first
 * around the Conv and again around BatchNormalization (Transpose - BN - Transpose), Relu,
 * Flatten, Dense as MatMul + Add, Dropout and Identity left in, Softmax.
 */
export function kerasChannelsLast(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  const rnd = normalSampler(seed + 1);
  const toCf = { perm: { ints: [0, 3, 1, 2] } };
  const toCl = { perm: { ints: [0, 2, 3, 1] } };
  let x = g.node('Transpose', ['x'], toCf);
  x = g.node('Conv', [x, g.random([4, 3, 3, 3], 0.4), g.random([4], 0.2)], { kernel_shape: { ints: [3, 3] } });
  x = g.node('Transpose', [x], toCl);
  x = g.node('Transpose', [x], toCf);
  x = g.node('BatchNormalization', [x, g.init([4], rnd(4, 0.2).map((v) => 1 + v)), g.init([4], rnd(4, 0.3)),
    g.init([4], rnd(4, 0.3)), g.init([4], rnd(4, 0.3).map((v) => 1 + v * v))]);
  x = g.node('Transpose', [x], toCl);
  x = g.node('Relu', [x]);
  x = g.node('Dropout', [x]);
  x = g.node('Flatten', [x], { axis: { i: 1 } });
  x = g.node('MatMul', [x, g.random([144, 4], 0.2)]);
  x = g.node('Add', [x, g.random([4], 0.1)]);
  x = g.node('Identity', [x]);
  x = g.node('Softmax', [x], { axis: { i: -1 } });
  return g.spec({ name: 'x', shape: ['N', 8, 8, 3] }, x, ['N', 4]);
}

/**
 * The Brevitas -> QONNX workflow hls4ml tests (test_qonnx.py `QuantModelLinear`): QuantLinear(4, 4,
 * bias) with an 8-bit input quantiser, then QuantReLU (8-bit signed activation quantiser after
 * Relu). `fixedPoint`: Int8WeightPerTensorFixedPoint / Int8ActPerTensorFixedPoint (power-of-two
 * scales); otherwise the ...PerTensorFloat quantisers, whose learned scales are arbitrary
 * floats (here 0.0123 on the input).
 */
export function brevitasLinear(seed: number, fixedPoint: boolean): ModelSpec {
  const g = new Graph(normalSampler(seed));
  let x = fixedPoint ? g.quant('x', { bits: 8, scaleLog2: -5 }) : g.node('Quant', ['x', g.init([], Float32Array.of(0.0123)),
    g.init([], Float32Array.of(0)), g.init([], Float32Array.of(8))], { signed: { i: 1 }, narrow: { i: 0 }, rounding_mode: { s: 'ROUND' } }, QONNX);
  x = g.linear(x, 4, 4, { bits: 8, scaleLog2: -6, narrow: true }, -11);
  x = g.quant(g.node('Relu', [x]), { bits: 8, scaleLog2: -4 });
  return g.spec({ name: 'x', shape: ['N', 4] }, x, ['N', 4]);
}

/** Conv with a quantised weight (and optionally bias) and explicit kernel/pads/group. */
function qconv(g: Graph, x: string, w: { dims: number[]; q: QuantOpts }, biasScaleLog2: number | null, pads: number[], group = 1): string {
  const inputs = [x, g.qweight(w.dims, 0.4, w.q)];
  if (biasScaleLog2 !== null) inputs.push(g.qweight([w.dims[0]!], 0.3, { bits: 16, scaleLog2: biasScaleLog2 }));
  return g.node('Conv', inputs, { kernel_shape: { ints: w.dims.slice(2) }, pads: { ints: pads }, group: { i: group } });
}

/**
 * FINN's CNV_2W2A (hls4ml test_qonnx.py `cnv_2w2a_model`, the bnn-pynq CNV made channels-last):
 * channels-last input, Transpose, input Quant, conv blocks of (Conv 3x3 no pad, 2-bit weights
 * -> BatchNormalization -> 2-bit activation Quant), a MaxPool 2x2 after every second conv,
 * Flatten, MatMul (2-bit) -> BatchNormalization -> 10 logits. Reduced to keep g++ time down:
 * a 10x10x3 input and 8 channels (CNV: 32x32x3, 64-128-256 channels, six convs, three dense).
 * Not exact (float BNs between the quantisers), like TFC_2W2A.
 */
export function cnv2w2a(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  const rnd = normalSampler(seed + 2);
  const bn = (x: string, c: number): string => g.node('BatchNormalization', [x, g.init([c], rnd(c, 0.2).map((v) => 1 + v)),
    g.init([c], rnd(c, 0.3)), g.init([c], rnd(c, 0.5)), g.init([c], rnd(c, 0.5).map((v) => 2 + v * v))], { epsilon: { f: 1e-4 } });
  const act = (x: string): string => g.quant(x, { bits: 2, scaleLog2: 0, narrow: true });
  const w2 = { bits: 2, scaleLog2: 0, narrow: true };
  let x = g.node('Transpose', ['x'], { perm: { ints: [0, 3, 1, 2] } });
  x = g.quant(x, { bits: 8, scaleLog2: -7 });
  x = act(bn(qconv(g, x, { dims: [8, 3, 3, 3], q: w2 }, null, [0, 0, 0, 0]), 8));
  x = act(bn(qconv(g, x, { dims: [8, 8, 3, 3], q: w2 }, null, [0, 0, 0, 0]), 8));
  x = g.node('MaxPool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  x = g.node('Flatten', [x], { axis: { i: 1 } });
  x = bn(g.node('MatMul', [x, g.qweight([72, 10], 0.6, w2)]), 10);
  return g.spec({ name: 'x', shape: ['N', 10, 10, 3] }, x, ['N', 10]);
}

/**
 * The quantised separable-conv and branched models of hls4ml's ONNX examples (test_qonnx.py
 * `sep_conv_model`, `branched_model`: separable convolutions, two branches merged by Add):
 * input Quant; branch a: depthwise 3x3 (pads 1) then pointwise 1x1, Relu + unsigned Quant;
 * branch b: pointwise 1x1 on the input, Relu + unsigned Quant; Add; MaxPool 2x2; Flatten;
 * Gemm -> 3. 4-bit weights, power-of-two scales: exact. The published files are
 * channels-last after qonnx's conversion; here channels-first, as the exporter wrote them.
 */
export function sepConvBranched(seed: number): ModelSpec {
  const g = new Graph(normalSampler(seed));
  const w4 = { bits: 4, scaleLog2: -3 };
  const reluQuant = (y: string): string => g.quant(g.node('Relu', [y]), { bits: 4, scaleLog2: -2, signed: false });
  const x = g.quant('x', { bits: 8, scaleLog2: -5 });
  const dw = qconv(g, x, { dims: [4, 1, 3, 3], q: w4 }, -8, [1, 1, 1, 1], 4);
  const a = reluQuant(qconv(g, dw, { dims: [4, 4, 1, 1], q: w4 }, -11, [0, 0, 0, 0]));
  const b = reluQuant(qconv(g, x, { dims: [4, 4, 1, 1], q: w4 }, -8, [0, 0, 0, 0]));
  let y = g.node('Add', [a, b]);
  y = g.node('MaxPool', [y], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  y = g.node('Flatten', [y], { axis: { i: 1 } });
  y = g.linear(y, 64, 3, w4, -5);
  return g.spec({ name: 'x', shape: ['N', 4, 8, 8] }, y, ['N', 3]);
}
