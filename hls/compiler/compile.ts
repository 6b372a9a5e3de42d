import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createRng } from '../../sim/src/rng.js';
import { ConfigError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { calibrateRanges } from './interpret.js';
import { shapeSize, type Ir } from './ir.js';
import { estimate } from './latency.js';
import { readOnnx } from './onnx-reader.js';
import { precisionFromRanges, resolvePrecision, type PrecisionSpec } from './precision.js';
import { stripTrailingSoftmax, writeProject, writeTbInputs } from './writer.js';

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
}

export interface CompileResult {
  dir: string;
  nIn: number;
  nOut: number;
  postprocess: 'softmax' | null;
  fpga: { latencyCycles: number; latencyUs: number; ii: number; clockMhz: number; dsp: number; weightStorageBits: number };
  check: { n: number; agreementTop1: number; maxAbsError: number } | null;
}

/** Seeded N(0,1) inputs: the range of standardised model inputs (all the zoo's students). */
function inputs(n: number, size: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.normal()));
}

function precisionSpec(ir: Ir, precision: string, seed: number): PrecisionSpec {
  if (precision === 'default') return {};
  if (precision === 'auto') return precisionFromRanges(ir, calibrateRanges(ir, inputs(256, shapeSize(ir.inputShape), seed + 1)));
  if (/^ap_fixed<.*>$/.test(precision)) return { default: { weight: precision, bias: precision, result: precision } };
  throw new ConfigError('--precision', `"${precision}": use default, auto, or a type such as ap_fixed<16,6>`);
}

/**
 * `hairtrigger compile`: ONNX -> IR -> firmware project under `out`, with the latency model;
 * with `check > 0`, builds the C testbench with g++ and compares it to float ONNX
 * (onnxruntime) on `check` seeded inputs: top-1 agreement and max |error| on the model's own
 * output (the firmware stops at the logits; for a model ending in softmax the check applies
 * softmax to them, as the host does).
 */
export async function compileModel(o: CompileOptions): Promise<CompileResult> {
  const full = buildIr(readOnnx(o.model));
  const { ir, stripped } = stripTrailingSoftmax(full);
  const precision = resolvePrecision(precisionSpec(ir, o.precision, o.seed));
  const summary = writeProject(ir, precision, o.out, { name: o.name, strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz, postprocess: stripped ? 'softmax' : null });
  const est = estimate(ir, { strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz });
  const fpga = { latencyCycles: est.latencyCycles, latencyUs: est.latencyUs, ii: est.ii, clockMhz: o.clockMhz, dsp: est.dsp, weightStorageBits: est.weightStorageBits };
  if (o.check <= 0) return { dir: summary.dir, nIn: summary.nIn, nOut: summary.nOut, postprocess: stripped ? 'softmax' : null, fpga, check: null };
  const xs = inputs(o.check, summary.nIn, o.seed);
  writeTbInputs(summary.dir, xs, summary.nIn);
  execFileSync('g++', ['-std=c++17', '-O2', '-I', 'firmware', '-I', 'firmware/nnet', '-o', 'tb_bin', `firmware/${o.name}.cpp`, `tb/${o.name}_test.cpp`], { cwd: summary.dir, stdio: 'pipe' });
  execFileSync('./tb_bin', [], { cwd: summary.dir, stdio: 'pipe' });
  const fixed = readFileSync(join(summary.dir, 'tb_data', 'csim_results.log'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const session = await ort.InferenceSession.create(o.model, { logSeverityLevel: 3 });
  const inputDims = [1, ...ir.inputShape];
  let agree = 0;
  let maxAbsError = 0;
  for (let i = 0; i < xs.length; i++) {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', xs[i], inputDims) });
    const ref = out[session.outputNames[0]].data as Float32Array;
    // A model ending in softmax outputs probabilities; the firmware stops at the logits.
    const got = stripped ? softmax(fixed[i]) : fixed[i];
    for (let k = 0; k < ref.length; k++) maxAbsError = Math.max(maxAbsError, Math.abs(ref[k] - got[k]));
    if (argmax(ref) === argmax(got)) agree++;
  }
  await session.release();
  return { dir: summary.dir, nIn: summary.nIn, nOut: summary.nOut, postprocess: stripped ? 'softmax' : null, fpga, check: { n: xs.length, agreementTop1: agree / xs.length, maxAbsError } };
}

function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k] > v[best]) best = k;
  return best;
}
