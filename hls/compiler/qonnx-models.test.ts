/**
 * The QONNX models hls4ml tests and the Keras channels-last export pattern, as built by
 * qonnx-models.fixture.ts (each builder names the published model it mirrors), through
 * `compileModel` with `--check`: the generated firmware's C testbench (g++) against the
 * reference, which for a QONNX model is the IR interpreter (Quant semantics checked against
 * the spec in qonnx.test.ts; onnxruntime cannot run QONNX ops) and for a float model
 * onnxruntime.
 *
 * - Fully quantised models (power-of-two scales, quantised weights and biases, no BN): the
 *   firmware is bit-exact with the interpreter on every check input (max |error| 0); for the
 *   jet tagger also the simulator library the `sim` backend loads (built with the CPU fast
 *   paths, loaded through the addon).
 * - TFC_2W2A keeps float BatchNormalizations between its quantisers: a value the BN puts
 *   next to a 2-bit rounding boundary can land on the other side in fixed point, so it is
 *   held to top-1 agreement (observed 0.96 of 100; the reduced CNV_2W2A 1.00).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { compileModel, randomInputs } from './compile.js';
import { runIr } from './interpret.js';
import { loadSimModel } from '../../host/src/native/addon.js';
import type { CompileResult } from './compile.js';
import { parseOnnx } from './onnx-reader.js';
import { brevitasLinear, cnv2w2a, conv1dBipolar, conv2dQonnx, jetTaggingQonnx, kerasChannelsLast, sepConvBranched, tfc2w2a } from './qonnx-models.fixture.js';
import { encodeModel } from './testing.js';
import type { ModelSpec } from './testing.js';

const tmp = mkdtempSync(join(tmpdir(), 'ht-qonnx-'));
const SEED = 20261207;
const CHECK = 100;
// g++ on each generated project: a few seconds idle, far more beside CPU hogs. Not a speed test.
const COMPILE_TIMEOUT_MS = 300_000;

async function compileSpec(name: string, spec: ModelSpec, lib = false): Promise<CompileResult> {
  const model = join(tmp, `${name}.onnx`);
  writeFileSync(model, encodeModel(spec));
  return compileModel({ model, out: join(tmp, name), name, precision: 'auto', strategy: 'latency', reuse: 1, clockMhz: 200,
    check: CHECK, seed: SEED, lib });
}

/** The simulator library (what the `sim` backend loads: the firmware built with its CPU fast
 * paths) gives the interpreter's outputs too, on the check's seeded inputs. */
function expectLibraryExact(r: CompileResult, spec: ModelSpec): void {
  const ir = buildIr(parseOnnx(encodeModel(spec), 'fixture'));
  const model = loadSimModel(r.library!);
  try {
    const y = new Float32Array(r.nOut);
    for (const x of randomInputs(CHECK, r.nIn, SEED)) {
      model.predict(x, y);
      expect(Array.from(y)).toEqual(Array.from(runIr(ir, x)));
    }
  } finally {
    model.close();
  }
}

const kinds = (spec: ModelSpec): string[] => buildIr(parseOnnx(encodeModel(spec), 'fixture')).layers.map((l) => l.kind);

describe('QONNX models: firmware bit-exact with the QONNX interpreter', { timeout: COMPILE_TIMEOUT_MS }, () => {
  const exact = [
    { name: 'jet_qonnx', build: jetTaggingQonnx, lib: true, kinds: ['quant', 'dense', 'relu', 'quant', 'dense', 'relu', 'quant', 'dense', 'relu', 'quant', 'dense'] },
    { name: 'conv2d_qonnx', build: conv2dQonnx,
      kinds: ['quant', 'conv2d', 'relu', 'quant', 'maxpool2d', 'conv2d', 'relu', 'quant', 'reshape', 'dense'] },
    { name: 'conv1d_bipolar', build: conv1dBipolar, kinds: ['quant', 'conv1d', 'quant', 'reshape', 'reshape', 'reshape', 'dense'] },
    { name: 'brevitas_linear', build: (seed: number) => brevitasLinear(seed, true), kinds: ['quant', 'dense', 'relu', 'quant'] },
    { name: 'sepconv_branched', build: sepConvBranched,
      kinds: ['quant', 'dwconv2d', 'conv2d', 'relu', 'quant', 'conv2d', 'relu', 'quant', 'add', 'maxpool2d', 'reshape', 'dense'] },
  ];
  for (const c of exact) {
    it(`${c.name}: every output equal on ${CHECK} seeded N(0,1) inputs`, async () => {
      const spec = c.build(SEED);
      expect(kinds(spec)).toEqual(c.kinds);
      const r = await compileSpec(c.name, spec, c.lib === true);
      if (c.lib === true) expectLibraryExact(r, spec);
      console.log(`${c.name}: max |error| ${r.check!.maxAbsError}, agreement ${r.check!.agreement}, input ${r.types.input}`);
      expect(r.check!.n).toBe(CHECK);
      expect(r.check!.maxAbsError).toBe(0);
      expect(r.check!.agreement).toBe(1);
      // The quantisers' types are the firmware's: the input's is the input Quant's.
      expect(r.types.input).toMatch(/^ap_fixed<\d+,\d+,AP_(RND_CONV|TRN),AP_SAT>$/);
    });
  }

  it('tfc_2w2a (BatchNormalization between quantisers): compiles, BNs kept unfolded, top-1 >= 0.9 against the interpreter', async () => {
    const spec = tfc2w2a(SEED);
    expect(kinds(spec)).toEqual(['reshape', 'quant', ...Array.from({ length: 3 }, () => ['dense', 'batchnorm', 'quant']).flat(), 'dense', 'batchnorm']);
    const r = await compileSpec('tfc_2w2a', spec);
    console.log(`tfc_2w2a: top-1 ${r.check!.agreement}, max |error| ${r.check!.maxAbsError}`);
    expect(r.types.layers['dense_0']!.weight).toBe('ap_fixed<2,2,AP_RND_CONV,AP_SAT_SYM>');
    expect(r.check!.agreement).toBeGreaterThanOrEqual(0.9);
  });
});

