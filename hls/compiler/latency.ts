/**
 * Latency and resource model of the compiled network: a first-order estimate of clock cycles,
 * initiation interval (II), DSP count and weight storage per IR layer, from the loop structure
 * of the `hls/nnet` templates (see `hls/nnet/README.md` and `docs/latency-model.md`).
 *
 * It is a model, not a synthesis report: it ignores routing, the clock the design actually
 * closes at, HLS's operator chaining (several adds in one cycle at 200 MHz), LUT/FF counts,
 * BRAM mapping and pruned (zero) weights. Every formula is stated on the function that
 * applies it, and the constants are named below.
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
  readonly dsp: number;
  readonly weightStorageBits: number;
}

/** Input register + output cast/register that every computing layer pays (cycles). */
export const LAYER_OVERHEAD_CYCLES = 2;
/** One registered multiplier stage (DSP48 with its M register). */
export const MULT_STAGE_CYCLES = 1;
/** Operand narrower than this (bits) → the product goes to LUTs (our rule; Vivado's varies). */
export const DSP_MIN_OPERAND_BITS = 10;
/** DSP48E2 multiplier port widths (UltraScale: 27 x 18 signed). */
export const DSP_PORT_A_BITS = 27;
export const DSP_PORT_B_BITS = 18;
/** DSP48 post-adder / accumulator width. */
export const DSP_ACCUM_BITS = 48;
/** Allowed-value lists in error messages are cut after this many entries. */
export const ALLOWED_LISTED_MAX = 24;

const DEFAULTS = { clockMhz: 200, weightBits: 16, dataBits: 16, accumBits: 32 } as const;

