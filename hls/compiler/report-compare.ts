/**
 * The latency and resource model against published synthesis reports: each design of
 * `PUBLISHED_DESIGNS` is compiled through the real compiler (ONNX bytes -> parseOnnx ->
 * buildIr) and estimated with the report's settings, and the modelled latency, II, DSP and
 * BRAM_18K are set beside the reported ones. Used by the fit (fit-latency.ts), its test
 * (report-compare.test.ts) and the docs table.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { readHlsReport, type HlsReport } from './hls-report.js';
import type { Ir, Layer } from './ir.js';
import { estimate, FITTED_CONSTANTS, type ModelConstants, type NetworkEstimate } from './latency.js';
import { estimatePlan, FITTED_STREAM_CONSTANTS, streamablePrefix, type IoPlan, type StreamConstants } from './latency-stream.js';
import { parseOnnx } from './onnx-reader.js';
import { designOnnx, HLS_REPORTS_DIR, PUBLISHED_DESIGNS, type PublishedDesign } from './published-designs.js';

/** The compared figures: latency and interval in cycles, resources in DSP48 and BRAM_18K. */
export const COMPARED = ['latency', 'ii', 'dsp', 'bram18k'] as const;
export type Compared = (typeof COMPARED)[number];

export interface DesignComparison {
  readonly design: PublishedDesign;
  readonly report: HlsReport;
  /** null when the model refuses the design's settings (`refused` says why). */
  readonly model: Readonly<Record<Compared, number>> | null;
  readonly refused?: string;
  /** (model - report) / max(report, 1) per figure; null where `model` is null. */
  readonly error: Readonly<Record<Compared, number>> | null;
  /** Whether the latency and II are modelled for this design: io_parallel, and io_stream with a
   * streamed conv chain (a dense-only io_stream design is not). */
  readonly latencyModelled: boolean;
}

/** Signed relative error; a report of 0 counts as 1 so that 0 vs 0 is exact and 3 vs 0 is 300 %. */
export function relError(model: number, report: number): number {
  return (model - report) / Math.max(report, 1);
}

/**
 * The reuse factor hls4ml's schedule ends up with for `multiplies` per step at reuse `reuse`:
 * it allots DIV_ROUNDUP(multiplies, reuse) multipliers (parameters.h's `multiplier_limit`), so
 * a step takes ceil(multiplies / that) cycles: `reuse` itself when it divides `multiplies`,
 * else the divisor below it that those multipliers allow (MNIST_R16's first conv: 36 at R 16,
 * 3 multipliers, 12 cycles; its report has the conv at 10,194 cycles for 784 pixels, 13 each).
 */
export function hls4mlEffectiveReuse(multiplies: number, reuse: number): number {
  return Math.ceil(multiplies / Math.ceil(multiplies / reuse));
}

/**
 * The io plan closest to what hls4ml built for an io_stream design: one pixel a word
 * everywhere (hls4ml's io_stream conv reads and writes one pixel per iteration), every
 * multiply-accumulate layer at the reuse factor hls4ml's schedule makes of the design's
 * (`hls4mlEffectiveReuse`), the other layers at the design's. Null when the design has no
 * streamed conv chain (a dense-only io_stream design).
 */
export function hls4mlStreamPlan(ir: Ir, d: PublishedDesign): IoPlan | null {
  const prefix = streamablePrefix(ir);
  if (prefix.length === 0) return null;
  const reuseOf = (l: Layer): number => {
    const r = d.reusePerLayer?.[l.name] ?? d.reuse;
    if (l.kind === 'conv2d') return hls4mlEffectiveReuse(l.inputShapes[0]![0]! * l.kernel[0]! * l.kernel[1]! * l.cOut, r);
    return l.kind === 'dense' ? hls4mlEffectiveReuse(l.nIn * l.nOut, r) : r;
  };
  return {
    io: 'stream', inputPixels: 1,
    stream: prefix.map((l) => ({ name: l.name, kind: l.kind as 'conv2d', pixelsIn: 1, pixelsOut: 1, reuse: l.kind === 'conv2d' ? reuseOf(l) : 1 })),
    layers: Object.fromEntries(ir.layers.map((l) => [l.name, { reuse: reuseOf(l), strategy: d.strategy }])),
  };
}

/** Vivado HLS put an hls4ml io_stream FIFO at least this deep (words) in block RAM: in every
 * report its 36-deep and deeper FIFOs take one BRAM_18K each, its 16-deep ones none (no report
 * has a depth in between). */
export const HLS4ML_FIFO_BRAM_DEPTH_MIN = 32;
/** Geometry of a FIFO's BRAM_18K (1,024 words of 18 bits). */
const FIFO_BRAM_DEPTH = 1024;
const FIFO_BRAM_WIDTH_BITS = 18;

