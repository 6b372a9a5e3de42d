// The keyword-spotting student's architecture through the firmware compiler: MLPerf Tiny's
// DS-CNN (Conv 10x4 stride 2, four depthwise-separable blocks, average pool, dense) with
// random seeded weights, exported by torch.onnx.export (test/support/dscnn_export.py), both
// with its BatchNormalization nodes kept (folded here at compile time) and as the exporter
// fuses them by default. Checked against onnxruntime: the float64 interpreter on the IR,
// `hairtrigger compile` (compileModel: C testbench) and the simulator library the daemon
// loads (top-1 on 1,000 seeded random inputs, keywordLike below); the generated firmware with and without the
// CPU fast paths (bit for bit); the latency model against multiply counts taken from
// PyTorch's modules; the library's sliding windows against its whole-window entry.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIr } from '../../hls/compiler/build-ir.js';
import { CALIBRATION_INPUTS, compileModel } from '../../hls/compiler/compile.js';
import { calibrateRanges, runIr } from '../../hls/compiler/interpret.js';
import { precisionFromRanges } from '../../hls/compiler/precision.js';
import { shapeSize, type Ir } from '../../hls/compiler/ir.js';
import { estimate } from '../../hls/compiler/latency.js';
import { parseOnnx, readOnnx } from '../../hls/compiler/onnx-reader.js';
import { encodeModel, maxRelErr, normalSampler, ortRunner, type AttrSpec } from '../../hls/compiler/testing.js';
import { exactLiteral } from '../../hls/compiler/writer.js';
import { ModelError } from '../../host/src/core/errors.js';
import { createRng } from '../../host/src/core/rng.js';
import { loadSimModel } from '../../host/src/native/addon.js';
import { REPO, tempDir } from '../support/fixtures.js';
import { runPython } from '../support/python.js';

const SEED = 20261206;
const CHANNELS = 56;
const CHECK = 1000;
const dir = tempDir('dscnn');
let meta: { params: number; convMacs: number[] };

beforeAll(() => {
  runPython([join(REPO, 'test/support/dscnn_export.py'), dir, String(SEED), String(CHANNELS)]);
  meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as typeof meta;
}, 180_000);

/**
 * `n` seeded inputs [1, 49, 10]: N(0,1) per value plus an N(0,1) offset per sample and MFCC
 * coefficient, held over the 49 frames (a word's spectral envelope, which the network's
 * average pool keeps), as dscnn_export.py's keyword_like, on which the head was standardised.
 */
function keywordLike(n: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const offset = Array.from({ length: 10 }, () => rng.normal());
    return Float32Array.from({ length: 490 }, (_, i) => rng.normal() + offset[i % 10]!);
  });
}

const argmax = (v: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[k]!) k = i;
  return k;
};

/** Max relative error of the interpreter against onnxruntime on 20 seeded N(0,1) inputs. */
async function interpreterError(bytes: Uint8Array, ir: Ir): Promise<number> {
  const ort = await ortRunner(bytes);
  const draw = normalSampler(SEED);
  let err = 0;
  for (let s = 0; s < 20; s++) {
    const x = draw(shapeSize(ir.inputShape));
    err = Math.max(err, maxRelErr(runIr(ir, x), await ort(x, ir.inputShape)));
  }
  return err;
}

