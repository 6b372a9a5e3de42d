/**
 * Latency and resource model of the compiled network: a first-order estimate of clock cycles,
 * initiation interval (II), DSP count and weight storage per IR layer, from the loop structure
 * of the `hls/nnet` templates (see `hls/nnet/README.md` and `docs/latency-model.md`).
 *
 * It is a model, not a synthesis report: it ignores routing, the clock the design actually
 * closes at, LUT/FF counts, BRAM beyond activation tables and resource-strategy weights, and
 * io_stream. Its constants are fitted to published hls4ml synthesis reports (fit-latency.ts;
 * the error per report is in docs/latency-model.md). Every formula is stated on the function
 * that applies it, and the constants are named below.
 */
import { ConfigError } from '../../host/src/core/errors.js';
import type { ConvLayer, DenseLayer, DepthwiseConvLayer, GlobalAvgPoolLayer, Ir, Layer, LayerKind, MacLayer, PoolLayer } from './ir.js';
import { isMacLayer, macOutputs, shapeSize } from './ir.js';

export type Strategy = 'latency' | 'resource';

export interface EstimateOptions {
  /** Dense strategy (`nnet::strategy`). Conv, pool and activations have one template each. */
  readonly strategy: Strategy;
  /** Reuse factor applied to every layer (the templates' `reuse_factor`). Integer >= 1. */
  readonly reuse: number;
  /** Target clock; only converts cycles to microseconds. Default 200. */
  readonly clockMhz?: number;
  /** Weight (and bias) width in bits. Default 16 (ap_fixed<16,6>). */
  readonly weightBits?: number;
  /** Activation (data) width in bits, the other multiplier operand. Default 16. */
  readonly dataBits?: number;
  /** Accumulator width; only checked against the DSP's 48-bit adder (a note). Default 32. */
  readonly accumBits?: number;
  /** Reuse factor of named layers (hls4ml's per-layer `ReuseFactor`); others use `reuse`. */
  readonly reusePerLayer?: Readonly<Record<string, number>>;
  /** The model's constants; default `FITTED_CONSTANTS`. Only the fit (fit-latency.ts) varies them. */
  readonly constants?: ModelConstants;
}

export interface LayerEstimate {
  readonly name: string;
  readonly kind: LayerKind;
  /** Cycles from the layer's first input to its last output for one frame. */
  readonly cycles: number;
  /** Cycles before the layer can take the next frame. */
  readonly ii: number;
  /** DSP slices (multipliers mapped to DSP48; LUT multipliers are in `lutMultipliers`). */
  readonly multipliers: number;
  /** Multipliers that the width rule sends to fabric LUTs instead of DSPs. */
  readonly lutMultipliers: number;
  /** Bits of constant storage: weights and biases (or scale/shift) at `weightBits` each. */
  readonly weightBits: number;
  readonly notes: string[];
}

export interface NetworkEstimate {
  readonly layers: LayerEstimate[];
  /** Sum of layer cycles: io_parallel layers run one after another for a given frame. */
  readonly latencyCycles: number;
  readonly latencyUs: number;
  /** max layer II: the layers form a pipeline (dataflow), the slowest stage sets the rate. */
  readonly ii: number;
  /** Expected DSPs: `FITTED_CONSTANTS.dspShare` of the DSP-eligible products (Σ multipliers). */
  readonly dsp: number;
  /** BRAM_18K for lookup tables (softmax, sigmoid, tanh) and, under the resource strategy, weights. */
  readonly bram18k: number;
  readonly weightStorageBits: number;
}

/*
 * The constants below marked FITTED are the result of `hls/compiler/fit-latency.ts`: a grid
 * search against the published hls4ml synthesis reports in ../shared/reference/hls-reports,
 * with three designs held out (docs/latency-model.md has the table; fit-latency.json the run).
 * Change them only by re-running the fit; report-compare.test.ts fails when a change makes the
 * held-out error grow past its bound.
 */
