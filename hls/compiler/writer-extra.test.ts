/**
 * The writer on the layers added with the table activations, softmax, add, batchnorm,
 * transpose and 1-D / padded pools: write the HLS project, compile its C testbench with g++
 * (the hls/nnet simulator type), run it on 200 seeded N(0,1) inputs and compare with
 * onnxruntime on the float ONNX model.
 *
 * - All six hls4ml examples (../shared/data/models/hls4ml-examples), calibrated precision
 *   (precisionFromRanges on another 200 seeded inputs), trailing softmax on the host as
 *   `hairtrigger compile` does: top-1 agreement >= 0.99 for the classifiers, the same side of
 *   0.5 for two_layer_keras's sigmoid output, and max |error| on the model's own outputs
 *   (probabilities or the sigmoid) <= 0.01; observed <= 0.0036.
 * - three_layer_keras with its softmax compiled on the device (table softmax).
 * - Small hand-built graphs exercising every added template, checked against onnxruntime
 *   with error bounds derived per graph (see each case).
 * - What the writer still refuses, and model.json's record of the new layers' types.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { calibrateRanges } from './interpret.js';
import { shapeSize } from './ir.js';
import type { Ir } from './ir.js';
import { parseOnnx } from './onnx-reader.js';
import { precisionFromRanges, printFixedType, resolvePrecision } from './precision.js';
import type { PrecisionConfig } from './precision.js';
import { encodeModel, normalSampler, ops2dSpec, ortRunner, withSymbolicBatch } from './testing.js';
import type { ModelSpec } from './testing.js';
import { stripTrailingSoftmax, writeProject, writeTbInputs } from './writer.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const examples = resolve(repoRoot, '../shared/data/models/hls4ml-examples');
const SAMPLES = 200;
const SEED = 20261129;

const argmax = (v: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[k]!) k = i;
  return k;
};
const softmax = (v: readonly number[]): number[] => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

interface Run {
  dir: string;
  /** The firmware's outputs per sample, as doubles. */
  fixed: number[][];
  /** onnxruntime's outputs per sample (the whole float model). */
  ref: Float32Array[];
  cpp: string;
  meta: { postprocess: string | null; layers: Record<string, unknown>[] };
}

