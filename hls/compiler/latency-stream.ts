/**
 * The io_stream latency and resource model, and the io plan: which io type (io_parallel or
 * io_stream) and which per-layer parallelism the compiler writes, against a latency target
 * and a named part's resources (docs/latency-model.md, "io_stream").
 *
 * A streamed model is a chain of dataflow stages from the input: the input adapter
 * (`array_to_stream`), conv2d, relu and pool stages (nnet_conv2d_stream.h,
 * nnet_pooling_stream.h, nnet_stream.h), then `stream_to_array` into the io_parallel layers
 * that follow (a dense head). Each stage is one pipelined loop of `iterations` at
 * II = reuse, so every formula below comes from that loop and the stage's unrolled body.
 * The stage depths take their constants from `FITTED_STREAM_CONSTANTS` (fit-latency.ts fits them
 * to the io_stream reports) unless `estimatePlan` is given others.
 */
import type { ConvLayer, Ir, Layer, PoolLayer } from './ir.js';
import { IR_INPUT, shapeSize } from './ir.js';
import {
  dspPerProduct, estimateOne, FITTED_CONSTANTS, MULT_STAGE_CYCLES, treeDepth,
  type LayerEstimate, type ModelConstants, type NetworkEstimate, type Strategy,
} from './latency.js';

/** FITTED (fit-latency.ts, io_stream reports). Cycles a word spends in a stage that only moves
 * or compares it (adapters, relu). */
export const STREAM_REGISTER_CYCLES = 0;
/** FITTED (fit-latency.ts, io_stream reports). Cycles every window stage (conv, pool) adds to
 * its pipeline depth beyond its datapath: the shift of the window and the line-buffer read. */
export const WINDOW_STAGE_CYCLES = 0;
/** A memory at least this deep (words) goes to block RAM; shallower ones to LUTRAM / SRL shift
 * registers (Vivado's default mapping is of this order). */
export const BRAM_DEPTH_MIN = 128;

/** The streaming model's fitted constants as one record (only the fit varies them). */
export interface StreamConstants {
  readonly registerCycles: number;
  readonly windowStageCycles: number;
}
export const FITTED_STREAM_CONSTANTS: StreamConstants = { registerCycles: STREAM_REGISTER_CYCLES, windowStageCycles: WINDOW_STAGE_CYCLES };

/** What `estimatePlan` takes beyond the plan: operand widths and the model's constants
 * (default: 16-bit, the fitted constants). The comparison with reports sets them. */
export interface PlanModelOptions {
  readonly weightBits: number;
  readonly dataBits: number;
  readonly constants: ModelConstants;
  readonly stream: StreamConstants;
}
const PLAN_DEFAULTS: PlanModelOptions = { weightBits: 16, dataBits: 16, constants: FITTED_CONSTANTS, stream: FITTED_STREAM_CONSTANTS };
/** BRAM_18K geometry used for counting: 512 words of 36 bits (or 1024 x 18, the same bits). */
export const BRAM18K_WIDTH_BITS = 36;
export const BRAM18K_DEPTH = 512;
/** Latency targets (µs, at the model's clock) by model task, when `--latency-target-us` is not
 * given. The published cell sorter infers in 14.5 µs (issue 14): the lymphocyte student aims
 * for half of it, the BCCD student for 10 µs. */
export const TASK_LATENCY_TARGET_US: Readonly<Record<string, number>> = { 'cells-lymphocyte': 7.25, 'cells-bccd': 10 };

/** One streamed layer's parallelism: pixels per word in and out, and the II per word. */
export interface StreamLayerPlan {
  readonly name: string;
  readonly kind: 'conv2d' | 'relu' | 'maxpool2d' | 'avgpool2d';
  readonly pixelsIn: number;
  readonly pixelsOut: number;
  readonly reuse: number;
}

export interface IoPlan {
  readonly io: 'parallel' | 'stream';
  /** Pixels per word of the input adapter (1 for io_parallel). */
  readonly inputPixels: number;
  /** The streamed chain from the input, in order; empty for io_parallel. */
  readonly stream: readonly StreamLayerPlan[];
  /** Every layer's reuse factor and dense strategy. */
  readonly layers: Readonly<Record<string, { readonly reuse: number; readonly strategy: Strategy }>>;
}

