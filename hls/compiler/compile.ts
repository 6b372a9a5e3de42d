import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createRng } from '../../host/src/core/rng.js';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { libraryPath, writeBridge } from './bridge.js';
import { buildIr } from './build-ir.js';
import { calibrateRanges, runIr } from './interpret.js';
import { shapeSize, type Ir } from './ir.js';
import { estimate } from './latency.js';
import { choosePlan, uniformPlan, type ChosenPlan } from './io-plan.js';
import { TASK_LATENCY_TARGET_US, type IoPlan } from './latency-stream.js';
import { IO_PLAN_PART } from './parts.js';
import { parseOnnx, withSymbolicBatch } from './onnx-reader.js';
import { parseFixedType, precisionFromRanges, printFixedType, resolvePrecision, type CalibrationOptions, type PrecisionConfig, type PrecisionSpec } from './precision.js';
import { partFit, type PartFit } from './parts.js';
import { QONNX_DOMAINS } from './qonnx.js';
import { withModelTypes } from './qonnx-precision.js';
import { registerMap, writeRegisterMap } from './regmap.js';
import { writeBlockDesign } from './block-design.js';
import { writeDeviceTop } from './device-top.js';
import { profileModel, type TensorProfile } from './profile.js';
import { stripTrailingSoftmax, writeProject, writeTbInputs } from './writer.js';
import { isPixelSpec, planPreprocess, withPreprocessLatency, type FirmwarePreprocess } from './preprocess.js';

/**
 * Inputs to check and calibrate with: a model's held-out data, or seeded random ones. The
 * check takes the first `check` inputs; `--precision auto` calibrates on `calibration`, else
 * on the inputs after the check's, so it never calibrates on what it is checked on.
 */
export interface CheckData {
  /** Where they come from, e.g. `cells-bccd test+val split` or `seeded N(0,1)`. */
  readonly source: string;
  readonly inputs: readonly Float32Array[];
  /** Calibration inputs for `auto`, disjoint from the check's (default: `inputs` after the check's). */
  readonly calibration?: readonly Float32Array[];
}

/** Inputs `--precision auto` calibrates on (and random check data adds beyond the check's). */
export const CALIBRATION_INPUTS = 256;
/** Fewer calibration inputs than this and `auto` refuses to run (ranges would be guesses). */
export const CALIBRATION_INPUTS_MIN = 32;

export interface CompileOptions {
  model: string;
  out: string;
  name: string;
  /** `default` (ap_fixed<16,6>, accumulators <32,12>), `auto` (calibrated), one type for
   * everything, or a precision spec (a model card's `precision`: per-layer overrides). */
  precision: string | PrecisionSpec;
  /** With `precision: 'auto'`: how the calibrated types are chosen (rounding, exact accumulators). */
  calibration?: CalibrationOptions;
  /** One-output models: the decision threshold on the output (default 0.5 after a sigmoid, else 0). */
  threshold?: number;
  strategy: 'latency' | 'resource';
  reuse: number;
  clockMhz: number;
  /** Latency target (µs at clockMhz): the compiler then chooses the io type and per-layer
   * parallelism (io-plan.ts). Default: the task's (`TASK_LATENCY_TARGET_US`), else none: io_parallel
   * at `reuse` and `strategy` for every layer. */
  latencyTargetUs?: number;
  /** The model's task (a card's `task`), for its default latency target. */
  task?: string;
  /** Part whose resources bound the plan (default `IO_PLAN_PART`, the Alveo U50's); without a target the writer's default. */
  part?: string;
  /** Inputs to run through float ONNX and the C simulation (0: no check). */
  check: number;
  seed: number;
  /** Check, calibration and profile inputs; default: seeded N(0,1) (standardised inputs). */
  data?: CheckData | null;
  /** Build the simulator library lib<name>.so (`make lib` in the project). */
  lib?: boolean;
  /** Profile per-layer ranges against the types on the check inputs (or 256 of the data). */
  profile?: boolean;
  /** The model card's `preprocessing`: a uint8 image spec makes the firmware take pixels
   * (preprocessing as its first stage, preprocess.ts); anything else is left to the host. */
  preprocessing?: unknown;
  /** Called after each check input is compared (the CLI draws a progress bar with it). */
  onCheckProgress?: (done: number, total: number) => void;
}

