/**
 * HLS project writer: turns an `Ir` plus a `PrecisionConfig` into a self-contained Vitis HLS
 * project built on the hls/nnet templates (copied into `firmware/nnet/`):
 *
 *   firmware/<name>.cpp, <name>.h   top function `void <name>(input_t x[N_IN], result_t y[N_OUT])`
 *   firmware/parameters.h           typedefs and one config struct per layer
 *   firmware/weights/<layer>_{w,b}.h weights as exact decimal literals of the float32 values
 *   firmware/nnet/*.h               copy of hls/nnet
 *   tb/<name>_test.cpp              C testbench (tb_data/tb_input_features.dat -> raw and float outputs)
 *   build_prj.tcl, model.json
 *
 * A trailing softmax is left to the host: `stripTrailingSoftmax` removes a softmax that is the
 * IR's last layer, and model.json then records `"postprocess": "softmax"` for the daemon to
 * apply (the trigger decides on the logits, and argmax is the same on both). A softmax
 * elsewhere, or a trailing one the caller keeps, is compiled (nnet_softmax.h, lookup
 * tables), and so is a trailing sigmoid: a sigmoid output is the trigger's decision value, so
 * the firmware computes it. Any layer the templates lack is a `ModelError`.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { IR_INPUT, isMacLayer, shapeSize } from './ir.js';
import type { AddLayer, BatchNormLayer, ConvLayer, DenseLayer, DepthwiseConvLayer, Ir, Layer, PoolLayer, SoftmaxLayer, TransposeLayer } from './ir.js';
import { fracBits, layerPrecision, printFixedType } from './precision.js';
import { quantConfigFields } from './qonnx.js';
import { activationConfig } from './writer-activation.js';
import type { FixedType, PrecisionConfig } from './precision.js';
import type { IoPlan } from './latency-stream.js';
import { streamFirmware, type StreamFirmware } from './writer-stream.js';
import { reuseCpp, reuseHeader, reusePlan, type ReuseLayer } from './writer-reuse.js';
import type { FirmwarePreprocess } from './preprocess.js';
import { pixelsFiles, pixelsJson, pixelsTop } from './pixels-writer.js';

export interface WriterOptions {
  /** C identifier: top function, file names, IP name. */
  readonly name: string;
  readonly strategy: 'latency' | 'resource';
  /** Reuse factor of every layer; for dense layers it must divide n_in * n_out. */
  readonly reuse: number;
  readonly clockMhz: number;
  /** FPGA part for `set_part`. */
  readonly part?: string;
  /** What the host applies to the firmware's output (set by `stripTrailingSoftmax`'s caller). */
  readonly postprocess?: 'softmax' | null;
  /** The io plan (io-plan.ts): per-layer reuse and dense strategy over `reuse`/`strategy`, and
   * with `io: 'stream'` the io_stream body the top function runs in synthesis (writer-stream.ts). */
  readonly plan?: IoPlan;
  /** The firmware takes the camera's uint8 pixels: preprocessing as its first stage (pixels-writer.ts). */
  readonly pixels?: FirmwarePreprocess;
}

/** `opts` with the plan's reuse factor and strategy for layer `name`. */
function layerOptions(opts: WriterOptions, name: string): WriterOptions {
  const l = opts.plan?.layers[name];
  return l === undefined ? opts : { ...opts, reuse: l.reuse, strategy: l.strategy };
}

export const DEFAULT_PART = 'xcu250-figd2104-2L-e';
/** Leaky ReLU slope (< 1). */
const ALPHA_TYPE = 'ap_fixed<18,1,AP_RND_CONV>';
/** Sigmoid and tanh tables (values in [-1, 1], LSB 2^-16) and their size over [-8, 8) (step 1/64). */
const TABLE_TYPE = 'ap_fixed<18,2,AP_RND_CONV>';
const TABLE_SIZE = 1024;
/** Softmax: exp of x - max in (0, 1] (LSB 2^-16); 1 / sum in [1/n, 1] (LSB 2^-22, so 1/n keeps
 * its relative precision for n up to a few hundred); the exp table covers x - max in [0, 8)
 * (exp(-8) = 3.4e-4 stands for the tail) in steps of 1/128. */