/** FITTED. Register stages every computing layer adds around its datapath (cycles). */
export const LAYER_OVERHEAD_CYCLES = 0;
/** FITTED. Delay of a constant-coefficient multiply in a layer's combinational chain (ns). */
export const MULTIPLIER_NS = 0;
/** FITTED. Delay of one adder (or comparator) tree level (ns); HLS chains levels into a cycle. */
export const ADDER_LEVEL_NS = 1.25;
/** FITTED. Cycles of a ReLU (a compare/select, usually chained into the next layer). */
export const RELU_CYCLES = 1;
/** FITTED. Cycles of softmax's table lookups and final multiply, beyond its sum tree. */
export const SOFTMAX_CYCLES = 1;
/** FITTED. Share of the DSP-eligible constant-weight products that HLS puts on DSP48s (the
 * rest, weights with few significant bits, become shift-adds in LUTs). */
export const DSP_SHARE = 0.69;
/** One registered multiplier stage (the resource strategy's reuse loop; not fitted). */
export const MULT_STAGE_CYCLES = 1;
/** Entries of an hls4ml activation table (softmax exp/inv, sigmoid, tanh): one BRAM_18K each. */
export const TABLE_BRAM18K = 1;
/** Bits of one BRAM_18K. */
export const BRAM18K_BITS = 18 * 1024;

/** The fitted constants as one record (what `estimate` uses unless told otherwise). */
export interface ModelConstants {
  readonly layerOverheadCycles: number;
  readonly multiplierNs: number;
  readonly adderLevelNs: number;
  readonly reluCycles: number;
  readonly softmaxCycles: number;
  readonly dspShare: number;
}

export const FITTED_CONSTANTS: ModelConstants = {
  layerOverheadCycles: LAYER_OVERHEAD_CYCLES, multiplierNs: MULTIPLIER_NS, adderLevelNs: ADDER_LEVEL_NS,
  reluCycles: RELU_CYCLES, softmaxCycles: SOFTMAX_CYCLES, dspShare: DSP_SHARE,
};
/** Operand narrower than this (bits) → the product goes to LUTs (our rule; Vivado's varies). */
export const DSP_MIN_OPERAND_BITS = 10;
/** DSP48E2 multiplier port widths (UltraScale: 27 x 18 signed). */
export const DSP_PORT_A_BITS = 27;
export const DSP_PORT_B_BITS = 18;
/** DSP48 post-adder / accumulator width. */
export const DSP_ACCUM_BITS = 48;
/** Allowed-value lists in error messages are cut after this many entries. */
export const ALLOWED_LISTED_MAX = 24;

const DEFAULTS = { clockMhz: 200, weightBits: 16, dataBits: 16, accumBits: 32, reusePerLayer: {}, constants: FITTED_CONSTANTS } as const;

interface Resolved {
  readonly strategy: Strategy;
  readonly reuse: number;
  readonly clockMhz: number;
  readonly weightBits: number;
  readonly dataBits: number;
  readonly accumBits: number;
  readonly reusePerLayer: Readonly<Record<string, number>>;
  readonly constants: ModelConstants;
}

/**
 * DSP slices per product of an `a`-bit by `b`-bit multiply: 0 when either operand is narrower
 * than `DSP_MIN_OPERAND_BITS` (mapped to LUTs), else ceil(wide/27) * ceil(narrow/18) tiles of
 * the 27x18 DSP48E2 (16x16 → 1, 32x32 → 4). Ignores HLS packing two narrow products in a DSP.
 */
export function dspPerProduct(a: number, b: number): number {
  const narrow = Math.min(a, b);
  const wide = Math.max(a, b);
  if (narrow < DSP_MIN_OPERAND_BITS) return 0;
  return Math.ceil(wide / DSP_PORT_A_BITS) * Math.ceil(narrow / DSP_PORT_B_BITS);
}