/** A layer's types as model.json records them (absent where the layer has none). */
export interface LayerTypes {
  result?: string;
  weight?: string;
  bias?: string;
  accum?: string;
}

/** The parts of the project's model.json that compile reads back. */
interface ModelJson {
  part: string;
  input: { type: string };
  output: { type: string };
  layers: (LayerTypes & { name: string })[];
}

export interface CheckResult {
  n: number;
  /** What the inputs were. */
  data: string;
  /** Share of inputs on which fixed point and float decide the same: top-1 with several
   * outputs, `output > threshold` with one (an argmax of one value always agrees). */
  agreement: number;
  /** Which decision `agreement` counts. */
  decision: 'top1' | 'threshold';
  /** Top-1 agreement; null for a one-output model. */
  agreementTop1: number | null;
  /** The threshold of a one-output model's decision; null otherwise. */
  threshold: number | null;
  /** Values outside their type, per tensor with any (float64 interpretation of the model on
   * the check inputs): a layer's output under its name, where a saturating type clips or a
   * wrapping one wraps; weights and biases as `<layer>.weight`, `<layer>.bias`. */
  overflows: Record<string, number>;
  /** Max |float ONNX - C simulation| over every output (probabilities when the model ends in softmax). */
  maxAbsError: number;
  /** Max |float ONNX logit - C simulation logit| (the same as maxAbsError without a trailing softmax). */
  maxAbsLogitError: number;
}

export interface CompileResult {
  dir: string;
  nIn: number;
  nOut: number;
  /** The compiled library when `lib` was set. */
  library: string | null;
  modelSha256: string;
  /** `auto`, or the model default's result type plus the layers a spec overrides
   * (`ap_fixed<16,6,AP_TRN,AP_SAT> (overridden: dense_2, dense_3)`); `types` has them all. */
  precision: string;
  /** The types actually used: the input's and each layer's (as model.json records them). */
  types: { input: string; layers: Record<string, LayerTypes> };
  postprocess: 'softmax' | null;
  fpga: { latencyCycles: number; latencyUs: number; ii: number; clockMhz: number; dsp: number; weightStorageBits: number } & Partial<PlanSummary>;
  /** The design against the target part's resources (null for a part this compiler does not know). */
  fit: PartFit | null;
  /** What the user should know: a design that does not fit its part, layers that overflow on the check. */
  warnings: string[];
  check: CheckResult | null;
  profile: TensorProfile[] | null;
  /** The pixel stage when the firmware takes uint8 frames: constants' fractional bits and the
   * pixel values (of 256 per channel) whose input differs from the host's float path. */
  pixels: { fracBits: number; mismatches: number } | null;
}

/** Seeded N(0,1) inputs: the range of standardised model inputs. */
export function randomInputs(n: number, size: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.normal()));
}

function precisionSpec(ir: Ir, precision: string | PrecisionSpec, calibration: readonly Float32Array[], options: CalibrationOptions = {}): PrecisionSpec {
  if (typeof precision !== 'string') return precision;
  if (precision === 'default') return {};
  if (precision === 'auto') {
    if (calibration.length < CALIBRATION_INPUTS_MIN) {
      throw new ConfigError('--precision auto', `${calibration.length} calibration inputs beyond the check's; need at least ${CALIBRATION_INPUTS_MIN} (give more data or a smaller --check)`);
    }
    return precisionFromRanges(ir, calibrateRanges(ir, calibration), options);
  }
  if (/^ap_fixed<.*>$/.test(precision)) return { default: { weight: precision, bias: precision, result: precision } };
  throw new ConfigError('--precision', `"${precision}": use default, auto, or a type such as ap_fixed<16,6>`);
}