const EXP_TABLE_TYPE = 'ap_fixed<18,2,AP_RND_CONV>';
const INV_TABLE_TYPE = 'ap_fixed<24,2,AP_RND_CONV>';
const SOFTMAX_EXP_RANGE = 8;
/** Fractional bits of EXP_TABLE_TYPE: the softmax sum's accumulator needs at least these. */
const EXP_TABLE_FRAC = 16;
/** hls/nnet: beside this file when run from source, three levels up from build/hls/compiler. */
const NNET_DIR = [new URL('../nnet/', import.meta.url), new URL('../../../hls/nnet/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((d) => existsSync(join(d, 'ht_fixed.h'))) ?? fileURLToPath(new URL('../nnet/', import.meta.url));
const WEIGHTS_PER_LINE = 8;

/** Bits of an average pool's scale type (1 / count). */
const SCALE_BITS = 18;

/**
 * The scale type of an average pool whose windows count at least `minCount` positions:
 * `ap_fixed<18, 2 - floor(log2 minCount), AP_RND_CONV, AP_SAT>`, so 1 / count keeps 16
 * significant bits (exact for a power of two) however large the window. A fixed
 * `ap_fixed<18,2>` gave 1/125 (the DS-CNN's 25x5 pool) only 9 bits: every average came out
 * 0.05 % low, which a head that weighs small feature differences turns into wrong decisions.
 * AP_SAT: the template's table also holds 1 / k for counts k below minCount that never occur.
 */
export function poolScaleType(minCount: number): string {
  return `ap_fixed<${SCALE_BITS},${2 - Math.floor(Math.log2(Math.max(1, minCount)))},AP_RND_CONV,AP_SAT>`;
}

/** The fewest positions any window of `layer` averages over (its divisor's minimum). */
function poolMinCount(layer: Layer): number {
  if (layer.kind === 'globalavgpool') return shapeSize(layer.inputShapes[0]!.slice(1));
  if (layer.kind !== 'avgpool1d' && layer.kind !== 'avgpool2d') return 1;
  const rank = layer.kernel.length;
  const inSpatial = layer.inputShapes[0]!.slice(1);
  let n = 1;
  for (let d = 0; d < rank; d++) {
    const k = layer.kernel[d]!;
    // Without count_include_pad a window at an edge counts only its real positions.
    let fewest = k;
    for (let o = 0; !layer.countIncludePad && o < layer.outputShape[d + 1]!; o++) {
      const start = o * layer.strides[d]! - layer.pads[d]!;
      fewest = Math.min(fewest, Math.min(start + k, inSpatial[d]!) - Math.max(start, 0));
    }
    n *= fewest;
  }
  return n;
}

/** What `writeProject` wrote. Paths are absolute. */
export interface ProjectSummary {
  readonly dir: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly files: string[];
}

/**
 * Returns the IR without its last layer when that layer is a softmax (and `stripped: true`),
 * else the IR unchanged. A softmax anywhere else stays and `writeProject` compiles it.
 */
export function stripTrailingSoftmax(ir: Ir): { ir: Ir; stripped: boolean } {
  const last = ir.layers[ir.layers.length - 1];
  if (last === undefined || last.kind !== 'softmax' || ir.output !== last.name) return { ir, stripped: false };
  const src = last.inputs[0];
  const srcShape = src === IR_INPUT ? ir.inputShape : ir.layers.find((l) => l.name === src)!.outputShape;
  return { ir: { ...ir, layers: ir.layers.slice(0, -1), output: src, outputShape: srcShape }, stripped: true };
}

/** One array the top function holds: its C name, element type and length. */
interface Value {
  readonly arr: string;
  readonly type: string;
  readonly size: number;
}

/** Generated text for one layer. */
interface Emitted {
  readonly typedefs: string[];
  readonly config: string | null;
  readonly body: string[];
  readonly weights: { file: string; text: string }[];
  readonly value: Value;
}

function checkOptions(ir: Ir, precision: PrecisionConfig, opts: WriterOptions): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(opts.name)) {
    throw new ConfigError('writer.name', `'${opts.name}' is not a C identifier of at most 64 characters`);
  }
  if (opts.strategy !== 'latency' && opts.strategy !== 'resource') {
    throw new ConfigError('writer.strategy', `'${String(opts.strategy)}'; allowed: latency, resource`);
  }
  if (!Number.isInteger(opts.reuse) || opts.reuse < 1) throw new ConfigError('writer.reuse', `${opts.reuse}; allowed: an integer >= 1`);
  if (!(opts.clockMhz > 0 && opts.clockMhz <= 1000)) throw new ConfigError('writer.clockMhz', `${opts.clockMhz}; allowed: (0, 1000]`);
  const names = new Set(ir.layers.map((l) => l.name));
  for (const n of precision.layers.keys()) {
    if (!names.has(n)) throw new ConfigError(`precision.layers.${n}`, `no layer of that name; the model has ${[...names].join(', ')}`);
  }
}

/**
 * Writes the HLS project for `ir` into `outDir` (created; existing files of the same names are
 * overwritten, others left alone). Throws `ConfigError` for bad options or overrides naming
 * unknown layers or an accumulator too narrow for a softmax sum, and `ModelError` naming the
 * first layer the writer cannot compile: a softmax over 512 or more values, a transpose of
 * more than 4 dims, a global average pool over other than 2-D, a leaky ReLU with alpha
 * outside [0, 1), a layer whose inputs are not earlier layers (add takes two, the others
 * one). Every other IR layer kind is compiled: sigmoid and tanh by 1024-entry tables over
 * [-8, 8), softmax by tables (see nnet_softmax.h), add, unfolded batchnorm, transpose, 1-D
 * and padded pools (average pools honour `countIncludePad`). `ir` is read only.
 */