/** ceil(log2(n)) for n >= 1: depth of a balanced binary adder/compare tree over n terms. */
export function treeDepth(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/**
 * Cycles of a combinational chain, an optional multiplier then `levels` adder-tree levels, at
 * the target clock: HLS schedules by estimated delay and chains what fits in one period, so a
 * 5 ns clock takes a 16-input tree in one cycle and a 25 ns clock a whole layer.
 */
export function chainCycles(levels: number, withMultiplier: boolean, o: Pick<Resolved, 'clockMhz' | 'constants'>): number {
  const ns = (withMultiplier ? o.constants.multiplierNs : 0) + levels * o.constants.adderLevelNs;
  return Math.ceil(ns / (1000 / o.clockMhz) - 1e-9);
}

/** Nonzero weights of a multiply-accumulate layer: a product by a constant zero is dropped by
 * HLS when the weights are constants (latency strategy; hls4ml's `n_zeros`). */
function nonzeroWeights(layer: MacLayer): number {
  let n = 0;
  for (const w of layer.weights) if (w !== 0) n++;
  return n;
}

/** Products a MAC layer multiplies per frame step under `o`'s strategy (zeros dropped only
 * under the latency strategy, whose weights are constants in the logic). */
function liveProducts(layer: MacLayer, o: Resolved): number {
  return o.strategy === 'latency' ? nonzeroWeights(layer) : macCount(layer);
}

/** Divisors of n in increasing order. */
export function divisors(n: number): number[] {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    lo.push(d);
    if (d * d !== n) hi.unshift(n / d);
  }
  return [...lo, ...hi];
}

function listValues(values: number[]): string {
  if (values.length <= ALLOWED_LISTED_MAX) return values.join(', ');
  return `${values.slice(0, ALLOWED_LISTED_MAX).join(', ')}, … (${values.length} in all, up to ${values[values.length - 1]})`;
}

/** Multiplies per frame-step that a reuse factor shares: dense n_in*n_out, conv c_in*k*c_out,
 * depthwise conv c*k (one filter per channel). */
function macCount(layer: MacLayer): number {
  if (layer.kind === 'dense') return layer.nIn * layer.nOut;
  if (layer.kind === 'dwconv2d') return layer.channels * shapeSize(layer.kernel);
  return layer.cIn * layer.cOut * shapeSize(layer.kernel);
}

/**
 * Reuse factors allowed for every multiply-accumulate layer of `ir`: the common divisors of
 * their multiply counts (n_in*n_out for dense, c_in*c_out*prod(kernel) for conv, c*prod(kernel)
 * for depthwise conv).
 */
export function allowedReuse(ir: Ir): number[] {
  const macs = ir.layers.filter(isMac).map(macCount);
  if (macs.length === 0) return [1];
  let g = macs[0]!;
  for (const m of macs) g = gcd(g, m);
  return divisors(g);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function isMac(layer: Layer): layer is MacLayer {
  return isMacLayer(layer);
}

function resolve(options: EstimateOptions): Resolved {
  const r: Resolved = { ...DEFAULTS, ...stripUndefined(options) } as Resolved;
  if (r.strategy !== 'latency' && r.strategy !== 'resource') {
    throw new ConfigError('estimate.strategy', `got ${String(r.strategy)}; use 'latency' or 'resource'`);
  }
  if (!Number.isInteger(r.reuse) || r.reuse < 1) {
    throw new ConfigError('estimate.reuse', `got ${r.reuse}; the reuse factor is an integer >= 1`);
  }
  if (!Number.isFinite(r.clockMhz) || r.clockMhz <= 0) {
    throw new ConfigError('estimate.clockMhz', `got ${r.clockMhz}; use a clock in MHz > 0`);
  }
  for (const [name, reuse] of Object.entries(r.reusePerLayer)) {
    if (!Number.isInteger(reuse) || reuse < 1) throw new ConfigError(`estimate.reusePerLayer.${name}`, `got ${reuse}; the reuse factor is an integer >= 1`);
  }
  for (const key of ['weightBits', 'dataBits', 'accumBits'] as const) {
    const bits = r[key];
    if (!Number.isInteger(bits) || bits < 1 || bits > 64) {
      throw new ConfigError(`estimate.${key}`, `got ${bits}; ap_fixed widths are integers in [1, 64]`);
    }
  }
  return r;
}

function stripUndefined(o: EstimateOptions): Partial<Resolved> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<Resolved>;
}

/** ConfigError unless `reuse` divides the layer's multiply count (as the dense templates assert). */
function checkReuse(layer: MacLayer, reuse: number, ir: Ir): void {
  const macs = macCount(layer);
  if (macs % reuse === 0) return;
  throw new ConfigError(
    `${ir.source}: layer ${layer.name}`,
    `reuse factor ${reuse} does not divide the layer's ${macs} multiplies; allowed for this layer: ` +
      `${listValues(divisors(macs))}; allowed for every layer of the model: ${listValues(allowedReuse(ir))}`,
  );
}