export interface StageEstimate extends LayerEstimate {
  /** Loop iterations per frame (words, or padded positions / pixels for a window stage). */
  readonly iterations: number;
  /** Iterations before the first output, and after the last input word. */
  readonly fillIterations: number;
  readonly trailIterations: number;
  /** Words written per frame (one iteration writes at most one). */
  readonly outputWords: number;
  /** Pipeline depth of one iteration (cycles). */
  readonly depth: number;
  readonly bram18k: number;
  /** Line-buffer bits (window stages). */
  readonly lineBufferBits: number;
}

export interface PlanEstimate extends NetworkEstimate {
  readonly io: 'parallel' | 'stream';
  readonly bram18k: number;
  /** The streamed stages (empty for io_parallel) and the io_parallel layers after them. */
  readonly stages: readonly StageEstimate[];
}

/** BRAM_18K blocks of a memory `depth` words deep and `widthBits` wide (0: LUTRAM / SRL). */
export function bram18kFor(depth: number, widthBits: number): number {
  if (depth < BRAM_DEPTH_MIN) return 0;
  return Math.ceil(widthBits / BRAM18K_WIDTH_BITS) * Math.ceil(depth / BRAM18K_DEPTH);
}

/** The layers `window_stream` and relu_stream can take, as a chain from the input: conv2d
 * (any pads; > 1 pixel a word only without left/right pads), relu, max and average 2-D pools
 * without pads. Stops at the first other layer or a layer not fed by the one before. */
export function streamablePrefix(ir: Ir): Layer[] {
  const out: Layer[] = [];
  let prev = IR_INPUT;
  for (const l of ir.layers) {
    if (l.inputs.length !== 1 || l.inputs[0] !== prev || !streamable(l)) break;
    out.push(l);
    prev = l.name;
  }
  return out.some((l) => l.kind === 'conv2d') ? out : [];
}

function streamable(l: Layer): boolean {
  if (l.kind === 'conv2d' || l.kind === 'relu') return l.inputShapes[0]!.length === 3;
  if (l.kind === 'maxpool2d' || l.kind === 'avgpool2d') return (l as PoolLayer).pads.every((p) => p === 0);
  return false;
}

interface Geometry {
  c: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number;
  pt: number; pb: number; pl: number; pr: number; outW: number;
}

/** Nonzero weights of a conv (hls4ml's n_zeros counts the others). */
function liveWeights(l: ConvLayer): number {
  let n = 0;
  for (const w of l.weights) if (w !== 0) n++;
  return n;
}

function geometry(l: ConvLayer | PoolLayer): Geometry {
  const [c, h, w] = l.inputShapes[0]! as [number, number, number];
  return { c, h, w, kh: l.kernel[0]!, kw: l.kernel[1]!, sh: l.strides[0]!, sw: l.strides[1]!,
    pt: l.pads[0]!, pl: l.pads[1]!, pb: l.pads[2]!, pr: l.pads[3]!, outW: l.outputShape[2]! };
}

/**
 * A window stage (window_stream): the padded raster walked P pixels per iteration at
 * II = R: iterations = PH*PW/P; the first window completes at padded position
 * ((K_h-1), (K_w-1)), so fill = ceil(((K_h-1)*PW + K_w) / P); trail = the positions after the
 * last real pixel (bottom and right pads) / P. Line buffer: (K_h-1) rows of PW/P words of
 * C*P values. A conv's body is n_filt filters x C*K taps per pixel, unrolled over P pixels and
 * shared R ways: m = C*K*F*P/R multipliers, depth = multiplier + adder tree over C*K + overhead.
 * A max pool compares (tree over the window), an average pool adds and scales (one
 * multiplier per channel and output pixel).
 */