/** `auto`, or the default result type, then what a spec changes: default weight and bias types, overridden layers. */
function precisionLabel(precision: string | PrecisionSpec, config: PrecisionConfig): string {
  if (precision === 'auto') return 'auto';
  const builtIn = resolvePrecision({}).default;
  const notes = (['weight', 'bias'] as const).filter((k) => printFixedType(config.default[k]) !== printFixedType(builtIn[k]) && printFixedType(config.default[k]) !== printFixedType(config.default.result))
    .map((k) => `${k === 'bias' ? 'biases' : 'weights'} ${printFixedType(config.default[k])}`);
  const overridden = [...config.layers.keys()];
  if (overridden.length > 0) notes.push(`overridden: ${overridden.join(', ')}`);
  return printFixedType(config.default.result) + (notes.length > 0 ? ` (${notes.join('; ')})` : '');
}

/** Runs `make -s -C dir target`, turning a failure into a ModelError with the compiler's output. */
function make(dir: string, target: string): void {
  try {
    execFileSync('make', ['-s', '-C', dir, target], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    const text = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-12).join('\n');
    throw new ModelError(`${dir} (make ${target})`, `the simulator build failed:\n${text}`);
  }
}

/**
 * `hairtrigger compile`: ONNX -> IR -> firmware project under `out` (with the simulator
 * bridge and Makefile), the latency model and its fit on the target part, optionally the
 * simulator library; with `check > 0`, builds the C testbench with g++ and compares it to
 * float ONNX (onnxruntime) on `check` inputs (see `CheckResult`; the firmware stops at the
 * logits; for a model ending in softmax the check applies softmax to them, as the host does).
 */