/**
 * Dense layer.
 * - latency strategy (all unrolled, function pipelined at II = R; the weights are constants,
 *   so a zero weight costs no multiplier): with nz nonzero weights, m = ceil(nz/R) multipliers;
 *   cycles = R - 1 (the shared multipliers' extra issue slots) + chainCycles(ceil(log2(nz /
 *   n_out)), multiplier) (the multiply and the adder tree over an output's terms, chained at the
 *   clock) + overhead; II = R.
 * - resource strategy (reuse loop of R iterations at II = 1, weights in BRAM so zeros are kept,
 *   m = n_in*n_out/R multipliers): each iteration adds t = ceil(m / n_out) terms per
 *   accumulator, so cycles = R + 1 (multiplier) + chainCycles(ceil(log2(t + 1))) + overhead;
 *   II = R (`rewind` lets the next frame start as the loop ends).
 */
function estimateDense(layer: DenseLayer, o: Resolved): LayerEstimate {
  const live = liveProducts(layer, o);
  const mults = Math.ceil(live / o.reuse);
  const dspEach = dspPerProduct(o.dataBits, o.weightBits);
  const notes: string[] = [];
  const overhead = o.constants.layerOverheadCycles;
  let cycles: number;
  if (o.strategy === 'latency') {
    cycles = o.reuse - 1 + chainCycles(treeDepth(Math.ceil(live / layer.nOut)), true, o) + overhead;
  } else {
    const termsPerAcc = Math.ceil(mults / layer.nOut);
    cycles = o.reuse + MULT_STAGE_CYCLES + chainCycles(treeDepth(termsPerAcc + 1), false, o) + overhead;
  }
  if (live < macCount(layer)) notes.push(`${macCount(layer) - live} zero weights: no multiplier`);
  if (dspEach === 0) notes.push(`${o.dataBits}x${o.weightBits}-bit products in LUTs`);
  if (o.accumBits > DSP_ACCUM_BITS) notes.push(`accumulator ${o.accumBits} bits > ${DSP_ACCUM_BITS}: adds in fabric`);
  return {
    name: layer.name, kind: layer.kind, cycles, ii: o.reuse,
    multipliers: mults * dspEach, lutMultipliers: dspEach === 0 ? mults : 0,
    weightBits: (layer.nIn * layer.nOut + layer.nOut) * o.weightBits, notes,
  };
}

/**
 * Conv (direct form, `conv_1d`/`conv_2d`): the output-pixel loop is pipelined at II = R with
 * every filter, channel and kernel tap unrolled inside, so m = ceil(nz/R) multipliers (nz:
 * nonzero weights under the latency strategy, all c_in*k*c_out under resource) and, with P
 * output pixels, cycles = P*R + chainCycles(ceil(log2(c_in*k)), multiplier) + overhead; layer II = P*R (the loop must finish before the next frame). One template for both
 * strategies. Padded taps are still counted (the template skips them with a condition, HLS
 * keeps the multiplier). Depthwise conv (`depthwise_conv_2d`) is the same loop with one filter
 * per channel: m = c*k/R, and each output's adder tree is over its channel's k taps only.
 */
function estimateConv(layer: ConvLayer | DepthwiseConvLayer, o: Resolved): LayerEstimate {
  const taps = layer.kind === 'dwconv2d' ? shapeSize(layer.kernel) : layer.cIn * shapeSize(layer.kernel);
  const pixels = shapeSize(layer.outputShape.slice(1));
  const mults = Math.ceil(liveProducts(layer, o) / o.reuse);
  const dspEach = dspPerProduct(o.dataBits, o.weightBits);
  const notes = [`${pixels} output pixels at II ${o.reuse}`];
  if (o.strategy === 'resource') notes.push('no conv resource template: modelled as the direct form');
  if (dspEach === 0) notes.push(`${o.dataBits}x${o.weightBits}-bit products in LUTs`);
  return {
    name: layer.name, kind: layer.kind,
    cycles: pixels * o.reuse + chainCycles(treeDepth(taps), true, o) + o.constants.layerOverheadCycles,
    ii: pixels * o.reuse,
    multipliers: mults * dspEach, lutMultipliers: dspEach === 0 ? mults : 0,
    weightBits: (macCount(layer) + macOutputs(layer)) * o.weightBits, notes,
  };
}

