/**
 * The published hls4ml designs whose synthesis reports (../shared/reference/hls-reports, its
 * README has the table) the latency and resource model is compared with and fitted to: for
 * each, the report, the settings it was synthesised with (strategy, reuse factor, precision,
 * io type, clock) and the network as an ONNX model of that architecture, built here from the
 * committed configuration (`firmware/parameters.h` layer sizes and `n_zeros`, the config yml,
 * the notebook or JSON). Weights are seeded random draws with exactly the reported number of
 * zeros per layer, since hls4ml drops products by a zero weight; the jet MLPs without pruning
 * use the real exported model, ../shared/data/models/hls4ml-examples/three_layer_keras.onnx.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { assert } from '../../host/src/core/assert.js';
import { createRng } from '../../host/src/core/rng.js';
import type { Strategy } from './latency.js';
import { REPO_ROOT } from './model-accuracy.js';
import { encodeModel, type ModelSpec, type NodeSpec } from './onnx-writer.js';

export { FIT_RESULT_PATH, REPO_ROOT } from './model-accuracy.js';

const repoRoot = REPO_ROOT;
/** Where the reports live (beside the checkout, as ../shared). */
export const HLS_REPORTS_DIR = resolve(repoRoot, '../shared/reference/hls-reports');
const JET_ONNX = resolve(repoRoot, '../shared/data/models/hls4ml-examples/three_layer_keras.onnx');

/** One layer of a design, in Keras order; sizes of the previous layer are tracked. */
export type LayerSpec =
  | { readonly op: 'dense'; readonly out: number; readonly zeros?: number }
  | { readonly op: 'conv'; readonly filters: number; readonly kernel: number[]; readonly zeros?: number }
  | { readonly op: 'maxpool'; readonly size: number }
  | { readonly op: 'batchnorm' | 'relu' | 'softmax' | 'sigmoid' | 'flatten' | 'gap' };

/** Whether a design's numbers set the fitted constants, only test them, or are not compared. */
export type FitRole = 'fit' | 'held-out' | 'excluded';

export interface PublishedDesign {
  /** Short stable id used in docs and the fit's output. */
  readonly id: string;
  /** The csynth report of the top function `myproject`, relative to `HLS_REPORTS_DIR`. */
  readonly report: string;
  readonly io: 'parallel' | 'stream';
  readonly strategy: Strategy;
  readonly reuse: number;
  /** hls4ml per-layer ReuseFactor, by IR layer name. */
  readonly reusePerLayer?: Readonly<Record<string, number>>;
  readonly weightBits: number;
  readonly dataBits: number;
  /** Input shape, channels first, no batch. */
  readonly input: readonly number[];
  /** The network (null: the real exported model at `onnx`). */
  readonly layers: readonly LayerSpec[] | null;
  readonly onnx?: string;
  readonly role: FitRole;
  /** Why a design is excluded or what to keep in mind about it. */
  readonly note?: string;
}

const JET = (id: string, report: string, reuse: number, role: FitRole, note?: string): PublishedDesign => ({
  id, report, io: 'parallel', strategy: 'latency', reuse, weightBits: 16, dataBits: 16, input: [16],
  layers: null, onnx: JET_ONNX, role, ...(note ? { note } : {}),
});

const MLP_4_128_3 = (zeros: [number, number]): LayerSpec[] =>
  [{ op: 'dense', out: 128, zeros: zeros[0] }, { op: 'relu' }, { op: 'dense', out: 3, zeros: zeros[1] }, { op: 'softmax' }];

const MNIST_CNN: LayerSpec[] = [
  { op: 'conv', filters: 4, kernel: [3, 3] }, { op: 'relu' }, { op: 'maxpool', size: 4 },
  { op: 'conv', filters: 8, kernel: [3, 3] }, { op: 'relu' }, { op: 'maxpool', size: 2 },
  { op: 'flatten' }, { op: 'dense', out: 10 }, { op: 'softmax' },
];

