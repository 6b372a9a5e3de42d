// What `hairtrigger compile --check` reports (the CLI test runs build/: `make build` first), and what `--precision auto` chooses, against
// independent calculations: onnxruntime run here on the same inputs, and the testbench's own
// output file (tb_data/csim_results.log) read back here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { createRng } from '../../host/src/core/rng.js';
import { buildIr } from './build-ir.js';
import { compileModel, randomInputs, type CheckData, type CompileOptions, type CompileResult } from './compile.js';
import { parseOnnx } from './onnx-reader.js';
import { encodeModel, ortRunner } from './testing.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const EXAMPLES = resolve(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples');
const JET = join(EXAMPLES, 'three_layer_keras.onnx');
const COMPILE_TIMEOUT_MS = 300_000;
const tmp = mkdtempSync(join(tmpdir(), 'ht-compile-check-'));

function options(model: string, name: string, o: Partial<CompileOptions>): CompileOptions {
  return { model, out: join(tmp, name), name, precision: 'default', strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 1, lib: false, ...o };
}

/** The C testbench's outputs of the last check, read back from the project. */
function csimOutputs(dir: string): number[][] {
  return readFileSync(join(dir, 'tb_data', 'csim_results.log'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

async function onnxOutputs(model: string, xs: readonly Float32Array[], shape: readonly number[]): Promise<Float32Array[]> {
  const run = await ortRunner(readFileSync(model));
  const out: Float32Array[] = [];
  for (const x of xs) out.push(await run(x, shape));
  return out;
}

function softmax(v: readonly number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('one-output models: decision agreement at the threshold, not an argmax of one value', () => {
  it('two_layer_keras (10 -> 1, sigmoid) at a coarse precision (seed 4)', async () => {
    const model = join(EXAMPLES, 'two_layer_keras.onnx');
    const xs = randomInputs(300, 10, 4);
    const r = await compileModel(options(model, 'one_out', { precision: 'ap_fixed<8,3>', check: 300, data: { source: 'seeded N(0,1) (seed 4)', inputs: xs } }));
    const fixed = csimOutputs(r.dir);
    const ref = await onnxOutputs(model, xs, [10]);
    let same = 0;
    for (let i = 0; i < xs.length; i++) if ((ref[i]![0]! > 0.5) === (fixed[i]![0]! > 0.5)) same++;
    expect(r.nOut).toBe(1);
    expect(r.check!.decision).toBe('threshold');
    expect(r.check!.threshold).toBe(0.5);
    expect(r.check!.agreementTop1).toBeNull();
    expect(r.check!.agreement).toBe(same / xs.length);
    // Not vacuous: at 8 bits some decisions flip (an argmax of one value would report 1).
    expect(same).toBeLessThan(xs.length);
    const maxErr = Math.max(...xs.map((_, i) => Math.abs(ref[i]![0]! - fixed[i]![0]!)));
    expect(r.check!.maxAbsError).toBeCloseTo(maxErr, 6);
  }, COMPILE_TIMEOUT_MS);
});

describe('--precision auto: calibrated on other inputs than the check, saturating, with headroom', () => {
  it('is at least as accurate as the default on the jet tagger with N(0, 3^2) check inputs (seeds 21, 22)', async () => {
    // Calibration on standard normals (what the features are), check on inputs three times
    // wider: the case where one bit of headroom and wrapping types went wrong.
    const cal = randomInputs(256, 16, 21);
    const rng = createRng(22);
    const xs = Array.from({ length: 1000 }, () => Float32Array.from({ length: 16 }, () => 3 * rng.normal()));
    const data: CheckData = { source: 'N(0,9) (seed 22)', inputs: xs, calibration: cal };
    const ref = await onnxOutputs(JET, xs, [16]);
    const errors = async (precision: string): Promise<{ max: number; over: number; types: string[] }> => {
      const r = await compileModel(options(JET, `jet_${precision}`, { precision, check: xs.length, data }));
      const got = csimOutputs(r.dir).map(softmax);
      let max = 0;
      let over = 0;
      for (let i = 0; i < xs.length; i++) {
        for (let k = 0; k < 5; k++) {
          const e = Math.abs(got[i]![k]! - ref[i]![k]!);
          max = Math.max(max, e);
          if (e > 0.05) over++;
        }
      }
      expect(r.check!.maxAbsError).toBeCloseTo(max, 6);
      expect(r.precision).toBe(precision === 'auto' ? 'auto' : 'ap_fixed<16,6,AP_TRN,AP_SAT>');
      return { max, over, types: Object.values(r.types.layers).map((t) => t.result!) };
    };
    const auto = await errors('auto');
    const def = await errors('default');
    expect(auto.over).toBeLessThanOrEqual(def.over);
    expect(auto.max).toBeLessThanOrEqual(def.max);
    for (const t of auto.types) expect(t).toMatch(/AP_SAT>$/);
  }, COMPILE_TIMEOUT_MS);

  it('passes its calibration options through: AP_RND results and accumulators of at most 32 bits holding exact products', async () => {
    const data: CheckData = { source: 'seeded', inputs: [], calibration: randomInputs(256, 16, 5) };
    const plain = await compileModel(options(JET, 'jet_cal_trn', { precision: 'auto', data }));
    const r = await compileModel(options(JET, 'jet_cal_rnd', { precision: 'auto', data, calibration: { rounding: 'AP_RND', exactAccumBits: 32 } }));
    const layers = Object.values(r.types.layers);
    expect(layers.some((t) => t.result !== undefined)).toBe(true);
    for (const t of layers) if (t.result !== undefined) expect(t.result).toMatch(/,AP_RND,AP_SAT>$/);
    for (const t of Object.values(plain.types.layers)) if (t.result !== undefined) expect(t.result).toMatch(/,AP_TRN,AP_SAT>$/);
    // Exact products: the accumulator's fractional bits are the data's plus the weight's, in 32 bits or fewer.
    const bits = (t: string): [number, number] => { const m = /^ap_fixed<(\d+),(-?\d+)/.exec(t)!; return [Number(m[1]), Number(m[2])]; };
    const macs = layers.filter((t) => t.accum !== undefined && t.weight !== undefined);
    expect(macs.length).toBeGreaterThan(0);
    for (const t of macs) expect(bits(t.accum!)[0]).toBeLessThanOrEqual(32);
  }, COMPILE_TIMEOUT_MS);

  it('refuses to calibrate on the check inputs themselves', async () => {
    const xs = randomInputs(100, 16, 3);
    await expect(compileModel(options(JET, 'jet_nocal', { precision: 'auto', check: 100, data: { source: 'seeded', inputs: xs } })))
      .rejects.toThrow(ConfigError);
    await expect(compileModel(options(JET, 'jet_nocal', { precision: 'auto', check: 100, data: { source: 'seeded', inputs: xs } })))
      .rejects.toThrow(/calibration inputs beyond the check's/);
  });
});

describe('fit on the target part', () => {
  it('the cells-bccd teacher does not fit the U250 and says so; the student fits', async () => {
    const teacher = await compileModel(options(join(REPO, 'models/zoo/cells-bccd/teacher.onnx'), 'teacher', {}));
    expect(teacher.fit!.part).toBe('xcu250-figd2104-2L-e');
    expect(teacher.fit!.dsp.available).toBe(12_288);
    expect(teacher.fit!.dsp.need).toBe(teacher.fpga.dsp);
    expect(teacher.fit!.fits).toBe(false);
    expect(teacher.warnings.join('\n')).toMatch(/does not fit xcu250-figd2104-2L-e: DSP [\d,]+ of 12,288/);
    const student = await compileModel(options(join(REPO, 'models/zoo/cells-bccd/student.onnx'), 'student', {}));
    expect(student.fit!.fits).toBe(true);
    expect(student.warnings).toEqual([]);
  }, COMPILE_TIMEOUT_MS);
});

describe('unsupported operators', () => {
  const spec = (op: string): Uint8Array => encodeModel({
    input: { name: 'x', shape: ['N', 4] },
    output: { name: 'y', shape: op === 'Unsqueeze' ? ['N', 1, 4] : ['N', 4] },
    initializers: [{ name: 'axes', dims: [1], data: [1] }],
    nodes: [{ op, name: 'n0', inputs: op === 'Unsqueeze' ? ['x', 'axes'] : ['x'], outputs: ['y'] }],
    opset: 13,
  });
  it('lists the supported operators', () => {
    const bytes = spec('Erf');
    expect(() => buildIr(parseOnnx(bytes, 'erf.onnx'))).toThrow(ModelError);
    expect(() => buildIr(parseOnnx(bytes, 'erf.onnx'))).toThrow(/unsupported operator Erf at node "n0".*Supported on data: .*Gemm.*Conv.*Relu/);
  });
  it('says what to change for a Cast on data', () => {
    // (Unsqueeze and Squeeze on data are reshapes now: qonnx-models.test.ts, conv1d_bipolar.)
    expect(() => buildIr(parseOnnx(spec('Cast'), 'c.onnx'))).toThrow(/Cast is folded on constants only.*remove the Cast and re-export/);
  });
});

describe('hairtrigger compile --json --check', () => {
  it('prints one object: the compile, the check, and the types actually used (auto)', () => {
    const out = join(tmp, 'cli_auto');
    const text = execFileSync('node', [join(REPO, 'bin', 'hairtrigger.js'), 'compile', JET, '--out', out, '--check', '40', '--no-lib', '--json', '--precision', 'auto'], { encoding: 'utf8' });
    const r = JSON.parse(text) as CompileResult;
    expect(r.dir).toBe(out);
    expect(r.fpga.latencyCycles).toBeGreaterThan(0);
    expect(r.check!.n).toBe(40);
    expect(r.precision).toBe('auto');
    // The types are the project's own (model.json, which the firmware was written from).
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { input: { type: string }; layers: { name: string; result?: string; accum?: string }[] };
    expect(r.types.input).toBe(model.input.type);
    for (const l of model.layers) expect(r.types.layers[l.name]!.result).toBe(l.result);
    expect(new Set(model.layers.map((l) => l.result)).size).toBeGreaterThan(1);
  }, COMPILE_TIMEOUT_MS);
});