/**
 * Pools (`max_pool_2d`, `avg_pool_2d`): the channel x output-pixel loop nest is pipelined at
 * II = R (HLS flattens it), the window unrolled: with N = c * out_pixels iterations,
 * cycles = N*R + chainCycles(ceil(log2(window)), average pools' 1/count multiply) + overhead
 * (one shared DSP for the average's scale); layer II = N*R. We model the loop the
 * template has, not a fully unrolled pool (which would be ~1 cycle but c*out_pixels comparators).
 * Global average pool: the channel loop at II = R, the pixel sum unrolled.
 */
function estimatePool(layer: PoolLayer | GlobalAvgPoolLayer, o: Resolved): LayerEstimate {
  const inShape = layer.inputShapes[0]!;
  const global = layer.kind === 'globalavgpool';
  const window = global ? shapeSize(inShape.slice(1)) : shapeSize((layer as PoolLayer).kernel);
  const iterations = global ? inShape[0]! : shapeSize(layer.outputShape);
  const avg = layer.kind !== 'maxpool1d' && layer.kind !== 'maxpool2d';
  const notes: string[] = [];
  if (!global && (layer as PoolLayer).pads.some((p) => p !== 0)) notes.push('padded pool: no template yet');
  if (layer.kind === 'maxpool1d' || layer.kind === 'avgpool1d') notes.push('1-D pool: no template yet');
  return {
    name: layer.name, kind: layer.kind,
    cycles: iterations * o.reuse + chainCycles(treeDepth(window), avg, o) + o.constants.layerOverheadCycles,
    ii: iterations * o.reuse,
    multipliers: avg ? 1 : 0, lutMultipliers: 0, weightBits: 0, notes,
  };
}

/**
 * Elementwise and bookkeeping layers, II = R (the templates pipeline at reuse_factor):
 * - relu: one compare/select, RELU_CYCLES (fitted);
 * - leakyrelu, batchnorm: n_elem/R multiplies (data x alpha or scale) + 1 add (batchnorm),
 *   chained, + overhead cycles;
 * - sigmoid, tanh: one table lookup, 1 + overhead cycles (tables in `bram18k`);
 * - softmax: exp table, sum tree, inverse table, multiply: SOFTMAX_CYCLES (fitted) +
 *   chainCycles(ceil(log2 n)) + overhead cycles, n/R multipliers (no template yet: hls4ml's);
 * - add: 1 cycle; reshape, transpose: wiring, 0 cycles, II 1.
 */
function estimateElementwise(layer: Layer, o: Resolved): LayerEstimate {
  const n = shapeSize(layer.outputShape);
  const dspEach = dspPerProduct(o.dataBits, o.weightBits);
  const base = { name: layer.name, kind: layer.kind, ii: o.reuse, multipliers: 0, lutMultipliers: 0, weightBits: 0 };
  const shared = (count: number) => ({
    multipliers: Math.ceil(count / o.reuse) * dspEach, lutMultipliers: dspEach === 0 ? Math.ceil(count / o.reuse) : 0,
  });
  switch (layer.kind) {
    case 'reshape':
    case 'transpose':
      return { ...base, cycles: 0, ii: 1, notes: ['wiring only'] };
    case 'relu':
      return { ...base, cycles: o.constants.reluCycles, notes: [] };
    case 'quant':
      return { ...base, cycles: 1, notes: [] };
    case 'add':
      return { ...base, cycles: 1, notes: ['no template yet'] };
    case 'leakyrelu':
      return { ...base, ...shared(n), cycles: chainCycles(0, true, o) + o.constants.layerOverheadCycles, notes: [] };
    case 'batchnorm':
      return { ...base, ...shared(n), cycles: chainCycles(1, true, o) + o.constants.layerOverheadCycles,
        weightBits: 2 * layer.scale.length * o.weightBits, notes: ['no template yet'] };
    case 'sigmoid':
    case 'tanh':
    case 'elu':
    case 'selu':
    case 'softplus':
    case 'hardsigmoid':
      return { ...base, cycles: 1 + o.constants.layerOverheadCycles, notes: ['lookup table; table not counted'] };
    case 'softmax':
      return { ...base, ...shared(n), cycles: o.constants.softmaxCycles + chainCycles(treeDepth(n), false, o) + o.constants.layerOverheadCycles,
        notes: ['exp/inverse tables as hls4ml, no template yet'] };
    default:
      throw new Error(`estimateElementwise: unexpected kind ${layer.kind}`);
  }
}