describe('DS-CNN (MLPerf Tiny KWS) into the IR', { timeout: 180_000 }, () => {
  it(`has at most 20,000 parameters (PyTorch's count)`, () => {
    expect(meta.params).toBeLessThanOrEqual(20_000);
  });

  for (const file of ['dscnn_bn.onnx', 'dscnn_fused.onnx']) {
    it(`${file}: BN folded into conv / depthwise weights; the interpreter matches onnxruntime within 1e-4`, async () => {
      const bytes = readFileSync(join(dir, file));
      const ir = buildIr(parseOnnx(bytes, file));
      const block = ['dwconv2d', 'relu', 'conv2d', 'relu'];
      expect(ir.layers.map((l) => l.kind)).toEqual(['conv2d', 'relu', ...block, ...block, ...block, ...block, 'avgpool2d', 'reshape', 'dense']);
      expect(ir.layers[0]!.outputShape).toEqual([CHANNELS, 25, 5]);
      if (file === 'dscnn_bn.onnx') {
        // Each conv absorbed the BatchNormalization after it.
        for (const l of ir.layers.filter((x) => x.kind === 'conv2d' || x.kind === 'dwconv2d')) expect(l.sources).toHaveLength(2);
      }
      const err = await interpreterError(bytes, ir);
      console.log(`${file}: interpreter max rel error ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }

  it('a depthwise 3x2 kernel with stride (2, 1), an unfoldable BN (its own layer), GlobalAveragePool', async () => {
    const bytes = readFileSync(join(dir, 'dscnn_tail.onnx'));
    const ir = buildIr(parseOnnx(bytes, 'dscnn_tail'));
    expect(ir.layers.map((l) => l.kind)).toEqual(['dwconv2d', 'relu', 'batchnorm', 'globalavgpool', 'reshape', 'dense']);
    expect(ir.layers[0]!.outputShape).toEqual([4, 5, 5]);
    expect(await interpreterError(bytes, ir)).toBeLessThanOrEqual(1e-4);
  });

  it('asymmetric pads and auto_pad SAME_UPPER on a depthwise conv (hand-built graph) match onnxruntime', async () => {
    const draw = normalSampler(SEED + 1);
    const geometries: Record<string, AttrSpec>[] = [
      { pads: { ints: [2, 0, 1, 1] }, strides: { ints: [2, 2] } },
      { auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 1] } },
    ];
    for (const attrs of geometries) {
      const bytes = encodeModel({
        input: { name: 'x', shape: ['N', 3, 11, 7] }, output: { name: 'y', shape: ['N', 3, 'H', 'W'] },
        initializers: [{ name: 'w', dims: [3, 1, 4, 3], data: draw(36) }, { name: 'b', dims: [3], data: draw(3) }],
        nodes: [{ op: 'Conv', name: 'dw', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { group: { i: 3 }, ...attrs } }],
      });
      const ir = buildIr(parseOnnx(bytes, 'dw_pads'));
      expect(ir.layers.map((l) => l.kind)).toEqual(['dwconv2d']);
      expect(await interpreterError(bytes, ir)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('refuses grouped convs that are not depthwise, naming the node', () => {
    const draw = normalSampler(SEED + 2);
    const graph = (group: number, wDims: number[], cOut: number): Uint8Array => encodeModel({
      input: { name: 'x', shape: ['N', 4, 5, 5] }, output: { name: 'y', shape: ['N', cOut, 3, 3] },
      initializers: [{ name: 'w', dims: wDims, data: draw(shapeSize(wDims)) }],
      nodes: [{ op: 'Conv', name: 'grouped', inputs: ['x', 'w'], outputs: ['y'], attrs: { group: { i: group } } }],
    });
    // Two groups of two channels; a channel multiplier of 2.
    for (const bytes of [graph(2, [4, 2, 3, 3], 4), graph(4, [8, 1, 3, 3], 8)]) {
      expect(() => buildIr(parseOnnx(bytes, 'grouped'))).toThrow(ModelError);
      expect(() => buildIr(parseOnnx(bytes, 'grouped'))).toThrow(/node "grouped".*group=/);
    }
  });
});

describe('average pool over a window that is not a power of two', { timeout: 300_000 }, () => {
  it('GlobalAveragePool over 25x5 (the DS-CNN pool) is within two result LSBs of the exact mean', async () => {
    // Inputs in [4, 8): the mean is about 6, so a scale 1/125 short by 5.5e-4 of itself (an
    // 18-bit type with 2 integer bits) is 3.3e-3 off; the types allow the input's and the
    // result's floor, 2^-10 each with the default ap_fixed<16,6>.
    const bytes = encodeModel({
      input: { name: 'x', shape: ['N', 4, 25, 5] }, output: { name: 'y', shape: ['N', 4] },
      initializers: [{ name: 'shape', dims: [2], data: [-1, 4] }],
      nodes: [{ op: 'GlobalAveragePool', name: 'gap', inputs: ['x'], outputs: ['g'] },
        { op: 'Reshape', name: 'flat', inputs: ['g', 'shape'], outputs: ['y'] }],
    });
    const model = join(dir, 'gap125.onnx');
    writeFileSync(model, bytes);
    const rng = createRng(SEED + 3);
    const inputs = Array.from({ length: 50 }, () => Float32Array.from({ length: 500 }, () => 4 + 4 * rng.uniform()));
    const r = await compileModel({ model, out: join(REPO, 'hls/build/test-gap125'), name: 'gap125', precision: 'default',
      strategy: 'latency', reuse: 1, clockMhz: 200, check: 50, seed: SEED, data: { source: 'uniform [4, 8)', inputs } });
    console.log(`global average pool over 125: max |error| ${r.check!.maxAbsError.toExponential(3)}`);
    expect(r.check!.maxAbsError).toBeLessThanOrEqual(2 * 2 ** -10);
  });
});

describe('DS-CNN latency model', () => {
  it('multipliers x II of each conv layer equal the multiplies PyTorch counts; the ~18.5k-param model at 200 MHz', () => {
    const ir = buildIr(readOnnx(join(dir, 'dscnn_bn.onnx')));
    const est = estimate(ir, { strategy: 'latency', reuse: 1, clockMhz: 200 });
    const convs = est.layers.filter((l) => l.kind === 'conv2d' || l.kind === 'dwconv2d');
    // Independent count: output pixels x channels x (in_channels / groups) x kernel, from the
    // modules' shapes (dscnn_export.py); the model's II is the pixel loop, one pixel a cycle.
    expect(convs.map((l) => l.multipliers * l.ii)).toEqual(meta.convMacs);
    for (const l of convs) expect(l.cycles).toBeGreaterThanOrEqual(l.ii);
    const dsp = convs.reduce((s, l) => s + l.multipliers, 0);
    console.log(`DS-CNN ${CHANNELS} channels (${meta.params} params): ${est.latencyCycles} cycles = ${est.latencyUs.toFixed(2)} us ` +
      `at 200 MHz, II ${est.ii}, ${est.dsp} DSP (${dsp} in convs); per layer ${est.layers.map((l) => `${l.name} ${l.cycles}`).join(', ')}`);
    // With reuse R the pixel loops take R times as long and use 1/R of the multipliers.
    const r4 = estimate(ir, { strategy: 'latency', reuse: 4, clockMhz: 200 });
    const convs4 = r4.layers.filter((l) => l.kind === 'conv2d' || l.kind === 'dwconv2d');
    expect(convs4.map((l) => l.multipliers * l.ii)).toEqual(meta.convMacs);
    expect(r4.latencyCycles).toBeGreaterThan(est.latencyCycles);
  });
});

describe('DS-CNN through hairtrigger compile and the simulator library', { timeout: 900_000 }, () => {
  it(`compiles, builds lib<name>.so, and agrees top-1 >= 99% with onnxruntime on ${CHECK} inputs; fast and generic firmware agree bit for bit`, async () => {
    const model = join(dir, 'dscnn_bn.onnx');
    const out = join(REPO, 'hls/build/test-dscnn');
    // Check inputs first, then 256 to calibrate on. The precision is `auto`'s calibration
    // with rounded results and exact 32-bit accumulators (the simulator's fast kernels),
    // passed as a model card's spec would be: with auto's floor (AP_TRN) the per-layer bias
    // adds up over nine layers and the pool, and top-1 is 98.3 %.
    const inputs = keywordLike(CHECK + CALIBRATION_INPUTS, SEED);
    const ir = buildIr(readOnnx(model));
    const precision = precisionFromRanges(ir, calibrateRanges(ir, inputs.slice(CHECK)), { rounding: 'AP_RND', exactAccumBits: 32 });
    const r = await compileModel({ model, out, name: 'dscnn', precision, strategy: 'latency', reuse: 1, clockMhz: 200,
      check: CHECK, seed: SEED, lib: true, data: { source: `keyword-like N(0,1) (seed ${SEED})`, inputs } });
    expect(readFileSync(join(out, 'firmware/dscnn.cpp'), 'utf8')).toContain('nnet::depthwise_conv_2d<');
    console.log(JSON.stringify(r.check!.overflows), JSON.stringify(r.types)); console.log(`compile --check ${CHECK}: top-1 ${r.check!.agreementTop1}, max |logit error| ${r.check!.maxAbsLogitError.toExponential(3)}`);
    expect(r.check!.agreementTop1).toBeGreaterThanOrEqual(0.99);

    // The library the sim backend loads, on the same inputs.
    const bytes = readFileSync(model);
    const ort = await ortRunner(bytes);
    const xs = inputs.slice(0, CHECK);
    const sim = loadSimModel(r.library!);
    const y = new Float32Array(r.nOut);
    const simOut: number[][] = [];
    let agree = 0;
    for (const x of xs) {
      sim.predict(x, y);
      simOut.push(Array.from(y));
      if (argmax(y) === argmax(await ort(x, [1, 49, 10]))) agree++;
    }
    sim.close();
    console.log(`simulator library: top-1 ${agree}/${CHECK} with onnxruntime`);
    expect(agree / CHECK).toBeGreaterThanOrEqual(0.99);
    // Not a vacuous agreement: the decisions spread over the 12 classes (no class wins more than a third).
    const counts = new Array<number>(r.nOut).fill(0);
    for (const v of simOut) counts[argmax(v)]!++;
    console.log(`decisions per class: ${counts.join(' ')}`);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...counts)).toBeLessThan(CHECK / 3);

    // The testbench with the fast paths (as the library) and without (the code Vitis reads).
    execFileSync('make', ['-s', '-C', out, 'csim_tb', 'csim_tb_generic'], { stdio: 'pipe' });
    const inPath = join(dir, 'tb_in.dat');
    writeFileSync(inPath, xs.slice(0, 100).map((x) => Array.from(x, (v) => exactLiteral(v, 'input')).join(' ')).join('\n') + '\n');
    const runTb = (bin: string): string => {
      execFileSync(join(out, bin), [inPath, join(dir, `${bin}.raw`), join(dir, `${bin}.float`)], { cwd: out, stdio: 'pipe' });
      return readFileSync(join(dir, `${bin}.raw`), 'utf8');
    };
    const fast = runTb('csim_tb');
    expect(fast.trim().split('\n')).toHaveLength(100);
    expect(runTb('csim_tb_generic')).toBe(fast);

    // Sliding windows (hls/nnet/nnet_shift_reuse.h) on this chain of four blocks: windows of a
    // keyword-like sequence of 600 frames, one a hop, through the library's stream and through
    // its whole-window entry: the same bits, and every window after the first of each of the
    // two states (the stride is 2) reused.
    const frames = keywordLike(1, SEED + 1)[0]!;
    const rng = createRng(SEED + 2);
    const seq = Float32Array.from({ length: 600 * 10 }, (_, i) => 3 * rng.normal() + frames[i % 490]!);
    const whole = loadSimModel(r.library!);
    const stream = loadSimModel(r.library!);
    const xw = new Float32Array(490), yw = new Float32Array(r.nOut), xs2 = new Float32Array(490), ys2 = new Float32Array(r.nOut);
    whole.bind(xw, yw);
    stream.bind(xs2, ys2);
    expect(stream.openStream!()).toBe(true);
    let same = 0;
    const windows = 600 - 49 + 1;
    for (let t = 0; t < windows; t++) {
      xw.set(seq.subarray(t * 10, (t + 49) * 10));
      xs2.set(xw);
      whole.run();
      stream.run();
      if (yw.every((v, k) => v === ys2[k])) same++;
    }
    expect(same).toBe(windows);
    expect(stream.streamReused!()).toBe(windows - 2);
    whole.close();
    stream.close();
  });
});