/**
 * BRAM_18K of hls4ml's io_stream FIFOs, which our writer does not build (its streams are
 * shallow): hls4ml 2020 gives every streamed layer's output one FIFO per channel, as deep as
 * the layer's output pixels (the `#pragma HLS STREAM depth` of its myproject.cpp; the reports'
 * FIFO tables list exactly these).
 */
export function hls4mlFifoBram18k(ir: Ir, plan: IoPlan, dataBits: number): number {
  let blocks = 0;
  for (const p of plan.stream) {
    const [c, h, w] = ir.layers.find((l) => l.name === p.name)!.outputShape as [number, number, number];
    if (h * w < HLS4ML_FIFO_BRAM_DEPTH_MIN) continue;
    blocks += c * Math.ceil((h * w) / FIFO_BRAM_DEPTH) * Math.ceil(dataBits / FIFO_BRAM_WIDTH_BITS);
  }
  return blocks;
}

/**
 * The model's estimate for `d`: io_stream designs with a streamed conv chain use the streaming
 * model (`estimatePlan` under `hls4mlStreamPlan`), everything else `estimate()` (a dense-only
 * io_stream design's latency is then marked not modelled).
 */
export function estimateDesign(ir: Ir, d: PublishedDesign, clockMhz: number, constants: ModelConstants,
  stream: StreamConstants = FITTED_STREAM_CONSTANTS): NetworkEstimate {
  const plan = d.io === 'stream' ? hls4mlStreamPlan(ir, d) : null;
  if (plan !== null) {
    const e = estimatePlan(ir, plan, clockMhz, { weightBits: d.weightBits, dataBits: d.dataBits, constants, stream });
    // estimatePlan's dsp counts every DSP-eligible multiplier (the io plan sizes a part with that
    // bound); against a report, expect the fitted share of them on DSPs, as estimate() does.
    return { ...e, dsp: Math.round(e.dsp * constants.dspShare), bram18k: e.bram18k + hls4mlFifoBram18k(ir, plan, d.dataBits) };
  }
  return estimate(ir, {
    strategy: d.strategy, reuse: d.reuse, reusePerLayer: d.reusePerLayer ?? {}, clockMhz,
    weightBits: d.weightBits, dataBits: d.dataBits, constants,
  });
}

/** The IR of every design that has a network (memoised: building it parses ONNX). */
const irCache = new Map<string, Ir>();
function designIr(d: PublishedDesign): Ir {
  let ir = irCache.get(d.id);
  if (ir === undefined) {
    ir = buildIr(parseOnnx(designOnnx(d), d.id));
    irCache.set(d.id, ir);
  }
  return ir;
}

/** Compares one design under `constants` (default: the fitted ones). */
export function compareDesign(d: PublishedDesign, constants: ModelConstants = FITTED_CONSTANTS,
  stream: StreamConstants = FITTED_STREAM_CONSTANTS): DesignComparison {
  const report = readHlsReport(resolve(HLS_REPORTS_DIR, d.report));
  const latencyModelled = d.io === 'parallel' || (d.layers !== null && d.layers.some((l) => l.op === 'conv'));
  if (d.layers === null && d.onnx === undefined) return { design: d, report, model: null, error: null, refused: d.note ?? 'no network', latencyModelled };
  let est: NetworkEstimate;
  try {
    est = estimateDesign(designIr(d), d, 1000 / report.clockTargetNs, constants, stream);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // only a refused setting is a result; anything else is a bug
    return { design: d, report, model: null, error: null, refused: err.message, latencyModelled };
  }
  const model = { latency: est.latencyCycles, ii: est.ii, dsp: est.dsp, bram18k: est.bram18k };
  const reported = { latency: report.latencyMax, ii: report.intervalMax, dsp: report.dsp, bram18k: report.bram18k };
  const error = Object.fromEntries(COMPARED.map((k) => [k, relError(model[k], reported[k])])) as Record<Compared, number>;
  return { design: d, report, model, error, latencyModelled };
}

/** Every design compared under `constants`. */
export function compareAll(constants: ModelConstants = FITTED_CONSTANTS, stream: StreamConstants = FITTED_STREAM_CONSTANTS): DesignComparison[] {
  return PUBLISHED_DESIGNS.map((d) => compareDesign(d, constants, stream));
}

/** Median and maximum of |error| of `figure` over `rows` (those with a model, and for latency/II
 * only those whose io type is modelled). */
export function errorSummary(rows: readonly DesignComparison[], figure: Compared): { n: number; median: number; max: number } {
  const errs = rows
    .filter((r) => r.error !== null && (r.latencyModelled || figure === 'dsp' || figure === 'bram18k'))
    .map((r) => Math.abs(r.error![figure]))
    .sort((a, b) => a - b);
  if (errs.length === 0) return { n: 0, median: 0, max: 0 };
  const mid = errs.length >> 1;
  const median = errs.length % 2 ? errs[mid]! : (errs[mid - 1]! + errs[mid]!) / 2;
  return { n: errs.length, median, max: errs[errs.length - 1]! };
}