interface Resolved {
  readonly strategy: Strategy;
  readonly reuse: number;
  readonly clockMhz: number;
  readonly weightBits: number;
  readonly dataBits: number;
  readonly accumBits: number;
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
 * - latency strategy (all unrolled, function pipelined at II = R): multipliers
 *   m = n_in*n_out/R; cycles = R + ceil(log2 n_in) + overhead (R: the shared multipliers'
 *   issue slots, the last one registered; the adder tree over n_in terms; input register and
 *   output cast); II = R.
 * - resource strategy (reuse loop of R iterations at II = 1, m = n_in*n_out/R multipliers):
 *   each iteration adds t = ceil(m / n_out) terms per accumulator, so
 *   cycles = R + 1 (multiplier) + ceil(log2(t + 1)) (tree of the terms and the accumulator) +
 *   overhead; II = R (`rewind` lets the next frame start as the loop ends).
 */
function estimateDense(layer: DenseLayer, o: Resolved): LayerEstimate {
  const mults = (layer.nIn * layer.nOut) / o.reuse;
  const dspEach = dspPerProduct(o.dataBits, o.weightBits);
  const notes: string[] = [];
  let cycles: number;
  if (o.strategy === 'latency') {
    cycles = o.reuse + treeDepth(layer.nIn) + LAYER_OVERHEAD_CYCLES;
  } else {
    const termsPerAcc = Math.ceil(mults / layer.nOut);
    cycles = o.reuse + MULT_STAGE_CYCLES + treeDepth(termsPerAcc + 1) + LAYER_OVERHEAD_CYCLES;
  }
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
 * every filter, channel and kernel tap unrolled inside, so m = c_in*k*c_out/R multipliers and,
 * with P output pixels, cycles = P*R + 1 (multiplier) + ceil(log2(c_in*k)) (adder tree) +
 * overhead; layer II = P*R (the loop must finish before the next frame). One template for both
 * strategies. Padded taps are still counted (the template skips them with a condition, HLS
 * keeps the multiplier). Depthwise conv (`depthwise_conv_2d`) is the same loop with one filter
 * per channel: m = c*k/R, and each output's adder tree is over its channel's k taps only.
 */
function estimateConv(layer: ConvLayer | DepthwiseConvLayer, o: Resolved): LayerEstimate {
  const taps = layer.kind === 'dwconv2d' ? shapeSize(layer.kernel) : layer.cIn * shapeSize(layer.kernel);
  const pixels = shapeSize(layer.outputShape.slice(1));
  const mults = macCount(layer) / o.reuse;
  const dspEach = dspPerProduct(o.dataBits, o.weightBits);
  const notes = [`${pixels} output pixels at II ${o.reuse}`];
  if (o.strategy === 'resource') notes.push('no conv resource template: modelled as the direct form');
  if (dspEach === 0) notes.push(`${o.dataBits}x${o.weightBits}-bit products in LUTs`);
  return {
    name: layer.name, kind: layer.kind,
    cycles: pixels * o.reuse + MULT_STAGE_CYCLES + treeDepth(taps) + LAYER_OVERHEAD_CYCLES,
    ii: pixels * o.reuse,
    multipliers: mults * dspEach, lutMultipliers: dspEach === 0 ? mults : 0,
    weightBits: (macCount(layer) + macOutputs(layer)) * o.weightBits, notes,
  };
}

/**
 * Pools (`max_pool_2d`, `avg_pool_2d`): the channel x output-pixel loop nest is pipelined at
 * II = R (HLS flattens it), the window unrolled: with N = c * out_pixels iterations,
 * cycles = N*R + ceil(log2(window)) (compare/add tree) + overhead, plus one multiplier stage
 * for average pools (the 1/count scale, one shared DSP); layer II = N*R. We model the loop the
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
    cycles: iterations * o.reuse + treeDepth(window) + (avg ? MULT_STAGE_CYCLES : 0) + LAYER_OVERHEAD_CYCLES,
    ii: iterations * o.reuse,
    multipliers: avg ? 1 : 0, lutMultipliers: 0, weightBits: 0, notes,
  };
}

/**
 * Elementwise and bookkeeping layers, II = R (the templates pipeline at reuse_factor):
 * - relu: one compare/select, 1 cycle, no overhead (the cast folds into the next layer);
 * - leakyrelu, batchnorm: n_elem/R multiplies (data x alpha or scale) + 1 add,
 *   1 + overhead cycles;
 * - sigmoid, tanh: one table lookup, 1 + overhead cycles (tables not counted in storage);
 * - softmax: exp table, sum tree, inverse table, multiply:
 *   3 + ceil(log2 n) + overhead cycles, n/R multipliers (no template yet: hls4ml's design);
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
    case 'quant':
      return { ...base, cycles: 1, notes: [] };
    case 'add':
      return { ...base, cycles: 1, notes: ['no template yet'] };
    case 'leakyrelu':
      return { ...base, ...shared(n), cycles: MULT_STAGE_CYCLES + LAYER_OVERHEAD_CYCLES, notes: [] };
    case 'batchnorm':
      return { ...base, ...shared(n), cycles: MULT_STAGE_CYCLES + 1 + LAYER_OVERHEAD_CYCLES,
        weightBits: 2 * layer.scale.length * o.weightBits, notes: ['no template yet'] };
    case 'sigmoid':
    case 'tanh':
    case 'elu':
    case 'selu':
    case 'softplus':
    case 'hardsigmoid':
      return { ...base, cycles: 1 + LAYER_OVERHEAD_CYCLES, notes: ['lookup table, no template yet; table not counted'] };
    case 'softmax':
      return { ...base, ...shared(n), cycles: 3 + treeDepth(n) + LAYER_OVERHEAD_CYCLES,
        notes: ['exp/inverse tables as hls4ml, no template yet; tables not counted'] };
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
  for (const layer of ir.layers) {
    if (isMac(layer)) checkReuse(layer, o.reuse, ir);
    layers.push(estimateLayer(layer, o));
  }
  let latencyCycles = 0;
  let ii = 1;
  let dsp = 0;
  let weightStorageBits = 0;
  for (const l of layers) {
    latencyCycles += l.cycles;
    ii = Math.max(ii, l.ii);
    dsp += l.multipliers;
    weightStorageBits += l.weightBits;
  }
  return { layers, latencyCycles, latencyUs: latencyCycles / o.clockMhz, ii, dsp, weightStorageBits };
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