/** SVHN CNN of hls4ml-tutorial part 6, 50 % pruned except the output layer (zeros = half). */
function svhnCnn(batchnormAfterConv: boolean): LayerSpec[] {
  const out: LayerSpec[] = [];
  let cIn = 3;
  for (const f of [16, 16, 24]) {
    out.push({ op: 'conv', filters: f, kernel: [3, 3], zeros: (cIn * 9 * f) / 2 });
    if (batchnormAfterConv) out.push({ op: 'batchnorm' });
    out.push({ op: 'relu' }, { op: 'maxpool', size: 2 });
    cIn = f;
  }
  out.push({ op: 'flatten' }, { op: 'dense', out: 42, zeros: (96 * 42) / 2 }, { op: 'batchnorm' }, { op: 'relu' },
    { op: 'dense', out: 64, zeros: (42 * 64) / 2 }, { op: 'batchnorm' }, { op: 'relu' }, { op: 'dense', out: 10 }, { op: 'softmax' });
  return out;
}

const DNN = 'dnnonsilicon-mnist-cnn-and-mlp/Folder_2_HLS4ML_Vivado_HLS/models';
const RPT = 'myproject_prj/solution1/syn/report/myproject_csynth';

/** Every report of the README's table, with its role in the fit. */
export const PUBLISHED_DESIGNS: readonly PublishedDesign[] = [
  JET('jet-mlp-vitis2022-r1', `jet-mlp-vitis2022/model_1/hls4ml_prj/${RPT}.xml`, 1, 'fit'),
  JET('jet-mlp-vivado2019-r1', `jet-mlp-tutorial-fork-vivado2019/model_1/hls4ml_prj/${RPT}.xml`, 1, 'fit'),
  JET('jet-mlp-vivado2019-r2', `jet-mlp-tutorial-fork-vivado2019/model_1/hls4ml_prj_2/${RPT}.xml`, 2, 'fit'),
  JET('jet-mlp-vu9p-r1', `jet-mlp-keras3layer-vu9p/my-hls-test/${RPT}.xml`, 1, 'held-out'),
  {
    id: 'jet-mlp-pruned75-q6', report: `jet-mlp-tutorial-fork-vivado2019/model_3/hls4ml_prj/${RPT}.xml`,
    io: 'parallel', strategy: 'latency', reuse: 1, weightBits: 6, dataBits: 16, input: [16], role: 'fit',
    layers: [{ op: 'dense', out: 64, zeros: 780 }, { op: 'relu' }, { op: 'dense', out: 32, zeros: 1602 }, { op: 'relu' },
      { op: 'dense', out: 32, zeros: 785 }, { op: 'relu' }, { op: 'dense', out: 5, zeros: 120 }, { op: 'softmax' }],
    note: 'QKeras 6-bit weights: the width rule puts every product in LUTs, synthesis still used 23 DSPs',
  },
  {
    id: 'jet-mlp-pruned75-q6-r64-pynq', report: `jet-mlp-tutorial-fork-vivado2019/model_3/hls4ml_prj_pynq/${RPT}.xml`,
    io: 'parallel', strategy: 'latency', reuse: 64, weightBits: 6, dataBits: 16, input: [16], role: 'excluded',
    layers: [{ op: 'dense', out: 64, zeros: 780 }, { op: 'relu' }, { op: 'dense', out: 32, zeros: 1602 }, { op: 'relu' },
      { op: 'dense', out: 32, zeros: 785 }, { op: 'relu' }, { op: 'dense', out: 5, zeros: 120 }, { op: 'softmax' }],
    note: 'reuse 64 does not divide the last layer\'s 160 products (hls4ml 2019 accepted it; the report shows II 15, not 64)',
  },
  {
    id: 'mlp-4-128-3-r1', report: `${DNN}/Dummy_RF1_no_pruning/${RPT}.xml`, io: 'parallel', strategy: 'latency', reuse: 1,
    weightBits: 16, dataBits: 16, input: [4], layers: MLP_4_128_3([0, 0]), role: 'fit', note: '40 MHz clock',
  },
  {
    id: 'mlp-4-128-3-r16-pruned75', report: `${DNN}/Dummy_RF16_with_pruning75/${RPT}.xml`, io: 'parallel', strategy: 'latency',
    reuse: 16, weightBits: 16, dataBits: 16, input: [4], layers: MLP_4_128_3([384, 288]), role: 'held-out', note: '40 MHz clock',
  },
  {
    id: 'l1-jet-tagger-conv1d', report: `l1-jet-tagger-qkeras-conv1d/hls4ml_prj/${RPT}.xml`, io: 'parallel', strategy: 'latency',
    reuse: 1, reusePerLayer: { conv1d_0: 2, conv1d_1: 2 }, weightBits: 8, dataBits: 8, input: [14, 10], role: 'excluded',
    layers: [{ op: 'conv', filters: 10, kernel: [1], zeros: 115 }, { op: 'relu' }, { op: 'conv', filters: 10, kernel: [1], zeros: 87 }, { op: 'relu' },
      { op: 'gap' }, { op: 'dense', out: 10, zeros: 93 }, { op: 'relu' }, { op: 'dense', out: 1, zeros: 8 }, { op: 'sigmoid' }],
    note: 'hls4ml\'s io_parallel pointwise conv computes every pixel at once, our conv template and model one pixel per II; ' +
      'project files regenerated after synthesis (README caveat); 79 BRAM_18K the model does not explain',
  },
  {
    id: 'dense16x5-stream', report: 'hls4ml-test-dense16x5-z7020/test/pytest/test_report/Vivado/myproject_csynth.xml', io: 'stream',
    strategy: 'latency', reuse: 1, weightBits: 16, dataBits: 16, input: [16], layers: [{ op: 'dense', out: 5 }, { op: 'relu' }], role: 'fit',
  },
  {
    id: 'mnist-cnn-stream-r1', report: `${DNN}/MNIST_original/${RPT}.xml`, io: 'stream', strategy: 'latency', reuse: 1,
    weightBits: 16, dataBits: 16, input: [1, 28, 28], layers: MNIST_CNN, role: 'held-out', note: '40 MHz clock',
  },
  {
    id: 'mnist-cnn-stream-r16', report: `${DNN}/MNIST_R16/${RPT}.xml`, io: 'stream', strategy: 'latency', reuse: 16,
    weightBits: 16, dataBits: 16, input: [1, 28, 28], layers: MNIST_CNN, role: 'fit',
    note: '40 MHz clock; reuse 16 does not divide the first conv\'s 36 products: hls4ml 2020 kept 16 in parameters.h with ceil(36 / 16) = 3 multipliers, so 12 cycles a pixel (compared at R 12)',
  },
  {
    id: 'svhn-cnn-stream-pruned50', report: `svhn-cnn-tutorial-vivado2020/pruned_cnn/${RPT}.rpt`, io: 'stream', strategy: 'latency',
    reuse: 1, weightBits: 16, dataBits: 16, input: [3, 32, 32], layers: svhnCnn(true), role: 'fit',
    note: 'our IR folds BatchNormalization into the conv/dense before it; hls4ml 2020 kept it a layer',
  },
  {
    id: 'svhn-cnn-stream-pruned50-q6', report: `svhn-cnn-tutorial-vivado2020/quantized_pruned_cnn/${RPT}.rpt`, io: 'stream',
    strategy: 'latency', reuse: 1, weightBits: 6, dataBits: 6, input: [3, 32, 32], layers: svhnCnn(false), role: 'fit',
    note: 'QKeras 6-bit: the width rule puts every product in LUTs, synthesis still used 340 DSPs',
  },
  {
    id: 'mnist-conv-autoencoder', report: `mnist-conv-autoencoder-resource-pynqz2/${RPT}.xml`, io: 'stream', strategy: 'resource',
    reuse: 64, weightBits: 32, dataBits: 32, input: [1, 32, 32], layers: null, role: 'excluded',
    note: 'UpSampling2D is not in the compiler\'s IR, and the per-layer clamped reuse factors of a 32-bit resource design are not modelled',
  },
];