describe('CNV_2W2A (reduced)', { timeout: COMPILE_TIMEOUT_MS }, () => {
  // Observed top-1 1.00, max |error| 2.0e-3; 0.97 and 1.47 while the input was converted to
  // the calibrated type first and quantised again (two roundings) behind the Transpose.
  it('cnv_2w2a: channels-last input, conv/BN/2-bit quant blocks: compiles, top-1 >= 0.98 against the interpreter', async () => {
    const spec = cnv2w2a(SEED);
    expect(kinds(spec)).toEqual(['transpose', 'quant', 'conv2d', 'batchnorm', 'quant', 'conv2d', 'batchnorm', 'quant', 'maxpool2d', 'reshape', 'dense', 'batchnorm']);
    const r = await compileSpec('cnv_2w2a', spec);
    console.log(`cnv_2w2a: top-1 ${r.check!.agreement}, max |error| ${r.check!.maxAbsError}`);
    // The input feeds its Quant through the Transpose: it takes the Quant's type (8 bits, scale 2^-7).
    expect(r.types.input).toBe('ap_fixed<8,1,AP_RND_CONV,AP_SAT>');
    expect(r.check!.agreement).toBeGreaterThanOrEqual(0.98);
  });
});

describe('Keras/PyTorch export patterns', { timeout: COMPILE_TIMEOUT_MS }, () => {
  it('channels-last Transpose-Conv-Transpose, Transpose-BN-Transpose, Dropout, Identity: agrees with onnxruntime', async () => {
    const spec = kerasChannelsLast(SEED);
    expect(kinds(spec)).toEqual(['transpose', 'conv2d', 'transpose', 'transpose', 'batchnorm', 'transpose', 'relu', 'reshape', 'dense', 'softmax']);
    const r = await compileSpec('keras_cl', spec);
    console.log(`keras_cl: top-1 ${r.check!.agreement}, max |error| ${r.check!.maxAbsError}`);
    expect(r.check!.agreement).toBeGreaterThanOrEqual(0.98);
    expect(r.check!.maxAbsError).toBeLessThanOrEqual(0.01);
  });
});

describe('what is refused', () => {
  const withScale = (scale: number): Uint8Array => encodeModel({
    opset: 13,
    input: { name: 'x', shape: ['N', 4] },
    output: { name: 'y', shape: ['N', 4] },
    initializers: [{ name: 's', dims: [], data: Float32Array.of(scale) }, { name: 'z', dims: [], data: Float32Array.of(0) },
      { name: 'b', dims: [], data: Float32Array.of(4) }],
    nodes: [{ op: 'Quant', name: 'act_quant', inputs: ['x', 's', 'z', 'b'], outputs: ['y'], domain: 'finn.custom_op.general' }],
  });
  it('Brevitas\'s PerTensorFloat quantisers (learned float scales), naming the node', () => {
    const spec = brevitasLinear(SEED, false);
    expect(() => buildIr(parseOnnx(encodeModel(spec), 'float.onnx'))).toThrow(/node "Quant_\d+".*scale 0\.01\d+ is not a power of two/);
  });
  it('a Quant with a scale that is not a power of two, naming the node', () => {
    expect(() => buildIr(parseOnnx(withScale(0.3), 'q.onnx'))).toThrow(ModelError);
    expect(() => buildIr(parseOnnx(withScale(0.3), 'q.onnx'))).toThrow(/node "act_quant".*not a power of two/);
    expect(buildIr(parseOnnx(withScale(0.25), 'q.onnx')).layers.map((l) => l.kind)).toEqual(['quant']);
  });
});