export function writeProject(ir: Ir, precision: PrecisionConfig, outDir: string, opts: WriterOptions): ProjectSummary {
  checkOptions(ir, precision, opts);
  const dir = resolve(outDir);
  const values = new Map<string, Value>([[IR_INPUT, { arr: 'x', type: 'input_t', size: shapeSize(ir.inputShape) }]]);
  const emitted: Emitted[] = [];
  const emittedNames: string[] = [];
  const reuseLayers: ReuseLayer[] = [];
  for (const layer of ir.layers) {
    const ins = layer.inputs.map((i) => values.get(i));
    const arity = layer.kind === 'add' ? 2 : 1;
    if (ins.length !== arity || ins.some((v) => v === undefined)) {
      throw new ModelError(`${ir.source}:${layer.name}`, `${layer.kind} with inputs [${layer.inputs.join(', ')}] is not yet supported by the writer ` +
        `(${arity} input${arity === 1 ? '' : 's'}, each an earlier layer or the model input)`);
    }
    const e = emitLayer(layer, ins as Value[], precision, layerOptions(opts, layer.name), ir.source);
    if (e !== null) emitted.push(e);
    if (e !== null) emittedNames.push(layer.name);
    if (e !== null) reuseLayers.push({ layer, input: ins[0]!, value: e.value, body: e.body });
    values.set(layer.name, e === null ? ins[0]! : e.value);
  }
  const out = values.get(ir.output)!;
  const nIn = shapeSize(ir.inputShape);
  const nOut = shapeSize(ir.outputShape);
  const outType = out.arr === 'x' ? 'input_t' : out.type;

  const files = new Map<string, string>();
  const stream = opts.plan?.io === 'stream' ? streamFirmware(ir, opts.plan) : null;
  files.set('firmware/parameters.h', parametersH(opts.name, precision.input, outType, nIn, nOut, emitted, stream?.configs ?? ''));
  const reuse = reusePlan(ir, reuseLayers);
  files.set(`firmware/${opts.name}.h`, topH(opts.name, reuseHeader(opts.name, reuse, reuseLayers)));
  files.set(`firmware/${opts.name}.cpp`, topCpp(opts.name, emitted, out, stream && streamBody(stream, emitted, emittedNames)) +
    reuseCpp(opts.name, reuse, reuseLayers, out.arr));
  for (const e of emitted) for (const w of e.weights) files.set(`firmware/weights/${w.file}`, w.text);
  files.set(`tb/${opts.name}_test.cpp`, testbench(opts.name));
  if (opts.pixels !== undefined) for (const [rel, text] of pixelsFiles(opts.name, opts.pixels)) files.set(rel, text);
  files.set('build_prj.tcl', buildTcl(opts));
  files.set('model.json', modelJson(ir, precision, opts, outType === 'input_t' ? printFixedType(precision.input) : null));

  const written: string[] = [];
  for (const sub of ['firmware/weights', 'firmware/nnet', 'tb', 'tb_data']) mkdirSync(join(dir, sub), { recursive: true });
  for (const [rel, text] of files) {
    writeFileSync(join(dir, rel), text);
    written.push(join(dir, rel));
  }
  for (const f of readdirSync(NNET_DIR).filter((f) => f.endsWith('.h'))) {
    copyFileSync(join(NNET_DIR, f), join(dir, 'firmware/nnet', f));
    written.push(join(dir, 'firmware/nnet', f));
  }
  return { dir, nIn, nOut, files: written };
}

