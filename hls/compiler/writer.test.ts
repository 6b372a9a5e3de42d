/**
 * The writer end to end: write the HLS project for three models, compile its C testbench
 * with g++ (the hls/nnet simulator type, not the vendor's), run it twice on 200 seeded N(0,1)
 * inputs (the cell students' standardised preprocessing gives N(0,1) inputs), check the two
 * runs are bit-identical and the top-1 class and logits agree with the float64 interpreter. three_layer_keras ends in a softmax: the
 * firmware computes the logits and the daemon applies softmax, so the comparison is on logits.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { calibrateRanges, runIrF64 } from './interpret.js';
import { shapeSize } from './ir.js';
import { readOnnx } from './onnx-reader.js';
import { fracBits, layerPrecision, parseFixedType, precisionFromRanges, printFixedType, resolvePrecision } from './precision.js';
import { normalSampler } from './testing.js';
import { exactLiteral, stripTrailingSoftmax, writeProject, writeTbInputs } from './writer.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLES = 200;
const SEED = 20261127;

// 'default': ap_fixed<16,6> everywhere. 'calibrated': result types from ranges observed on
// another 200 seeded inputs (precisionFromRanges). lymphocyte's logits reach 54 and
// three_layer_keras's dense_2 reaches -35, past ap_fixed<16,6>'s +-32: with the default they
// wrap (lymphocyte: 29/200 top-1 agreement), so those two are checked calibrated.
const MODELS = [
  { name: 'bccd', path: resolve(repoRoot, 'models/zoo/cells-bccd/student.onnx'), precision: 'default' },
  { name: 'bccd_cal', path: resolve(repoRoot, 'models/zoo/cells-bccd/student.onnx'), precision: 'calibrated' },
  { name: 'lymphocyte', path: resolve(repoRoot, 'models/zoo/cells-lymphocyte/student.onnx'), precision: 'calibrated' },
  { name: 'three_layer_keras', path: resolve(repoRoot, '../shared/data/models/hls4ml-examples/three_layer_keras.onnx'), precision: 'calibrated' },
] as const;

function readRows(path: string): number[][] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

const argmax = (v: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[k]!) k = i;
  return k;
};

describe('precision', () => {
  it('parses and prints type strings', () => {
    for (const s of ['ap_fixed<16,6>', 'ap_fixed<16,6,AP_RND_CONV,AP_SAT>', 'ap_fixed<18,1,AP_RND>', 'ap_fixed<8,-2>']) {
      expect(printFixedType(parseFixedType(s, 'f'))).toBe(s);
    }
    expect(parseFixedType(' ap_fixed< 16 , 6 , AP_TRN , AP_SAT > ', 'f')).toEqual({ width: 16, integer: 6, rounding: 'AP_TRN', saturation: 'AP_SAT' });
  });

  it('refuses bad strings with a ConfigError naming the field', () => {
    for (const s of ['ap_ufixed<16,6>', 'ap_fixed<0,0>', 'ap_fixed<65,6>', 'ap_fixed<16,6,AP_FOO>', 'ap_fixed<16,6,AP_RND,AP_WRAP_SM>', 'float', 'ap_fixed<16,-60>']) {
      expect(() => parseFixedType(s, 'precision.layers.dense_0.result')).toThrow(ConfigError);
      expect(() => parseFixedType(s, 'precision.layers.dense_0.result')).toThrow(/precision\.layers\.dense_0\.result/);
    }
  });

  it('resolves defaults and overrides, and keeps accumulators AP_TRN/AP_WRAP', () => {
    const p = resolvePrecision({ layers: { dense_0: { result: 'ap_fixed<12,4>', resultRounding: 'AP_RND_CONV', resultSaturation: 'AP_SAT' } } });
    expect(printFixedType(p.default.weight)).toBe('ap_fixed<16,6>');
    expect(printFixedType(p.default.accum)).toBe('ap_fixed<32,12>');
    expect(printFixedType(p.layers.get('dense_0')!.result)).toBe('ap_fixed<12,4,AP_RND_CONV,AP_SAT>');
    expect(() => resolvePrecision({ default: { accum: 'ap_fixed<32,12,AP_RND>' } })).toThrow(/precision\.default\.accum/);
    expect(() => resolvePrecision({ layers: { d: { resultSaturation: 'SAT' } } })).toThrow(ConfigError);
    expect(() => resolvePrecision({ layers: { d: { wieght: 'ap_fixed<8,2>' } as never } })).toThrow(/unknown field/);
  });
});

describe('writer', () => {
  it('prints float32 values as literals that read back exactly', () => {
    const v = Float32Array.from([0.1, -1e-30, 3, 1.1754943508222875e-38, -0, 65504.5]);
    for (const x of v) expect(Number(exactLiteral(x, 'w'))).toBe(x);
    expect(exactLiteral(3, 'w')).toBe('3.0');
    expect(() => exactLiteral(NaN, 'w')).toThrow(ModelError);
  });

  it('compiles a trailing softmax the caller keeps; refuses overrides of unknown layers and bad options', () => {
    const ir = buildIr(readOnnx(MODELS.find((m) => m.name === 'three_layer_keras')!.path));
    const dir = join(repoRoot, 'hls/build/test-refuse');
    const opts = { name: 'm', strategy: 'latency', reuse: 1, clockMhz: 200 } as const;
    // Layers the writer refuses are covered in writer-extra.test.ts.
    expect(writeProject(ir, resolvePrecision(), dir, opts).nOut).toBe(5);
    expect(readFileSync(join(dir, 'firmware/m.cpp'), 'utf8')).toContain('nnet::softmax<');
    const { ir: logits } = stripTrailingSoftmax(ir);
    expect(() => writeProject(logits, resolvePrecision({ layers: { nope: {} } }), dir, opts)).toThrow(ConfigError);
    expect(() => writeProject(logits, resolvePrecision(), dir, { ...opts, reuse: 7 })).toThrow(/does not divide/);
    expect(() => writeProject(logits, resolvePrecision(), dir, { ...opts, name: '1bad' })).toThrow(ConfigError);
    expect(stripTrailingSoftmax(logits).stripped).toBe(false);
  });

  for (const model of MODELS) {
    it(`${model.name}: testbench agrees with the float interpreter`, () => {
      const full = buildIr(readOnnx(model.path));
      const { ir, stripped } = stripTrailingSoftmax(full);
      const dir = join(repoRoot, `hls/build/test-${model.name}`);
      const nIn = shapeSize(ir.inputShape);
      const calDraw = normalSampler(SEED + 1);
      const spec = model.precision === 'default' ? {}
        : precisionFromRanges(ir, calibrateRanges(ir, Array.from({ length: SAMPLES }, () => calDraw(nIn))));
      const precision = resolvePrecision(spec);
      const summary = writeProject(ir, precision, dir, {
        name: model.name, strategy: 'latency', reuse: 1, clockMhz: 200, postprocess: stripped ? 'softmax' : null,
      });
      const draw = normalSampler(SEED);
      const inputs = Array.from({ length: SAMPLES }, () => draw(summary.nIn));
      writeTbInputs(dir, inputs, summary.nIn);

      const t0 = performance.now();
      execFileSync('g++', ['-std=c++17', '-O2', '-I', 'firmware', '-I', 'firmware/nnet', '-o', 'tb_bin',
        `firmware/${model.name}.cpp`, `tb/${model.name}_test.cpp`], { cwd: dir, stdio: 'pipe' });
      const compileMs = performance.now() - t0;
      const t1 = performance.now();
      execFileSync('./tb_bin', [], { cwd: dir, stdio: 'pipe' });
      const runMs = performance.now() - t1;
      const raw1 = readFileSync(join(dir, 'tb_data/csim_raw.dat'), 'utf8');
      execFileSync('./tb_bin', ['tb_data/tb_input_features.dat', 'tb_data/csim_raw2.dat', 'tb_data/csim_results2.log'], { cwd: dir, stdio: 'pipe' });
      expect(readFileSync(join(dir, 'tb_data/csim_raw2.dat'), 'utf8')).toBe(raw1);

      const exitCode = (args: string[]): number => {
        try {
          execFileSync('./tb_bin', args, { cwd: dir, stdio: 'pipe' });
          return 0;
        } catch (e) {
          return (e as { status: number }).status;
        }
      };
      writeFileSync(join(dir, 'tb_data/bad.dat'), '1 2 x\n');
      expect(exitCode(['tb_data/bad.dat', 'tb_data/bad_raw.dat', 'tb_data/bad.log'])).toBe(2);
      writeFileSync(join(dir, 'tb_data/short.dat'), '1 2\n');
      expect(exitCode(['tb_data/short.dat', 'tb_data/bad_raw.dat', 'tb_data/bad.log'])).toBe(2);
      expect(exitCode(['tb_data/missing.dat', 'tb_data/bad_raw.dat', 'tb_data/bad.log'])).toBe(1);

      const fixed = readRows(join(dir, 'tb_data/csim_results.log'));
      const raws = readRows(join(dir, 'tb_data/csim_raw.dat'));
      expect(fixed.length).toBe(SAMPLES);
      // Raw bits and floats agree: value = raw * 2^-F of the output layer's result type.
      const lsb = 2 ** -fracBits(layerPrecision(precision, ir.output).result);
      let agree = 0;
      let maxErr = 0;
      let maxRef = 0;
      for (let s = 0; s < SAMPLES; s++) {
        const ref = runIrF64(ir, inputs[s]!);
        const got = fixed[s]!;
        expect(got.length).toBe(summary.nOut);
        for (let i = 0; i < got.length; i++) expect(raws[s]![i]! * lsb).toBe(got[i]);
        if (argmax(got) === argmax(ref)) agree++;
        for (let i = 0; i < got.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(got[i]! - ref[i]!));
          maxRef = Math.max(maxRef, Math.abs(ref[i]!));
        }
      }
      console.log(`writer ${model.name} (${model.precision}, seed ${SEED}): compile ${(compileMs / 1000).toFixed(1)} s, run ${SAMPLES} samples ` +
        `${(runMs / 1000).toFixed(2)} s, top-1 agreement ${agree}/${SAMPLES}, max |logit err| ${maxErr.toExponential(3)} ` +
        `(max |logit| ${maxRef.toFixed(2)})`);
      expect(agree / SAMPLES).toBeGreaterThanOrEqual(0.99);
      // Observed: <= 0.0023 of the largest logit (three_layer_keras, weight quantisation).
      expect(maxErr / (1 + maxRef)).toBeLessThan(0.005);
      const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { postprocess: string | null };
      expect(meta.postprocess).toBe(stripped ? 'softmax' : null);
    });
  }
});