function windowStage(l: ConvLayer | PoolLayer, p: StreamLayerPlan, wd: PlanModelOptions, strategy: Strategy): StageEstimate {
  const g = geometry(l);
  const ph = g.h + g.pt + g.pb;
  const pw = g.w + g.pl + g.pr;
  const P = p.pixelsIn;
  const k = g.kh * g.kw;
  const iterations = (ph * pw) / P;
  const lastReal = (g.pt + g.h - 1) * pw + g.pl + g.w - 1;
  const rowWords = pw / P;
  const lineBufferBits = (g.kh - 1) * pw * g.c * wd.dataBits;
  const bram18k = (g.kh - 1) * bram18kFor(rowWords, g.c * P * wd.dataBits);
  const dspEach = dspPerProduct(wd.dataBits, wd.weightBits);
  let products = 0;
  const overhead = wd.constants.layerOverheadCycles + wd.stream.windowStageCycles;
  let depth = treeDepth(k) + overhead;
  let weightBits = 0;
  if (l.kind === 'conv2d') {
    // hls4ml's n_zeros: a product by a constant zero is dropped under the latency strategy
    products = ((strategy === 'latency' ? liveWeights(l) : g.c * k * l.cOut) * P) / p.reuse;
    depth = MULT_STAGE_CYCLES + treeDepth(g.c * k) + overhead;
    weightBits = (g.c * k * l.cOut + l.cOut) * wd.weightBits;
  } else if (l.kind === 'avgpool2d') {
    products = g.c * p.pixelsOut;
    depth += MULT_STAGE_CYCLES;
  }
  return {
    name: l.name, kind: l.kind, cycles: 0, ii: iterations * p.reuse,
    multipliers: Math.ceil(products) * dspEach, lutMultipliers: dspEach === 0 ? Math.ceil(products) : 0,
    weightBits, notes: [`${P} pixel(s) a word in, ${p.pixelsOut} out, II ${p.reuse}`],
    iterations, fillIterations: Math.ceil(((g.kh - 1) * pw + g.kw) / P),
    trailIterations: Math.floor((ph * pw - 1 - lastReal) / P), depth,
    outputWords: (l.outputShape[1]! * l.outputShape[2]!) / p.pixelsOut, bram18k, lineBufferBits,
  };
}

/** A stage that moves one word per iteration: relu, the adapters (iterations = words). */
function wordStage(name: string, kind: Layer['kind'], words: number, reuse: number, fillAll: boolean, k: StreamConstants): StageEstimate {
  return {
    name, kind, cycles: 0, ii: words * reuse, multipliers: 0, lutMultipliers: 0, weightBits: 0, notes: [],
    iterations: words, fillIterations: fillAll ? words : 1, trailIterations: 0, outputWords: words,
    depth: k.registerCycles, bram18k: 0, lineBufferBits: 0,
  };
}

/**
 * Dataflow timing of a chain of stages. Stage L starts when its first input word exists
 * (the previous stage's first output, `first`); its input words arrive one per
 * period = Teff / words, where Teff is the slowest stage so far (iterations x II); so
 *   first_L  = first_{L-1} + fill_L * max(R_L, period) + depth_L
 *   finish_L = max(finish_{L-1} + trail_L * R_L, first_{L-1} + iterations_L * R_L) + depth_L
 * (it ends after its last input plus its trailing positions, and no sooner than its own
 * iterations allow), Teff_L = max(Teff_{L-1}, iterations_L * R_L). The fill estimate assumes
 * input words arrive evenly; after a pool they come in bursts of rows, so first_L is also
 * bounded by finish_L - (words_L - 1) * R_L (a stage's outputs leave at least R_L apart, so its
 * first leaves no later than that; the bound keeps first_L conservative). Returns the last finish
 * and Teff (the interval of the streamed part), and each stage with `cycles` = its finish
 * minus the previous one's (so the sum is the latency).
 */
export function chainTiming(stages: readonly StageEstimate[], reuses: readonly number[]): { finish: number; teff: number; stages: StageEstimate[] } {
  let first = 0;
  let finish = 0;
  let teff = 0;
  const out: StageEstimate[] = [];
  stages.forEach((s, i) => {
    const r = reuses[i]!;
    const period = teff === 0 ? 1 : teff / s.iterations;
    const nextFinish = Math.max(finish + s.trailIterations * r, first + s.iterations * r) + s.depth;
    const nextFirst = Math.min(first + Math.ceil(s.fillIterations * Math.max(r, period)) + s.depth, nextFinish - (s.outputWords - 1) * r);
    out.push({ ...s, cycles: nextFinish - finish });
    first = nextFirst;
    finish = nextFinish;
    teff = Math.max(teff, s.iterations * r);
  });
  return { finish, teff, stages: out };
}