/** Writes, compiles and runs the project of `ir`; runs the float model in onnxruntime on the same inputs. */
async function compileAndRun(label: string, bytes: Uint8Array, ir: Ir, precision: PrecisionConfig, postprocess: 'softmax' | null): Promise<Run> {
  const dir = join(repoRoot, `hls/build/test-extra-${label}`);
  const summary = writeProject(ir, precision, dir, { name: 'm', strategy: 'latency', reuse: 1, clockMhz: 200, postprocess });
  const draw = normalSampler(SEED);
  const inputs = Array.from({ length: SAMPLES }, () => draw(summary.nIn));
  writeTbInputs(dir, inputs, summary.nIn);
  execFileSync('g++', ['-std=c++17', '-O2', '-I', 'firmware', '-I', 'firmware/nnet', '-o', 'tb_bin', 'firmware/m.cpp', 'tb/m_test.cpp'],
    { cwd: dir, stdio: 'pipe' });
  execFileSync('./tb_bin', [], { cwd: dir, stdio: 'pipe' });
  const fixed = readFileSync(join(dir, 'tb_data/csim_results.log'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  expect(fixed).toHaveLength(SAMPLES);
  const ort = await ortRunner(bytes);
  const ref: Float32Array[] = [];
  for (const x of inputs) ref.push(await ort(x, ir.inputShape));
  return { dir, fixed, ref, cpp: readFileSync(join(dir, 'firmware/m.cpp'), 'utf8'),
    meta: JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Run['meta'] };
}

function calibrated(ir: Ir): PrecisionConfig {
  const draw = normalSampler(SEED + 1);
  const nIn = shapeSize(ir.inputShape);
  return resolvePrecision(precisionFromRanges(ir, calibrateRanges(ir, Array.from({ length: SAMPLES }, () => draw(nIn)))));
}

function maxAbsErr(got: number[][], ref: Float32Array[]): number {
  let m = 0;
  for (let s = 0; s < got.length; s++) {
    expect(got[s]!.length).toBe(ref[s]!.length);
    for (let i = 0; i < ref[s]!.length; i++) m = Math.max(m, Math.abs(got[s]![i]! - ref[s]![i]!));
  }
  return m;
}

// Each case runs g++ on a generated project: 26 s for dense_big_keras on an idle 2-core VM,
// over 60 s beside two CPU hogs. A generous bound: these test results, not speed.
describe('hls4ml examples: C simulation against onnxruntime', { timeout: 600_000 }, () => {
  const cases = [
    { label: 'conv1d_small_keras', kinds: ['transpose'] },
    { label: 'conv2d_small_keras', kinds: ['transpose'] },
    { label: 'dense_big_keras', kinds: [] },
    { label: 'three_layer_keras', kinds: [] },
    { label: 'three_layer_pytorch', kinds: [] },
    { label: 'two_layer_keras', kinds: ['sigmoid'] },
  ];
  for (const c of cases) {
    it(`${c.label}: compiles; top-1 (or decision) agreement >= 0.99, max |error| <= 0.01`, async () => {
      // three_layer_pytorch was exported with a fixed batch of 789444: run it one at a time.
      const bytes = withSymbolicBatch(readFileSync(join(examples, `${c.label}.onnx`)));
      const full = buildIr(parseOnnx(bytes, c.label));
      const { ir, stripped } = stripTrailingSoftmax(full);
      const run = await compileAndRun(c.label, bytes, ir, calibrated(ir), stripped ? 'softmax' : null);
      // The host applies the stripped softmax to the firmware's logits.
      const got = stripped ? run.fixed.map(softmax) : run.fixed;
      const nOut = run.ref[0]!.length;
      const agree = run.ref.filter((r, s) => (nOut > 1 ? argmax(r) === argmax(got[s]!) : (r[0]! > 0.5) === (got[s]![0]! > 0.5))).length;
      const err = maxAbsErr(got, run.ref);
      console.log(`${c.label}: top-1 ${agree}/${SAMPLES}, max |error| ${err.toExponential(3)} (seed ${SEED})`);
      expect(agree / SAMPLES).toBeGreaterThanOrEqual(0.99);
      expect(err).toBeLessThanOrEqual(0.01);
      for (const k of c.kinds) expect(run.cpp).toContain(`nnet::${k}<`);
      expect(run.meta.postprocess).toBe(stripped ? 'softmax' : null);
    });
  }

  it('three_layer_keras with the softmax on the device: probabilities within 0.02 of onnxruntime', async () => {
    // Bound: nnet_softmax.h's first-order table error for n = 5 (exp step 1/128, inverse step
    // 8/1024) is 0.012 * p + 7 * 3.4e-4 + 2^-23 + one result LSB (2^-14 with the calibrated
    // ap_fixed<16,2>), about 0.0146, plus the logit error's effect, which the host-softmax
    // run above shows to be <= 0.0036.
    const bytes = readFileSync(join(examples, 'three_layer_keras.onnx'));
    const ir = buildIr(parseOnnx(bytes, 'three_layer_keras'));
    const run = await compileAndRun('three_layer_keras_softmax', bytes, ir, calibrated(ir), null);
    expect(run.cpp).toContain('nnet::softmax<');
    const agree = run.ref.filter((r, s) => argmax(r) === argmax(run.fixed[s]!)).length;
    const err = maxAbsErr(run.fixed, run.ref);
    console.log(`three_layer_keras, softmax on device: top-1 ${agree}/${SAMPLES}, max |p error| ${err.toExponential(3)}`);
    expect(agree / SAMPLES).toBeGreaterThanOrEqual(0.99);
    expect(err).toBeLessThanOrEqual(0.02);
    expect(run.meta.postprocess).toBeNull();
  });
});

// ---- hand-built graphs ------------------------------------------------------------------------

/** 1-D: conv, average pool with asymmetric pads, max pool with a pad, opset-11 softmax over [4, 3] flattened. */
function ops1d(): ModelSpec {
  const rnd = normalSampler(32);
  return {
    opset: 11,
    input: { name: 'x', shape: ['N', 2, 9] },
    output: { name: 'y', shape: ['N', 4, 3] },
    initializers: [{ name: 'w', dims: [4, 2, 3], data: rnd(24, 0.5) }],
    nodes: [
      { op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: { strides: { ints: [2] }, pads: { ints: [2, 1] } } },
      { op: 'AveragePool', name: 'ap', inputs: ['c'], outputs: ['a'], attrs: { kernel_shape: { ints: [2] }, pads: { ints: [1, 0] } } },
      { op: 'MaxPool', name: 'mp', inputs: ['a'], outputs: ['m'], attrs: { kernel_shape: { ints: [2] }, strides: { ints: [2] }, pads: { ints: [0, 1] } } },
      { op: 'Softmax', name: 'sm', inputs: ['m'], outputs: ['y'], attrs: { axis: { i: 1 } } },
    ],
  };
}

/** A BatchNormalization that cannot fold (the conv output has another reader), a residual Add, a transpose to channels-last, dense. */
function bnResidual(): ModelSpec {
  const rnd = normalSampler(33);
  return {
    input: { name: 'x', shape: ['N', 2, 5, 5] },
    output: { name: 'y', shape: ['N', 4] },
    initializers: [
      { name: 'w', dims: [3, 2, 3, 3], data: rnd(54, 0.4) },
      { name: 'g', dims: [3], data: Float32Array.of(1.5, 0.5, 1.25) }, { name: 'b', dims: [3], data: rnd(3, 0.5) },
      { name: 'm', dims: [3], data: rnd(3, 0.5) }, { name: 'v', dims: [3], data: Float32Array.of(1, 2, 0.5) },
      { name: 'fw', dims: [27, 4], data: rnd(108, 0.3) }, { name: 'fb', dims: [4], data: rnd(4, 0.5) },
    ],
    nodes: [
      { op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['c'] },
      { op: 'BatchNormalization', name: 'bn', inputs: ['c', 'g', 'b', 'm', 'v'], outputs: ['n'] },
      { op: 'Relu', name: 'r', inputs: ['c'], outputs: ['r'] },
      { op: 'Add', name: 'sum', inputs: ['n', 'r'], outputs: ['s'] },
      { op: 'Transpose', name: 'tr', inputs: ['s'], outputs: ['t'], attrs: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'Flatten', name: 'fl', inputs: ['t'], outputs: ['f'], attrs: { axis: { i: 1 } } },
      { op: 'MatMul', name: 'mm', inputs: ['f', 'fw'], outputs: ['mm'] },
      { op: 'Add', name: 'bias', inputs: ['mm', 'fb'], outputs: ['y'] },
    ],
  };
}

/** A 4-D transpose straight to the output, then nothing: the firmware only moves values. */
function transpose4d(): ModelSpec {
  return {
    input: { name: 'x', shape: ['N', 2, 3, 4, 5] },
    output: { name: 'y', shape: ['N', 5, 4, 2, 3] },
    nodes: [{ op: 'Transpose', name: 'tr', inputs: ['x'], outputs: ['y'], attrs: { perm: { ints: [0, 4, 3, 1, 2] } } }],
  };
}

describe('hand-built graphs with every added layer: C simulation against onnxruntime', () => {
  // Default precision: ap_fixed<16,6> weights, <16,6,AP_TRN,AP_SAT> input and results (LSB
  // 2^-10; nothing here comes near +-32), accumulators <32,12>. Each bound is stated beside
  // its graph.
  const graphs: { label: string; spec: ModelSpec; kinds: string[]; bound: number; why: string; fine?: boolean }[] = [
    { label: 'ops2d', spec: ops2dSpec(31), kinds: ['avg_pool_2d', 'add', 'tanh', 'max_pool_2d', 'sigmoid', 'softmax'], bound: 0.03,
      why: 'softmax table error (n = 3: about 0.012 * p + 5 * 3.4e-4 + LSBs, <= 0.016) plus the sigmoid table ' +
        '(<= 0.0021) and upstream LSB and weight-quantisation errors, which tanh and sigmoid compress to < 0.01' },
    { label: 'ops1d', spec: ops1d(), kinds: ['avg_pool_1d', 'max_pool_1d', 'softmax'], bound: 0.03,
      why: 'softmax table error over 12 values (about 0.012 * p + 14 * 3.4e-4 + LSBs, <= 0.018) plus the logit ' +
        'error (a few LSBs of 2^-10 per conv term and weight rounding) times at most 1/2' },
    { label: 'bn_residual', spec: bnResidual(), kinds: ['batchnorm', 'add', 'transpose', 'dense'], bound: 0.1, fine: true,
      why: 'no tables, so all of the error is truncation to 2^-10 (input, weights, each layer; AP_TRN errors are ' +
        'one-sided and add up through conv (18 terms), batchnorm (scale up to 2.2), the residual and dense ' +
        '(27 terms); observed 0.075); the same graph with 24-bit types (LSB 2^-18) must then shrink the error ' +
        'by at least 32 of the 256 the LSB shrinks, which a wrong index or channel would not' },
    { label: 'transpose4d', spec: transpose4d(), kinds: ['transpose'], bound: 2 ** -10,
      why: 'the only rounding is the input conversion to ap_fixed<16,6> (AP_TRN, < one LSB = 2^-10)' },
  ];
  for (const g of graphs) {
    it(`${g.label}: max |error| <= ${g.bound}`, async () => {
      const bytes = encodeModel(g.spec);
      const ir = buildIr(parseOnnx(bytes, `${g.label}.onnx`));
      const run = await compileAndRun(g.label, bytes, ir, resolvePrecision(), null);
      for (const k of g.kinds) expect(run.cpp).toContain(`nnet::${k}<`);
      const err = maxAbsErr(run.fixed, run.ref);
      console.log(`${g.label}: max |error| ${err.toExponential(3)} (bound ${g.bound}, seed ${SEED})`);
      expect(err, `bound ${g.bound}: ${g.why}`).toBeLessThanOrEqual(g.bound);
      // Not a degenerate pass: the outputs vary across samples.
      expect(new Set(run.fixed.map((r) => r.join(' '))).size).toBeGreaterThan(SAMPLES / 2);
      if (g.fine === true) {
        const t = 'ap_fixed<24,6>';
        const fine = await compileAndRun(`${g.label}_24`, bytes, ir, resolvePrecision({ default: { weight: t, bias: t, result: t } }), null);
        const errFine = maxAbsErr(fine.fixed, fine.ref);
        console.log(`${g.label} with ${t}: max |error| ${errFine.toExponential(3)}`);
        expect(errFine).toBeLessThanOrEqual(err / 32);
      }
    });
  }

  it('model.json records the types of the added layers', async () => {
    const bytes = encodeModel(ops2dSpec(31));
    const ir = buildIr(parseOnnx(bytes, 'ops2d.onnx'));
    const dir = join(repoRoot, 'hls/build/test-extra-meta');
    writeProject(ir, resolvePrecision(), dir, { name: 'm', strategy: 'latency', reuse: 1, clockMhz: 200 });
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { layers: Record<string, unknown>[] };
    const byKind = (k: string): Record<string, unknown> => meta.layers.find((l) => l.kind === k)!;
    const def = resolvePrecision().default;
    const result = printFixedType(def.result);
    expect(byKind('sigmoid')).toMatchObject({ result, table: 'ap_fixed<18,2,AP_RND_CONV>', tableSize: 1024 });
    expect(byKind('softmax')).toMatchObject({ result, accum: printFixedType(def.accum), expTable: 'ap_fixed<18,2,AP_RND_CONV>',
      invTable: 'ap_fixed<24,2,AP_RND_CONV>', tableSize: 1024, expRange: 8 });
    // a1: 3x3 with count_include_pad, so every count is 9: 1/9 < 2^-3, I = 2 - floor(log2 9) = -1.
    expect(byKind('avgpool2d')).toMatchObject({ accum: printFixedType(def.accum), scale: 'ap_fixed<18,-1,AP_RND_CONV,AP_SAT>' });
    // a2: the same pool without count_include_pad counts 4 real positions in a corner window.
    expect(meta.layers.filter((l) => l.kind === 'avgpool2d')[1]).toMatchObject({ scale: 'ap_fixed<18,0,AP_RND_CONV,AP_SAT>' });
    expect(byKind('add')).toMatchObject({ inputs: ['avgpool2d_0', 'avgpool2d_1'], result });
    const bnIr = buildIr(parseOnnx(encodeModel(bnResidual()), 'bn.onnx'));
    writeProject(bnIr, resolvePrecision(), dir, { name: 'm', strategy: 'latency', reuse: 1, clockMhz: 200 });
    const bnMeta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { layers: Record<string, unknown>[] };
    expect(bnMeta.layers.find((l) => l.kind === 'batchnorm')).toMatchObject({ weight: printFixedType(def.weight), bias: printFixedType(def.bias), accum: printFixedType(def.accum) });
    expect(readFileSync(join(dir, 'firmware/weights/batchnorm_0_w.h'), 'utf8')).toContain('batchnorm_0_w[3]');
  });
});

describe('what the writer still refuses', () => {
  const dir = join(repoRoot, 'hls/build/test-extra-refuse');
  const opts = { name: 'm', strategy: 'latency', reuse: 1, clockMhz: 200 } as const;
  const irOf = (spec: ModelSpec, label: string): Ir => buildIr(parseOnnx(encodeModel(spec), label));

  it('a global average pool over 1-D data', () => {
    const ir = irOf({
      input: { name: 'x', shape: ['N', 4, 6] }, output: { name: 'y', shape: ['N', 4, 1] },
      nodes: [{ op: 'GlobalAveragePool', name: 'g', inputs: ['x'], outputs: ['y'] }],
    }, 'gap1d.onnx');
    expect(() => writeProject(ir, resolvePrecision(), dir, opts)).toThrow(ModelError);
    expect(() => writeProject(ir, resolvePrecision(), dir, opts)).toThrow(/globalavgpool over \[4,6\] \(2-D only\) is not yet supported/);
  });

  it('a softmax over 512 values or more, naming the limit', () => {
    const ir = irOf({
      input: { name: 'x', shape: ['N', 600] }, output: { name: 'y', shape: ['N', 600] },
      nodes: [{ op: 'Softmax', name: 's', inputs: ['x'], outputs: ['y'] }],
    }, 'wide.onnx');
    expect(() => writeProject(ir, resolvePrecision(), dir, opts)).toThrow(/softmax over 600 values \(at most 511\)/);
  });

  it('a softmax accumulator override too narrow for the sum, as a ConfigError naming the field', () => {
    const ir = irOf({
      input: { name: 'x', shape: ['N', 3, 8] }, output: { name: 'y', shape: ['N', 3, 8] },
      nodes: [{ op: 'Softmax', name: 's', inputs: ['x'], outputs: ['y'] }],
    }, 'sm.onnx');
    const narrow = resolvePrecision({ layers: { softmax_0: { accum: 'ap_fixed<20,8>' } } });
    expect(() => writeProject(ir, narrow, dir, opts)).toThrow(ConfigError);
    expect(() => writeProject(ir, narrow, dir, opts)).toThrow(/precision\.layers\.softmax_0\.accum/);
    const fewInt = resolvePrecision({ layers: { softmax_0: { accum: 'ap_fixed<20,4>' } } });
    expect(() => writeProject(ir, fewInt, dir, opts)).toThrow(/cannot hold a sum of 8 exps/);
    expect(writeProject(ir, resolvePrecision({ layers: { softmax_0: { accum: 'ap_fixed<21,5>' } } }), dir, opts).nOut).toBe(24);
  });
});