/** Writes `inputs` (each `nIn` values) to tb_data/tb_input_features.dat, one sample a line, exact decimals. */
export function writeTbInputs(outDir: string, inputs: readonly ArrayLike<number>[], nIn: number): string {
  const lines = inputs.map((x, i) => {
    if (x.length !== nIn) throw new ConfigError(`tb input ${i}`, `${x.length} values; the model needs ${nIn}`);
    return Array.from(x, (v) => exactLiteral(v, `tb input ${i}`)).join(' ');
  });
  const path = join(resolve(outDir), 'tb_data/tb_input_features.dat');
  mkdirSync(join(resolve(outDir), 'tb_data'), { recursive: true });
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/**
 * A C++ double literal whose value is exactly `v` (a float32 widened to double is a double,
 * and JS prints the shortest decimal that reads back as that same double). The type's
 * constructor then quantises the exact value.
 */
export function exactLiteral(v: number, where: string): string {
  if (!Number.isFinite(v)) throw new ModelError(where, `value ${v} is not finite`);
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function unsupported(layer: Layer, source: string, why = ''): ModelError {
  return new ModelError(`${source}:${layer.name}`, `${layer.kind}${why} is not yet supported by the writer ` +
    '(supported: dense, relu, leakyrelu, sigmoid, tanh, softmax over < 512 values, conv1d, conv2d, dwconv2d, ' +
    'maxpool1d/2d and avgpool1d/2d with or without pads, globalavgpool over 2-D, add of two inputs, batchnorm, ' +
    'transpose of up to 4 dims, reshape)');
}

function emitLayer(layer: Layer, ins: Value[], precision: PrecisionConfig, opts: WriterOptions, source: string): Emitted | null {
  const input = ins[0]!;
  const p = layerPrecision(precision, layer.name);
  const n = layer.name;
  const resT = `${n}_result_t`;
  const value: Value = { arr: `${n}_out`, type: resT, size: shapeSize(layer.outputShape) };
  const typedefs = [`typedef ${printFixedType(p.result)} ${resT};`];
  const call = (fn: string, extra = ''): string[] => [
    `  HT_LAYER_BUFFER ${resT} ${value.arr}[${value.size}];`,
    `  nnet::${fn}<${input.type}, ${resT}, config_${n}>(${input.arr}, ${value.arr}${extra});`,
  ];
  const cfg = (fields: string[]): string =>
    `struct config_${n} {\n${fields.map((f) => `  ${f}\n`).join('')}};`;
  switch (layer.kind) {
    case 'reshape':
      return null;
    case 'relu':
      return { typedefs, value, weights: [], body: call('relu'),
        config: cfg([`static constexpr int n_in = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`]) };
    case 'leakyrelu':
      if (!(layer.alpha >= 0 && layer.alpha < 1)) throw unsupported(layer, source, ` with alpha ${layer.alpha} outside [0, 1)`);
      return { typedefs, value, weights: [], body: call('leaky_relu'),
        config: cfg([`static constexpr int n_in = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`,
          `static constexpr double alpha = ${exactLiteral(layer.alpha, n)};`, `typedef ${ALPHA_TYPE} alpha_t;`]) + '\n' +
          `#if __cplusplus < 201703L\nconstexpr double config_${n}::alpha;\n#endif` };
    case 'dense':
      return emitDense(layer, input, value, typedefs, call, cfg, p, opts);
    case 'conv1d':
    case 'conv2d':
      return emitConv(layer, value, typedefs, call, cfg, p, opts);
    case 'dwconv2d':
      return emitDepthwise(layer, value, typedefs, call, cfg, p, opts);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
      return emitPool(layer, value, typedefs, call, cfg, p, opts);
    case 'sigmoid':
    case 'tanh':
      return { typedefs, value, weights: [], body: call(layer.kind),
        config: cfg([`static constexpr int n_in = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`,
          `static constexpr int table_size = ${TABLE_SIZE};`, `typedef ${TABLE_TYPE} table_t;`]) };
    case 'softmax':
      return emitSoftmax(layer, value, typedefs, call, cfg, p, opts, source);
    case 'add':
      return emitAdd(layer, ins, value, typedefs, cfg, opts, source);
    case 'batchnorm':
      return emitBatchNorm(layer, value, typedefs, call, cfg, p, opts);
    case 'transpose':
      return emitTranspose(layer, value, typedefs, call, cfg, opts, source);
    case 'elu':
    case 'selu':
    case 'softplus':
    case 'hardsigmoid': {
      const a = activationConfig(layer, n);
      return { typedefs, value, weights: [], body: call(a.fn),
        config: cfg([`static constexpr int n_in = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`, ...a.fields]) };
    }
    case 'quant':
      return { typedefs, value, weights: [], body: call(layer.quant.bipolar ? 'bipolar_quant' : 'quantize'),
        config: cfg([`static constexpr int n_in = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`,
          ...quantConfigFields(layer)]) };
    case 'globalavgpool': {
      const [c, h, w] = layer.inputShapes[0]!;
      if (layer.inputShapes[0]!.length !== 3) throw unsupported(layer, source, ` over [${layer.inputShapes[0]!.join(',')}] (2-D only)`);
      return { typedefs, value, weights: [], body: call('global_avg_pool'),
        config: cfg([`static constexpr int n_chan = ${c}, in_height = ${h}, in_width = ${w};`,
          `static constexpr int reuse_factor = ${opts.reuse};`,
          `typedef ${printFixedType(p.accum)} accum_t;`, `typedef ${poolScaleType(poolMinCount(layer))} scale_t;`]) };
    }
    default:
      throw unsupported(layer, source);
  }
}

type CallFn = (fn: string, extra?: string) => string[];
type CfgFn = (fields: string[]) => string;

function paramTypedefs(n: string, p: ReturnType<typeof layerPrecision>): string[] {
  return [`typedef ${printFixedType(p.weight)} ${n}_weight_t;`, `typedef ${printFixedType(p.bias)} ${n}_bias_t;`,
    `typedef ${printFixedType(p.accum)} ${n}_accum_t;`];
}

function paramFields(n: string, opts: WriterOptions): string[] {
  return [`static constexpr int reuse_factor = ${opts.reuse};`,
    `static constexpr nnet::strategy strategy = nnet::${opts.strategy};`,
    `typedef ${n}_weight_t weight_t;`, `typedef ${n}_bias_t bias_t;`, `typedef ${n}_accum_t accum_t;`];
}

function emitDense(layer: DenseLayer, input: Value, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions): Emitted {
  const n = layer.name;
  const terms = layer.nIn * layer.nOut;
  if (input.size !== layer.nIn) throw new ModelError(n, `dense input has ${input.size} values, n_in is ${layer.nIn}`);
  if (opts.reuse > terms || terms % opts.reuse !== 0) {
    throw new ConfigError('writer.reuse', `${opts.reuse} does not divide ${n}'s n_in * n_out = ${terms}; allowed: a divisor of ${terms}`);
  }
  return {
    typedefs: [...typedefs, ...paramTypedefs(n, p)], value,
    weights: weightFiles(n, layer.weights, layer.bias, `[n_in ${layer.nIn}][n_out ${layer.nOut}]`),
    body: call('dense', `, ${n}_w, ${n}_b`),
    config: cfg([`static constexpr int n_in = ${layer.nIn}, n_out = ${layer.nOut};`, ...paramFields(n, opts)]),
  };
}

function emitConv(layer: ConvLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions): Emitted {
  const n = layer.name;
  const inS = layer.inputShapes[0]!;
  const outS = layer.outputShape;
  const fields = layer.kind === 'conv2d'
    ? [`static constexpr int n_chan = ${layer.cIn}, in_height = ${inS[1]}, in_width = ${inS[2]}, n_filt = ${layer.cOut};`,
      `static constexpr int filt_height = ${layer.kernel[0]}, filt_width = ${layer.kernel[1]};`,
      `static constexpr int stride_height = ${layer.strides[0]}, stride_width = ${layer.strides[1]};`,
      `static constexpr int pad_top = ${layer.pads[0]}, pad_bottom = ${layer.pads[2]}, pad_left = ${layer.pads[1]}, pad_right = ${layer.pads[3]};`,
      `static constexpr int out_height = ${outS[1]}, out_width = ${outS[2]};`]
    : [`static constexpr int n_chan = ${layer.cIn}, in_width = ${inS[1]}, n_filt = ${layer.cOut};`,
      `static constexpr int filt_width = ${layer.kernel[0]}, stride_width = ${layer.strides[0]};`,
      `static constexpr int pad_left = ${layer.pads[0]}, pad_right = ${layer.pads[1]};`,
      `static constexpr int out_width = ${outS[1]};`];
  return {
    typedefs: [...typedefs, ...paramTypedefs(n, p)], value,
    weights: weightFiles(n, layer.weights, layer.bias, `[n_filt ${layer.cOut}][n_chan ${layer.cIn}][${layer.kernel.join('][')}]`),
    body: call(layer.kind === 'conv2d' ? 'conv_2d' : 'conv_1d', `, ${n}_w, ${n}_b`),
    config: cfg([...fields, ...paramFields(n, opts)]),
  };
}

function emitDepthwise(layer: DepthwiseConvLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions): Emitted {
  const n = layer.name;
  const [c, h, w] = layer.inputShapes[0]!;
  const outS = layer.outputShape;
  return {
    typedefs: [...typedefs, ...paramTypedefs(n, p)], value,
    weights: weightFiles(n, layer.weights, layer.bias, `[n_chan ${c}][${layer.kernel.join('][')}]`),
    body: call('depthwise_conv_2d', `, ${n}_w, ${n}_b`),
    config: cfg([`static constexpr int n_chan = ${c}, in_height = ${h}, in_width = ${w};`,
      `static constexpr int filt_height = ${layer.kernel[0]}, filt_width = ${layer.kernel[1]};`,
      `static constexpr int stride_height = ${layer.strides[0]}, stride_width = ${layer.strides[1]};`,
      `static constexpr int pad_top = ${layer.pads[0]}, pad_bottom = ${layer.pads[2]}, pad_left = ${layer.pads[1]}, pad_right = ${layer.pads[3]};`,
      `static constexpr int out_height = ${outS[1]}, out_width = ${outS[2]};`, ...paramFields(n, opts)]),
  };
}

function emitPool(layer: PoolLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions): Emitted {
  const inS = layer.inputShapes[0]!;
  const outS = layer.outputShape;
  const isMax = layer.kind === 'maxpool1d' || layer.kind === 'maxpool2d';
  // ONNX pads are [begin..., end...]; the templates take them by name. Max pools ignore
  // padded positions, average pools divide by the real positions unless count_include_pad.
  const fields = layer.kernel.length === 2
    ? [`static constexpr int n_chan = ${inS[0]}, in_height = ${inS[1]}, in_width = ${inS[2]};`,
      `static constexpr int pool_height = ${layer.kernel[0]}, pool_width = ${layer.kernel[1]};`,
      `static constexpr int stride_height = ${layer.strides[0]}, stride_width = ${layer.strides[1]};`,
      `static constexpr int pad_top = ${layer.pads[0]}, pad_bottom = ${layer.pads[2]}, pad_left = ${layer.pads[1]}, pad_right = ${layer.pads[3]};`,
      `static constexpr int out_height = ${outS[1]}, out_width = ${outS[2]};`]
    : [`static constexpr int n_chan = ${inS[0]}, in_width = ${inS[1]};`,
      `static constexpr int pool_width = ${layer.kernel[0]}, stride_width = ${layer.strides[0]};`,
      `static constexpr int pad_left = ${layer.pads[0]}, pad_right = ${layer.pads[1]};`,
      `static constexpr int out_width = ${outS[1]};`];
  fields.push(`static constexpr int reuse_factor = ${opts.reuse};`);
  if (!isMax) {
    fields.push(`static constexpr bool count_include_pad = ${layer.countIncludePad};`,
      `typedef ${printFixedType(p.accum)} accum_t;`, `typedef ${poolScaleType(poolMinCount(layer))} scale_t;`);
  }
  const fn = `${isMax ? 'max' : 'avg'}_pool_${layer.kernel.length}d`;
  return { typedefs, value, weights: [], body: call(fn), config: cfg(fields) };
}

/** The softmax as the template sees it: along the middle axis of [n_slices][n_in][n_inner]. */
function softmaxGroups(layer: SoftmaxLayer): { nIn: number; nSlices: number; nInner: number } {
  const shape = layer.inputShapes[0]!;
  const nSlices = shapeSize(shape.slice(0, layer.axis));
  // 'trailing' (opset < 13): one softmax over everything from axis on, flattened.
  if (layer.span === 'trailing') return { nIn: shapeSize(shape.slice(layer.axis)), nSlices, nInner: 1 };
  return { nIn: shape[layer.axis]!, nSlices, nInner: shapeSize(shape.slice(layer.axis + 1)) };
}

function emitSoftmax(layer: SoftmaxLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions, source: string): Emitted {
  const g = softmaxGroups(layer);
  // The inverse table covers sums in [0, 2^ceil(log2(n + 1))) with TABLE_SIZE steps of < 1.
  if (2 ** Math.ceil(Math.log2(g.nIn + 1)) >= TABLE_SIZE) throw unsupported(layer, source, ` over ${g.nIn} values (at most ${TABLE_SIZE / 2 - 1})`);
  const acc = p.accum;
  if (2 ** (acc.integer - 1) <= g.nIn || fracBits(acc) < EXP_TABLE_FRAC) {
    throw new ConfigError(`precision.layers.${layer.name}.accum`, `'${printFixedType(acc)}' cannot hold a sum of ${g.nIn} exps exactly; ` +
      `allowed: integer bits > log2(${g.nIn}) + 1 and at least ${EXP_TABLE_FRAC} fractional bits`);
  }
  return { typedefs, value, weights: [], body: call('softmax'),
    config: cfg([`static constexpr int n_in = ${g.nIn}, n_slices = ${g.nSlices}, n_inner = ${g.nInner};`,
      `static constexpr int table_size = ${TABLE_SIZE}, exp_range = ${SOFTMAX_EXP_RANGE};`,
      `static constexpr int reuse_factor = ${opts.reuse};`,
      `typedef ${EXP_TABLE_TYPE} exp_table_t;`, `typedef ${INV_TABLE_TYPE} inv_table_t;`,
      `typedef ${printFixedType(acc)} accum_t;`]) };
}

function emitAdd(layer: AddLayer, ins: Value[], value: Value, typedefs: string[], cfg: CfgFn,
  opts: WriterOptions, source: string): Emitted {
  const [a, b] = ins as [Value, Value];
  if (a.size !== value.size || b.size !== value.size) {
    throw unsupported(layer, source, ` of ${a.size} and ${b.size} values into ${value.size} (shapes must be equal)`);
  }
  const n = layer.name;
  return { typedefs, value, weights: [],
    body: [`  HT_LAYER_BUFFER ${value.type} ${value.arr}[${value.size}];`,
      `  nnet::add<${a.type}, ${b.type}, ${value.type}, config_${n}>(${a.arr}, ${b.arr}, ${value.arr});`],
    config: cfg([`static constexpr int n_elem = ${value.size};`, `static constexpr int reuse_factor = ${opts.reuse};`]) };
}

function emitBatchNorm(layer: BatchNormLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  p: ReturnType<typeof layerPrecision>, opts: WriterOptions): Emitted {
  const n = layer.name;
  const c = layer.scale.length;
  // scale and shift are per channel (dim 0): weightFiles writes them as n_w and n_b.
  return {
    typedefs: [...typedefs, ...paramTypedefs(n, p)], value,
    weights: weightFiles(n, layer.scale, layer.shift, `scale [n_chan ${c}]`),
    body: call('batchnorm', `, ${n}_w, ${n}_b`),
    config: cfg([`static constexpr int n_in = ${value.size}, n_chan = ${c};`, `static constexpr int reuse_factor = ${opts.reuse};`,
      `typedef ${n}_weight_t scale_t;`, `typedef ${n}_bias_t bias_t;`, `typedef ${n}_accum_t accum_t;`]),
  };
}

function emitTranspose(layer: TransposeLayer, value: Value, typedefs: string[], call: CallFn, cfg: CfgFn,
  opts: WriterOptions, source: string): Emitted {
  const shape = layer.inputShapes[0]!;
  if (shape.length < 1 || shape.length > 4) throw unsupported(layer, source, ` of [${shape.join(',')}] (1 to 4 dims)`);
  const dims = [0, 1, 2, 3].map((d) => shape[d] ?? 1);
  const perm = [0, 1, 2, 3].map((d) => layer.perm[d] ?? d);
  return { typedefs, value, weights: [], body: call('transpose'),
    config: cfg([`static constexpr int n_dims = ${shape.length};`,
      `static constexpr int in_dim0 = ${dims[0]}, in_dim1 = ${dims[1]}, in_dim2 = ${dims[2]}, in_dim3 = ${dims[3]};`,
      `static constexpr int perm0 = ${perm[0]}, perm1 = ${perm[1]}, perm2 = ${perm[2]}, perm3 = ${perm[3]};`,
      `static constexpr int reuse_factor = ${opts.reuse};`]) };
}

function weightFiles(n: string, w: Float32Array, b: Float32Array, layout: string): { file: string; text: string }[] {
  const arr = (suffix: 'w' | 'b', t: string, v: Float32Array, what: string): { file: string; text: string } => {
    const guard = `HT_WEIGHTS_${n.toUpperCase()}_${suffix.toUpperCase()}_H`;
    const lines: string[] = [];
    for (let i = 0; i < v.length; i += WEIGHTS_PER_LINE) {
      lines.push('    ' + Array.from(v.subarray(i, i + WEIGHTS_PER_LINE), (x, k) => exactLiteral(x, `${n}_${suffix}[${i + k}]`)).join(', ') + ',');
    }
    return { file: `${n}_${suffix}.h`, text:
      `// ${n}_${suffix}: ${what}, ${v.length} values. Generated by hls/compiler/writer.ts.\n` +
      '// Each literal is the exact float32 value; the type\'s constructor quantises it.\n' +
      `#ifndef ${guard}\n#define ${guard}\n\nstatic const ${t} ${n}_${suffix}[${v.length}] = {\n${lines.join('\n')}\n};\n\n#endif  // ${guard}\n` };
  };
  return [arr('w', `${n}_weight_t`, w, `weights ${layout}`), arr('b', `${n}_bias_t`, b, 'biases')];
}

/** The io_stream body: the stream part, then the io_parallel bodies of the layers after it. */
function streamBody(stream: StreamFirmware, emitted: Emitted[], names: string[]): string[] {
  return [...stream.body, ...emitted.filter((_, i) => !stream.streamed.has(names[i]!)).flatMap((e) => e.body)];
}

function parametersH(name: string, inputType: FixedType, outType: string, nIn: number, nOut: number, emitted: Emitted[], streamConfigs: string): string {
  const guard = `HT_${name.toUpperCase()}_PARAMETERS_H`;
  return `// parameters.h: types and layer configs of ${name}. Generated by hls/compiler/writer.ts.
#ifndef ${guard}
#define ${guard}

#include "nnet/nnet_activation.h"
#include "nnet/nnet_activation_extra.h"
#include "nnet/nnet_batchnorm.h"
#include "nnet/nnet_common.h"
#include "nnet/nnet_conv1d.h"
#include "nnet/nnet_conv2d.h"
#include "nnet/nnet_dense.h"
#include "nnet/nnet_depthwise_conv2d.h"
#include "nnet/nnet_merge.h"
#include "nnet/nnet_pooling.h"
#include "nnet/nnet_quant.h"
#include "nnet/nnet_softmax.h"
#include "nnet/nnet_transpose.h"
#include "nnet/nnet_conv2d_stream.h"
#include "nnet/nnet_pooling_stream.h"

static constexpr int N_IN = ${nIn};
static constexpr int N_OUT = ${nOut};
typedef ${printFixedType(inputType)} input_t;

${emitted.map((e) => [...e.typedefs, ...(e.config === null ? [] : [e.config])].join('\n')).join('\n\n')}
${streamConfigs === '' ? '' : `\n${streamConfigs}\n`}
typedef ${outType} result_t;

#endif  // ${guard}
`;
}

function topH(name: string, reuse: string): string {
  const guard = `HT_${name.toUpperCase()}_H`;
  return `// ${name}.h: top function of the ${name} firmware. Generated by hls/compiler/writer.ts.
#ifndef ${guard}
#define ${guard}

#include "parameters.h"

// Computes the model's logits for one sample (input and output flat, channels first).
void ${name}(input_t x[N_IN], result_t y[N_OUT]);
${reuse}
#endif  // ${guard}
`;
}

function topCpp(name: string, emitted: Emitted[], out: Value, streamLines: string[] | null): string {
  const parallel = emitted.map((e) => e.body.join('\n')).join('\n');
  // The io plan's io_stream body runs in synthesis (and in `make csim_tb_stream`); the
  // simulator library runs the io_parallel body, the same bits (writer-stream.ts).
  const body = streamLines === null ? parallel
    : `#if defined(__SYNTHESIS__) || defined(HT_IO_STREAM)\n${streamLines.join('\n')}\n#else\n${parallel}\n#endif`;
  const includes = emitted.flatMap((e) => e.weights.map((w) => `#include "weights/${w.file}"`));
  return `// ${name}.cpp: top function, the layers in IR order. Generated by hls/compiler/writer.ts.
#include "${name}.h"

${includes.join('\n')}

// Each layer's output array. In synthesis an ordinary local (registers or BRAM, no state
// between calls); in simulation a static, so the CPU does not construct (zero) every array on
// every call: each layer writes all of its output before the next reads it. The simulator is
// not reentrant (ht_model_abi.h).
#ifdef __SYNTHESIS__
#define HT_LAYER_BUFFER
#else
#define HT_LAYER_BUFFER static
#endif

void ${name}(input_t x[N_IN], result_t y[N_OUT]) {
  // A kernel with one AXI-Lite control port (docs/fpga-protocol.md): ap_ctrl_hs at 0x00,
  // GIE/IER/ISR at 0x04-0x0C, the tensors as windows of the same port. Vitis places the
  // windows; regmap.json is the layout this compiler expects (compare with x<top>_hw.h).
#pragma HLS INTERFACE s_axilite port=return bundle=control
#pragma HLS INTERFACE s_axilite port=x bundle=control
#pragma HLS INTERFACE s_axilite port=y bundle=control
${body}
OutputCopy:
  for (int i = 0; i < N_OUT; i++) {
    y[i] = ${out.arr}[i];
  }
}
`;
}

function testbench(name: string): string {
  return `// ${name}_test.cpp: C testbench of ${name}. Generated by hls/compiler/writer.ts.
//
//   ${name}_test [inputs [raw_out [float_out]]]
// Reads one sample per line (N_IN space-separated decimals; blank lines skipped) from
// tb_data/tb_input_features.dat, runs the top function, and writes one line per sample of the
// raw output bits (signed integers, value = raw * 2^-F) to tb_data/csim_raw.dat and of the
// outputs as doubles to tb_data/csim_results.log. Exit codes: 0 ok, 1 a file cannot be opened,
// 2 a line is not N_IN finite numbers, 3 no samples.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../firmware/${name}.h"

namespace {

// Parses one line into x; returns the number of values, or -1 on a malformed or surplus value.
int parse_line(const std::string& line, input_t x[N_IN]) {
  const char* p = line.c_str();
  int n = 0;
  for (;;) {
    while (*p == ' ' || *p == '\\t' || *p == '\\r') p++;
    if (*p == '\\0') return n;
    char* end = nullptr;
    const double v = std::strtod(p, &end);
    if (end == p || !std::isfinite(v) || (*end != '\\0' && *end != ' ' && *end != '\\t' && *end != '\\r')) return -1;
    if (n == N_IN) return -1;
    x[n++] = v;
    p = end;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* in_path = argc > 1 ? argv[1] : "tb_data/tb_input_features.dat";
  const char* raw_path = argc > 2 ? argv[2] : "tb_data/csim_raw.dat";
  const char* float_path = argc > 3 ? argv[3] : "tb_data/csim_results.log";
  std::ifstream in(in_path);
  if (!in) {
    std::fprintf(stderr, "${name}_test: cannot open %s\\n", in_path);
    return 1;
  }
  FILE* raw_out = std::fopen(raw_path, "w");
  FILE* float_out = std::fopen(float_path, "w");
  if (raw_out == nullptr || float_out == nullptr) {
    std::fprintf(stderr, "${name}_test: cannot write %s or %s\\n", raw_path, float_path);
    return 1;
  }
  static input_t x[N_IN];
  static result_t y[N_OUT];
  std::string line;
  long line_no = 0, samples = 0;
  while (std::getline(in, line)) {
    line_no++;
    const int n = parse_line(line, x);
    if (n == 0) continue;
    if (n != N_IN) {
      std::fprintf(stderr, "${name}_test: %s line %ld: need %d finite numbers\\n", in_path, line_no, N_IN);
      return 2;
    }
    ${name}(x, y);
    for (int i = 0; i < N_OUT; i++) {
      std::fprintf(raw_out, i ? " %lld" : "%lld", nnet::fixed_bits(y[i]));
      std::fprintf(float_out, i ? " %.17g" : "%.17g", y[i].to_double());
    }
    std::fprintf(raw_out, "\\n");
    std::fprintf(float_out, "\\n");
    samples++;
  }
  if (in.bad() || std::fclose(raw_out) != 0 || std::fclose(float_out) != 0) {
    std::fprintf(stderr, "${name}_test: I/O error\\n");
    return 1;
  }
  if (samples == 0) {
    std::fprintf(stderr, "${name}_test: no samples in %s\\n", in_path);
    return 3;
  }
  std::printf("${name}_test: %ld samples\\n", samples);
  return 0;
}
`;
}

function buildTcl(opts: WriterOptions): string {
  const periodNs = Number((1000 / opts.clockMhz).toFixed(4));
  const cflags = '-std=c++14 -DHT_USE_VENDOR_AP';
  return `# build_prj.tcl: Vitis HLS build of ${opts.name}. Generated by hls/compiler/writer.ts.
# Run from this directory: vitis_hls -f build_prj.tcl
# The hls/nnet templates are copied into firmware/nnet, so the project is self-contained.
set part "${opts.part ?? DEFAULT_PART}"
set clock_period_ns ${periodNs}

open_project -reset ${opts.name}_prj
set_top ${opts.pixels === undefined ? opts.name : pixelsTop(opts.name)}
add_files firmware/${opts.name}.cpp -cflags "${cflags}"
${opts.pixels === undefined ? '' : `add_files firmware/${pixelsTop(opts.name)}.cpp -cflags "${cflags}"\n`}add_files -tb tb/${opts.name}_test.cpp -cflags "${cflags}"
add_files -tb tb_data
open_solution -reset solution1
set_part $part
create_clock -period $clock_period_ns -name default
csim_design
csynth_design
cosim_design
export_design -format ip_catalog
exit
`;
}

function modelJson(ir: Ir, precision: PrecisionConfig, opts: WriterOptions, inputIsOutput: string | null): string {
  const layers = ir.layers.map((l) => {
    const p = layerPrecision(precision, l.name);
    const hasWeights = isMacLayer(l) || l.kind === 'batchnorm';
    return {
      name: l.name, kind: l.kind, inputs: l.inputs, inputShapes: l.inputShapes, outputShape: l.outputShape,
      ...(l.kind === 'reshape' ? {} : { result: printFixedType(p.result) }),
      ...(hasWeights ? { weight: printFixedType(p.weight), bias: printFixedType(p.bias), accum: printFixedType(p.accum) } : {}),
      ...(l.kind === 'avgpool1d' || l.kind === 'avgpool2d' || l.kind === 'globalavgpool' ? { accum: printFixedType(p.accum), scale: poolScaleType(poolMinCount(l)) } : {}),
      ...(l.kind === 'sigmoid' || l.kind === 'tanh' ? { table: TABLE_TYPE, tableSize: TABLE_SIZE } : {}),
      ...(l.kind === 'softmax' ? { accum: printFixedType(p.accum), expTable: EXP_TABLE_TYPE, invTable: INV_TABLE_TYPE,
        tableSize: TABLE_SIZE, expRange: SOFTMAX_EXP_RANGE } : {}),
    };
  });
  const outLayer = ir.layers.find((l) => l.name === ir.output);
  return JSON.stringify({
    name: opts.name, source: ir.source, strategy: opts.strategy, reuse: opts.reuse, clockMhz: opts.clockMhz,
    part: opts.part ?? DEFAULT_PART, postprocess: opts.postprocess ?? null,
    input: { shape: ir.inputShape, type: printFixedType(precision.input) },
    ...(opts.pixels === undefined ? {} : { pixels: pixelsJson(opts.name, opts.pixels) }),
    output: { shape: ir.outputShape, layer: ir.output,
      type: inputIsOutput ?? printFixedType(layerPrecision(precision, outputSource(ir, outLayer)).result) },
    layers,
  }, null, 2) + '\n';
}

/** The layer whose result type the output has: the output layer, through any reshapes. */
function outputSource(ir: Ir, layer: Layer | undefined): string {
  let l = layer;
  while (l !== undefined && l.kind === 'reshape') {
    const src = l.inputs[0];
    l = ir.layers.find((x) => x.name === src);
  }
  return l === undefined ? IR_INPUT : l.name;
}
