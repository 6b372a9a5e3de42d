import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createRng } from '../../host/src/core/rng.js';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { libraryPath, writeBridge } from './bridge.js';
import { buildIr } from './build-ir.js';
import { calibrateRanges } from './interpret.js';
import { shapeSize, type Ir } from './ir.js';
import { estimate } from './latency.js';
import { parseOnnx, withSymbolicBatch } from './onnx-reader.js';
import { parseFixedType, precisionFromRanges, printFixedType, resolvePrecision, type PrecisionSpec } from './precision.js';
import { registerMap, writeRegisterMap } from './regmap.js';
import { profileModel, type TensorProfile } from './profile.js';
import { stripTrailingSoftmax, writeProject, writeTbInputs } from './writer.js';

/** Inputs to check and calibrate with: a model's held-out data, or seeded random ones. */
export interface CheckData {
  /** Where they come from, e.g. `cells-bccd test+val split` or `seeded N(0,1)`. */
  readonly source: string;
  readonly inputs: readonly Float32Array[];
}

export interface CompileOptions {
  model: string;
  out: string;
  name: string;
  /** `default` (ap_fixed<16,6>, accumulators <32,12>), `auto` (calibrated), or one type for everything. */
  precision: string;
  strategy: 'latency' | 'resource';
  reuse: number;
  clockMhz: number;
  /** Inputs to run through float ONNX and the C simulation (0: no check). */
  check: number;
  seed: number;
  /** Check, calibration and profile inputs; default: seeded N(0,1) (standardised inputs). */
  data?: CheckData | null;
  /** Build the simulator library lib<name>.so (`make lib` in the project). */
  lib?: boolean;
  /** Profile per-layer ranges against the types on the check inputs (or 256 of the data). */
  profile?: boolean;
  /** Called after each check input is compared (the CLI draws a progress bar with it). */
  onCheckProgress?: (done: number, total: number) => void;
}

export interface CheckResult {
  n: number;
  /** What the inputs were. */
  data: string;
  agreementTop1: number;
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
  precision: string;
  postprocess: 'softmax' | null;
  fpga: { latencyCycles: number; latencyUs: number; ii: number; clockMhz: number; dsp: number; weightStorageBits: number };
  check: CheckResult | null;
  profile: TensorProfile[] | null;
}

/** Seeded N(0,1) inputs: the range of standardised model inputs. */
export function randomInputs(n: number, size: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.normal()));
}

function precisionSpec(ir: Ir, precision: string, calibration: readonly Float32Array[]): PrecisionSpec {
  if (precision === 'default') return {};
  if (precision === 'auto') return precisionFromRanges(ir, calibrateRanges(ir, calibration));
  if (/^ap_fixed<.*>$/.test(precision)) return { default: { weight: precision, bias: precision, result: precision } };
  throw new ConfigError('--precision', `"${precision}": use default, auto, or a type such as ap_fixed<16,6>`);
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
 * bridge and Makefile), the latency model, optionally the simulator library; with
 * `check > 0`, builds the C testbench with g++ and compares it to float ONNX (onnxruntime) on
 * `check` inputs: top-1 agreement and max |error| on the model's own output (the firmware
 * stops at the logits; for a model ending in softmax the check applies softmax to them, as the
 * host does).
 */
export async function compileModel(o: CompileOptions): Promise<CompileResult> {
  const bytes = readFileSync(o.model);
  const modelSha256 = createHash('sha256').update(bytes).digest('hex');
  const full = buildIr(parseOnnx(bytes, o.model));
  const { ir, stripped } = stripTrailingSoftmax(full);
  const postprocess = stripped ? 'softmax' as const : null;
  const nIn = shapeSize(ir.inputShape);
  const data: CheckData = o.data ?? { source: `seeded N(0,1) (seed ${o.seed})`, inputs: randomInputs(Math.max(o.check, 256), nIn, o.seed) };
  const bad = data.inputs.find((x) => x.length !== nIn);
  if (bad !== undefined) throw new ConfigError('check data', `${data.source}: an input has ${bad.length} values; the model needs ${nIn}`);
  const precision = resolvePrecision(precisionSpec(ir, o.precision, data.inputs.slice(0, 256)));
  const summary = writeProject(ir, precision, o.out, { name: o.name, strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz, postprocess });
  const est = estimate(ir, { strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz });
  const fpga = { latencyCycles: est.latencyCycles, latencyUs: est.latencyUs, ii: est.ii, clockMhz: o.clockMhz, dsp: est.dsp, weightStorageBits: est.weightStorageBits };
  writeBridge(summary.dir, precision, { name: o.name, modelSha256, latencyCycles: est.latencyCycles, ii: est.ii, clockMhz: o.clockMhz, postprocess });
  const model = JSON.parse(readFileSync(join(summary.dir, 'model.json'), 'utf8')) as { input: { type: string }; output: { type: string } };
  writeRegisterMap(summary.dir, registerMap({
    name: o.name, nIn, nOut: summary.nOut, inTypeText: model.input.type, outTypeText: model.output.type,
    inType: parseFixedType(model.input.type, 'model.json input.type'), outType: parseFixedType(model.output.type, 'model.json output.type'),
    clockMhz: o.clockMhz, latencyCycles: est.latencyCycles, ii: est.ii, modelSha256,
  }));
  let library: string | null = null;
  if (o.lib === true) {
    make(summary.dir, 'lib');
    library = libraryPath(summary.dir, o.name);
  }
  const profile = o.profile === true ? profileModel(ir, precision, data.inputs.slice(0, Math.max(o.check, 256))) : null;
  const base = { dir: summary.dir, nIn, nOut: summary.nOut, library, modelSha256, precision: printFixedType(precision.default.result), postprocess, fpga, profile };
  if (o.check <= 0) return { ...base, check: null };
  if (data.inputs.length < o.check) throw new ConfigError('--check', `${o.check} inputs asked; ${data.source} has ${data.inputs.length}`);
  const xs = data.inputs.slice(0, o.check);
  writeTbInputs(summary.dir, xs, nIn);
  make(summary.dir, 'csim');
  const fixed = readFileSync(join(summary.dir, 'tb_data', 'csim_results.log'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  // A model exported with a fixed batch (three_layer_pytorch: 789444) runs one sample at a time.
  const session = await ort.InferenceSession.create(withSymbolicBatch(bytes), { logSeverityLevel: 3 });
  const inputDims = [1, ...ir.inputShape];
  let agree = 0;
  let maxAbsError = 0;
  let maxAbsLogitError = 0;
  for (let i = 0; i < xs.length; i++) {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', xs[i]!, inputDims) });
    const ref = out[session.outputNames[0]!]!.data as Float32Array;
    // A model ending in softmax outputs probabilities; the firmware stops at the logits.
    const got = stripped ? softmax(fixed[i]!) : fixed[i]!;
    for (let k = 0; k < ref.length; k++) maxAbsError = Math.max(maxAbsError, Math.abs(ref[k]! - got[k]!));
    if (stripped) {
      const logits = Float64Array.from(ref, (p) => Math.log(p));
      const shift = mean(logits) - mean(fixed[i]!);
      for (let k = 0; k < ref.length; k++) maxAbsLogitError = Math.max(maxAbsLogitError, Math.abs(logits[k]! - shift - fixed[i]![k]!));
    }
    if (argmax(ref) === argmax(got)) agree++;
    o.onCheckProgress?.(i + 1, xs.length);
  }
  await session.release();
  return { ...base, check: { n: xs.length, data: data.source, agreementTop1: agree / xs.length, maxAbsError, maxAbsLogitError: stripped ? maxAbsLogitError : maxAbsError } };
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
