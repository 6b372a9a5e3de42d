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
import type { Ir } from './ir.js';
import { estimate, FITTED_CONSTANTS, type ModelConstants, type NetworkEstimate } from './latency.js';
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
  /** Whether the latency and II are modelled for this io type (io_stream: not yet). */
  readonly latencyModelled: boolean;
}

/** Signed relative error; a report of 0 counts as 1 so that 0 vs 0 is exact and 3 vs 0 is 300 %. */
export function relError(model: number, report: number): number {
  return (model - report) / Math.max(report, 1);
}

/**
 * The model's estimate for `d`. io_parallel designs use `estimate()`; io_stream designs use
 * it too until the streaming formulas land (h-stream), which is why their latency and II are
 * marked not modelled. A streaming estimate plugs in here, chosen by `d.io`.
 */
export function estimateDesign(ir: Ir, d: PublishedDesign, clockMhz: number, constants: ModelConstants): NetworkEstimate {
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
export function compareDesign(d: PublishedDesign, constants: ModelConstants = FITTED_CONSTANTS): DesignComparison {
  const report = readHlsReport(resolve(HLS_REPORTS_DIR, d.report));
  const latencyModelled = d.io === 'parallel';
  if (d.layers === null && d.onnx === undefined) return { design: d, report, model: null, error: null, refused: d.note ?? 'no network', latencyModelled };
  let est: NetworkEstimate;
  try {
    est = estimateDesign(designIr(d), d, 1000 / report.clockTargetNs, constants);
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
export function compareAll(constants: ModelConstants = FITTED_CONSTANTS): DesignComparison[] {
  return PUBLISHED_DESIGNS.map((d) => compareDesign(d, constants));
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