/** ONNX node list for `layers` from `input` (channels first), weights drawn from `seed`. */
function buildSpec(layers: readonly LayerSpec[], input: readonly number[], seed: number): ModelSpec {
  const rng = createRng(seed);
  const nodes: NodeSpec[] = [];
  const initializers: NonNullable<ModelSpec['initializers']> = [];
  let shape = [...input];
  let x = 'x';
  layers.forEach((l, i) => {
    const y = `t${i}`;
    const weights = (name: string, dims: number[], zeros: number): string => {
      initializers.push({ name, dims, data: sparseWeights(dims.reduce((a, b) => a * b, 1), zeros, rng) });
      return name;
    };
    if (l.op === 'dense') {
      nodes.push({ op: 'Gemm', name: `n${i}`, inputs: [x, weights(`w${i}`, [shape[0]!, l.out], l.zeros ?? 0), weights(`b${i}`, [l.out], 0)], outputs: [y] });
      shape = [l.out];
    } else if (l.op === 'conv') {
      const [c, ...sp] = shape;
      nodes.push({ op: 'Conv', name: `n${i}`, inputs: [x, weights(`w${i}`, [l.filters, c!, ...l.kernel], l.zeros ?? 0), weights(`b${i}`, [l.filters], 0)], outputs: [y] });
      shape = [l.filters, ...sp.map((s, d) => s - l.kernel[d]! + 1)];
    } else if (l.op === 'maxpool') {
      const k = shape.slice(1).map(() => l.size);
      nodes.push({ op: 'MaxPool', name: `n${i}`, inputs: [x], outputs: [y], attrs: { kernel_shape: { ints: k }, strides: { ints: k } } });
      shape = [shape[0]!, ...shape.slice(1).map((s) => Math.floor(s / l.size))];
    } else if (l.op === 'batchnorm') {
      const c = shape[0]!;
      const ones = (name: string) => { initializers.push({ name, dims: [c], data: new Float32Array(c).fill(1) }); return name; };
      nodes.push({ op: 'BatchNormalization', name: `n${i}`, inputs: [x, weights(`s${i}`, [c], 0), weights(`o${i}`, [c], 0), weights(`m${i}`, [c], 0), ones(`v${i}`)], outputs: [y] });
    } else if (l.op === 'flatten') {
      nodes.push({ op: 'Flatten', name: `n${i}`, inputs: [x], outputs: [y] });
      shape = [shape.reduce((a, b) => a * b, 1)];
    } else if (l.op === 'gap') {
      nodes.push({ op: 'GlobalAveragePool', name: `n${i}`, inputs: [x], outputs: [`${y}g`] });
      nodes.push({ op: 'Flatten', name: `n${i}f`, inputs: [`${y}g`], outputs: [y] });
      shape = [shape[0]!];
    } else {
      const op = { relu: 'Relu', softmax: 'Softmax', sigmoid: 'Sigmoid' }[l.op];
      nodes.push({ op, name: `n${i}`, inputs: [x], outputs: [y], ...(l.op === 'softmax' ? { attrs: { axis: { i: -1 } } } : {}) });
    }
    x = y;
  });
  nodes[nodes.length - 1]!.outputs[0] = 'y';
  return { input: { name: 'x', shape: ['N', ...input] }, output: { name: 'y', shape: ['N', ...shape] }, initializers, nodes };
}

/** `n` weights uniform in ±[0.1, 1) with exactly `zeros` of them zero, at seeded positions. */
function sparseWeights(n: number, zeros: number, rng: ReturnType<typeof createRng>): Float32Array {
  const w = Float32Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.1 + 0.9 * rng.uniform()));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < zeros; i++) w[order[i]!] = 0;
  return w;
}

/** Seed of every design's weights (the positions of the zeros; the values do not matter). */
export const DESIGN_SEED = 20261207;

/** The design's ONNX bytes: the real exported model, or the architecture built with seeded weights. */
export function designOnnx(d: PublishedDesign): Uint8Array {
  if (d.layers === null) {
    assert(d.onnx !== undefined, `design ${d.id}: no layers and no model file`);
    return readFileSync(d.onnx);
  }
  return encodeModel(buildSpec(d.layers, d.input, DESIGN_SEED));
}