/**
 * Estimates cycles, II, DSPs and weight storage of every layer of `ir` and of the network
 * (latency = sum of layer cycles, II = max layer II, DSP and storage summed).
 * Throws `ConfigError` for a bad option, or naming the layer and the allowed values when
 * `reuse` does not divide a dense or conv layer's multiply count. Does not modify `ir`.
 */
export function estimate(ir: Ir, options: EstimateOptions): NetworkEstimate {
  const o = resolve(options);
  const layers: LayerEstimate[] = [];
  let bram18k = 0;
  for (const layer of ir.layers) {
    const lo = { ...o, reuse: o.reusePerLayer[layer.name] ?? o.reuse };
    if (isMac(layer)) checkReuse(layer, lo.reuse, ir);
    const l = estimateLayer(layer, lo);
    layers.push(l);
    bram18k += layerBram18k(l, shapeSize(layer.outputShape), lo);
  }
  let latencyCycles = 0;
  let ii = 1;
  let multipliers = 0;
  let weightStorageBits = 0;
  for (const l of layers) {
    latencyCycles += l.cycles;
    ii = Math.max(ii, l.ii);
    multipliers += l.multipliers;
    weightStorageBits += l.weightBits;
  }
  const dsp = Math.round(multipliers * o.constants.dspShare);
  // The fitted chain delays let a layer whose outputs have one term chain into its neighbours
  // (0 cycles); the network's registered output still costs one.
  latencyCycles = Math.max(1, latencyCycles);
  return { layers, latencyCycles, latencyUs: latencyCycles / o.clockMhz, ii, dsp, bram18k, weightStorageBits };
}

/**
 * BRAM_18K of one layer: hls4ml's activation tables (1,024 entries of 18 bits, one BRAM_18K)
 * with one copy per two parallel reads (a BRAM has two ports): softmax ceil(n/2) exp tables and
 * one inverse table, sigmoid/tanh ceil(n/2); under the resource strategy the weights of a
 * dense or conv layer, ceil(bits / 18 Kib). Everything else sits in registers (io_parallel).
 */
function layerBram18k(l: LayerEstimate, n: number, o: Resolved): number {
  const copies = Math.ceil(n / o.reuse / 2) * TABLE_BRAM18K;
  if (l.kind === 'softmax') return copies + TABLE_BRAM18K;
  if (l.kind === 'sigmoid' || l.kind === 'tanh') return copies;
  if (o.strategy === 'resource' && l.weightBits > 0 && l.multipliers + l.lutMultipliers > 0) return Math.ceil(l.weightBits / BRAM18K_BITS);
  return 0;
}

/**
 * One layer's estimate with its own options (the io plan gives each layer its reuse factor and
 * dense strategy). Throws as `estimate` does for bad options or a reuse factor that does not
 * divide the layer's multiplies (`ir` only names the model in that message).
 */
export function estimateOne(ir: Ir, layer: Layer, options: EstimateOptions): LayerEstimate {
  const o = resolve(options);
  if (isMac(layer)) checkReuse(layer, o.reuse, ir);
  return estimateLayer(layer, o);
}

function estimateLayer(layer: Layer, o: Resolved): LayerEstimate {
  switch (layer.kind) {
    case 'dense':
      return estimateDense(layer, o);
    case 'conv1d':
    case 'conv2d':
      return estimateConv(layer, o);
    case 'dwconv2d':
      return estimateConv(layer, o);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'globalavgpool':
      return estimatePool(layer, o);
    default:
      return estimateElementwise(layer, o);
  }
}