export async function compileModel(o: CompileOptions): Promise<CompileResult> {
  const bytes = readFileSync(o.model);
  const modelSha256 = createHash('sha256').update(bytes).digest('hex');
  const graph = parseOnnx(bytes, o.model);
  const fullIr = buildIr(graph);
  const { ir, stripped } = stripTrailingSoftmax(fullIr);
  // onnxruntime cannot run QONNX quantisers: the interpreter (qonnx.ts semantics) is the reference.
  const reference = graph.nodes.some((n) => QONNX_DOMAINS.has(n.domain)) ? fullIr : null;
  const postprocess = stripped ? 'softmax' as const : null;
  const nIn = shapeSize(ir.inputShape);
  const data: CheckData = o.data ?? { source: `seeded N(0,1) (seed ${o.seed})`, inputs: randomInputs(Math.max(o.check, 256) + CALIBRATION_INPUTS, nIn, o.seed) };
  const bad = [...data.inputs, ...(data.calibration ?? [])].find((x) => x.length !== nIn);
  if (bad !== undefined) throw new ConfigError('check data', `${data.source}: an input has ${bad.length} values; the model needs ${nIn}`);
  const calibration = data.calibration ?? data.inputs.slice(Math.max(o.check, 0)).slice(0, CALIBRATION_INPUTS);
  const precision = resolvePrecision(withModelTypes(ir, precisionSpec(ir, o.precision, calibration, o.calibration)));
  const pixels: FirmwarePreprocess | undefined = isPixelSpec(o.preprocessing) ? planPreprocess(o.preprocessing, precision.input, `${o.model}: preprocessing`) : undefined;
  const targetUs = o.latencyTargetUs ?? (o.task === undefined ? undefined : TASK_LATENCY_TARGET_US[o.task]);
  const chosen = targetUs === undefined ? null
    : choosePlan(ir, { targetUs, part: o.part ?? IO_PLAN_PART, clockMhz: o.clockMhz, strategy: o.strategy, reuse: o.reuse });
  const plan = chosen?.plan ?? uniformPlan(ir, o.strategy, o.reuse);
  const summary = writeProject(ir, precision, o.out, { name: o.name, strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz, postprocess, plan, part: chosen?.part ?? o.part, pixels });
  const bare = chosen?.estimate ?? estimate(ir, { strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz });
  const est = pixels === undefined ? bare : withPreprocessLatency(bare, o.clockMhz);
  const fpga = { latencyCycles: est.latencyCycles, latencyUs: est.latencyUs, ii: est.ii, clockMhz: o.clockMhz, dsp: est.dsp, weightStorageBits: est.weightStorageBits,
    ...(chosen === null ? {} : planSummary(chosen)) };
  writeBridge(summary.dir, precision, { name: o.name, modelSha256, latencyCycles: est.latencyCycles, ii: est.ii, clockMhz: o.clockMhz, postprocess });
  const model = JSON.parse(readFileSync(join(summary.dir, 'model.json'), 'utf8')) as ModelJson;
  const regmap = registerMap({
    name: o.name, nIn, nOut: summary.nOut, inTypeText: model.input.type, outTypeText: model.output.type,
    inType: parseFixedType(model.input.type, 'model.json input.type'), outType: parseFixedType(model.output.type, 'model.json output.type'),
    clockMhz: o.clockMhz, latencyCycles: est.latencyCycles, ii: est.ii, modelSha256,
    // Firmware that preprocesses takes the camera's bytes: the device's input window holds them.
    ...(pixels === undefined ? {} : { pixels: { nPx: pixels.frame[0] * pixels.frame[1] * pixels.frame[2] } }),
  });
  writeRegisterMap(summary.dir, regmap);
  writeDeviceTop(summary.dir, regmap, o.clockMhz, model.part);
  writeBlockDesign(summary.dir, regmap, model.part);
  let library: string | null = null;
  if (o.lib === true) {
    make(summary.dir, 'lib');
    library = libraryPath(summary.dir, o.name);
  }
  const profile = o.profile === true ? profileModel(ir, precision, data.inputs.slice(0, Math.max(o.check, 256))) : null;
  const fit = partFit(model.part, est);
  const warnings = fit !== null && !fit.fits ? [fit.message] : [];
  if (pixels !== undefined && pixels.mismatches > 0) warnings.push(`preprocessing: ${pixels.mismatches} pixel values give another input than the host's float path (no exact constants found)`);
  const types = { input: model.input.type, layers: Object.fromEntries(model.layers.map((l) => [l.name, { result: l.result, weight: l.weight, bias: l.bias, accum: l.accum }])) };
  const base = { dir: summary.dir, nIn, nOut: summary.nOut, library, modelSha256, precision: precisionLabel(o.precision, precision), types, postprocess, fpga, fit, warnings, profile,
    pixels: pixels === undefined ? null : { fracBits: pixels.fracBits, mismatches: pixels.mismatches } };
  if (o.check <= 0) return { ...base, check: null };
  if (data.inputs.length < o.check) throw new ConfigError('--check', `${o.check} inputs asked; ${data.source} has ${data.inputs.length}`);
  const xs = data.inputs.slice(0, o.check);
  writeTbInputs(summary.dir, xs, nIn);
  make(summary.dir, 'csim');
  const fixed = readFileSync(join(summary.dir, 'tb_data', 'csim_results.log'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const threshold = summary.nOut === 1 ? o.threshold ?? (ir.layers.find((l) => l.name === ir.output)?.kind === 'sigmoid' ? 0.5 : 0) : null;
  const check = await runCheck(reference ?? bytes, ir.inputShape, xs, fixed, stripped, threshold, data.source, o.onCheckProgress);
  check.overflows = overflowsByLayer(profile ?? profileModel(ir, precision, xs));
  for (const [tensor, n] of Object.entries(check.overflows)) warnings.push(`${tensor}: ${n} values outside its type on the check inputs (--profile shows the ranges)`);
  return { ...base, check };
}

/** What the io plan chose, for the model card and the compile output. */
export interface PlanSummary {
  io: IoPlan['io'];
  targetUs: number;
  part: string;
  bram18k: number;
  /** Per layer: its reuse factor, `strategy: 'resource'` where a dense layer uses it, and pixels
   * per word in and out when streamed (`input`: the input adapter's words). */
  layers: Record<string, { reuse: number; strategy?: string; pixelsIn?: number; pixelsOut?: number }>;
}

function planSummary(c: ChosenPlan): PlanSummary {
  const layers: PlanSummary['layers'] = {};
  if (c.plan.io === 'stream') layers['input'] = { reuse: 1, pixelsOut: c.plan.inputPixels };
  for (const [name, l] of Object.entries(c.plan.layers)) layers[name] = { reuse: l.reuse, ...(l.strategy === 'resource' ? { strategy: l.strategy } : {}) };
  for (const s of c.plan.stream) layers[s.name] = { ...layers[s.name]!, pixelsIn: s.pixelsIn, pixelsOut: s.pixelsOut };
  return { io: c.plan.io, targetUs: c.targetUs, part: c.part, bram18k: c.estimate.bram18k, layers };
}

/** One line: the io type, target and part, BRAM, and each streamed layer's parallelism. */
export function formatPlan(f: Partial<PlanSummary>): string {
  if (f.io === undefined) return '';
  const parts = Object.entries(f.layers ?? {}).filter(([, l]) => l.pixelsOut !== undefined || l.reuse > 1)
    .map(([n, l]) => `${n}${l.pixelsOut === undefined ? '' : l.pixelsIn === undefined ? ` ${l.pixelsOut}px` : ` ${l.pixelsIn}->${l.pixelsOut}px`}${l.reuse > 1 ? ` R${l.reuse}` : ''}`);
  return `io_${f.io} for ${f.targetUs} us on ${f.part}: ${f.bram18k} BRAM_18K; ${parts.join(', ')}`;
}

/** Tensors with values outside their type: a layer's output by its name, weights and biases as `<layer>.weight`, `<layer>.bias`. */
function overflowsByLayer(rows: readonly TensorProfile[]): Record<string, number> {
  return Object.fromEntries(rows.filter((r) => r.overflows > 0).map((r) => [r.tensor === 'output' ? r.layer : `${r.layer}.${r.tensor}`, r.overflows]));
}

/** Float ONNX (onnxruntime; for a QONNX model the IR interpreter) against the C simulation's outputs `fixed`, sample by sample. */
async function runCheck(model: Uint8Array | Ir, inputShape: readonly number[], xs: readonly Float32Array[], fixed: number[][],
  stripped: boolean, threshold: number | null, source: string, onProgress?: (done: number, total: number) => void): Promise<CheckResult> {
  const run = await referenceRunner(model, inputShape);
  let agree = 0;
  let maxAbsError = 0;
  let maxAbsLogitError = 0;
  for (let i = 0; i < xs.length; i++) {
    const ref = await run.run(xs[i]!);
    // A model ending in softmax outputs probabilities; the firmware stops at the logits.
    const got = stripped ? softmax(fixed[i]!) : fixed[i]!;
    for (let k = 0; k < ref.length; k++) maxAbsError = Math.max(maxAbsError, Math.abs(ref[k]! - got[k]!));
    if (stripped) {
      const logits = Float64Array.from(ref, (p) => Math.log(p));
      const shift = mean(logits) - mean(fixed[i]!);
      for (let k = 0; k < ref.length; k++) maxAbsLogitError = Math.max(maxAbsLogitError, Math.abs(logits[k]! - shift - fixed[i]![k]!));
    }
    const same = threshold === null ? argmax(ref) === argmax(got) : (ref[0]! > threshold) === (got[0]! > threshold);
    if (same) agree++;
    onProgress?.(i + 1, xs.length);
  }
  await run.release();
  const agreement = agree / xs.length;
  return { n: xs.length, data: source, agreement, decision: threshold === null ? 'top1' : 'threshold', agreementTop1: threshold === null ? agreement : null,
    threshold, overflows: {}, maxAbsError, maxAbsLogitError: stripped ? maxAbsLogitError : maxAbsError };
}

/** One sample at a time through onnxruntime (ONNX bytes) or the interpreter (an IR). */
async function referenceRunner(model: Uint8Array | Ir, inputShape: readonly number[]): Promise<{ run: (x: Float32Array) => Promise<Float32Array>; release: () => Promise<void> }> {
  if (!(model instanceof Uint8Array)) return { run: async (x) => runIr(model, x), release: async () => {} };
  // A model exported with a fixed batch (three_layer_pytorch: 789444) runs one sample at a time.
  const session = await ort.InferenceSession.create(withSymbolicBatch(model), { logSeverityLevel: 3 });
  const inputDims = [1, ...inputShape];
  return {
    run: async (x) => (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, inputDims) }))[session.outputNames[0]!]!.data as Float32Array,
    release: () => session.release(),
  };
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k]! > v[best]!) best = k;
  return best;
}