/** The estimate of `ir` under `plan` (io_stream: the chain's timing, then the io_parallel tail),
 * with `model`'s widths and constants (default: 16-bit, the fitted constants). */
export function estimatePlan(ir: Ir, plan: IoPlan, clockMhz: number, model: Partial<PlanModelOptions> = {}): PlanEstimate {
  const m: PlanModelOptions = { ...PLAN_DEFAULTS, ...model };
  const layerOpts = (name: string) => ({ ...(plan.layers[name] ?? { reuse: 1, strategy: 'latency' as Strategy }), clockMhz,
    weightBits: m.weightBits, dataBits: m.dataBits, constants: m.constants });
  if (plan.io === 'parallel') {
    const tail = ir.layers.map((l) => estimateOne(ir, l, layerOpts(l.name)));
    return summarise('parallel', tail.map((l) => asStage(l, m)), tail.reduce((s, l) => s + l.cycles, 0), 1, clockMhz);
  }
  const inShape = ir.inputShape as [number, number, number];
  const stages: StageEstimate[] = [wordStage('input', 'reshape', (inShape[1] * inShape[2]) / plan.inputPixels, 1, false, m.stream)];
  for (const p of plan.stream) {
    const l = ir.layers.find((x) => x.name === p.name)!;
    if (l.kind === 'relu') stages.push(wordStage(l.name, 'relu', shapeSize(l.outputShape.slice(1)) / p.pixelsIn, p.reuse, false, m.stream));
    else stages.push(windowStage(l as ConvLayer | PoolLayer, p, m, layerOpts(l.name).strategy));
  }
  const last = ir.layers.find((x) => x.name === plan.stream[plan.stream.length - 1]!.name)!;
  const lastP = plan.stream[plan.stream.length - 1]!.pixelsOut;
  stages.push(wordStage('stream_to_array', 'reshape', shapeSize(last.outputShape.slice(1)) / lastP, 1, true, m.stream));
  const timing = chainTiming(stages, stages.map((s, i) => (i === 0 || i === stages.length - 1 ? 1 : plan.stream[i - 1]!.reuse)));
  const streamed = new Set(plan.stream.map((p) => p.name));
  const tail = ir.layers.filter((l) => !streamed.has(l.name)).map((l) => estimateOne(ir, l, layerOpts(l.name)));
  const cycles = timing.finish + tail.reduce((s, l) => s + l.cycles, 0);
  return summarise('stream', [...timing.stages, ...tail.map((l) => asStage(l, m))], cycles, timing.teff, clockMhz);
}

function asStage(l: LayerEstimate, wd: PlanModelOptions): StageEstimate {
  const denseBanks = l.kind === 'dense' && l.ii > 1 ? l.multipliers + l.lutMultipliers : 0;
  return { ...l, iterations: 1, fillIterations: 1, trailIterations: 0, outputWords: 1, depth: l.cycles, lineBufferBits: 0,
    bram18k: denseBanks * bram18kFor(l.ii, wd.weightBits) };
}

function summarise(io: 'parallel' | 'stream', stages: StageEstimate[], latencyCycles: number, teff: number, clockMhz: number): PlanEstimate {
  const sum = (f: (s: StageEstimate) => number) => stages.reduce((a, s) => a + f(s), 0);
  return {
    io, layers: stages, stages, latencyCycles, latencyUs: latencyCycles / clockMhz,
    ii: Math.max(teff, ...stages.filter((s) => s.iterations === 1).map((s) => s.ii)),
    dsp: sum((s) => s.multipliers), weightStorageBits: sum((s) => s.weightBits + s.lineBufferBits), bram18k: sum((s) => s.bram18k),
  };
}
