// Golden tests for the layer templates (nnet_dense*.h, nnet_activation.h, nnet_conv1d.h,
// nnet_conv2d.h, nnet_depthwise_conv2d.h, nnet_pooling.h) through test/layers_driver.cc. For every compiled
// configuration (LAYERS below must match the modes in the driver), seeded random parameters
// and inputs are sent as raw integers, and the raw outputs are checked
//   (a) against a float64 reference of the same layer on the same (dequantised) values, within
//       the tolerance the types allow (tolerance() below states it per layer);
//   (b) bit-exact between every build of the same dense layer (latency and resource
//       strategies, several reuse factors);
//   (c) bit-exact against an integer (BigInt) re-implementation of the fixed-point arithmetic:
//       full-precision products, each addition converted to accum_t, the final cast to the
//       result type, all with AP_TRN / AP_WRAP, via test/reference.ts's convertRef.
import { beforeAll, describe, expect, it } from 'vitest';
import { convertRef, Ovf, Quant } from './test/reference.js';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { compileDriver, configCompiles, driverCompileArgs, drawUniform, frac, lsb, rng, runDriver, toDouble, type FixedShape } from './test/testing.js';

let driver = '';
const SEED = 20261127;
const SAMPLES = 300;

type Ty = FixedShape;
const T16: Ty = { w: 16, i: 6 };
const T12: Ty = { w: 12, i: 4 };
const ACC32: Ty = { w: 32, i: 12 };
const ACC24: Ty = { w: 24, i: 10 };
const SCALE18: Ty = { w: 18, i: 1 };
const ALPHA: Ty = { w: 16, i: 1 };
/** raw * 2^-fracIn converted to t with AP_TRN, AP_WRAP (the defaults the driver's types use). */
const cvt = (raw: bigint, fracIn: number, t: Ty): bigint => convertRef(t.w, t.i, Quant.TRN, Ovf.WRAP, fracIn, raw);

// ---- integer (bit-exact) and float64 references ---------------------------------------------

/** One multiply-accumulate output: acc = accum_t(bias); acc = accum_t(acc + x * w) per term; res_T(acc). */
function macExact(bias: bigint, terms: [bigint, bigint][], acc: Ty, res: Ty): bigint {
  let a = cvt(bias, frac(T16), acc);
  const fp = 2 * frac(T16);
  const f = Math.max(frac(acc), fp);
  for (const [x, w] of terms) {
    const sum = (a << BigInt(f - frac(acc))) + ((x * w) << BigInt(f - fp));
    a = cvt(sum, f, acc);
  }
  return cvt(a, frac(acc), res);
}
const macFloat = (bias: bigint, terms: [bigint, bigint][]): number =>
  terms.reduce((s, [x, w]) => s + toDouble(x, T16) * toDouble(w, T16), toDouble(bias, T16));

interface Ref {
  exact: bigint[];
  float: number[];
}

interface DenseSpec {
  kind: 'dense';
  nIn: number;
  nOut: number;
  acc: Ty;
  res: Ty;
  wMax: number;
  modes: string[];
}
interface ConvSpec {
  kind: 'conv';
  c: number;
  h: number;
  w: number;
  f: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pb: number;
  pl: number;
  pr: number;
  acc: Ty;
  modes: string[];
}
/** A depthwise conv: conv's fields with f = c, each filter reading only its own channel. */
interface DwConvSpec extends Omit<ConvSpec, 'kind'> {
  kind: 'dwconv';
}
interface ActSpec {
  kind: 'relu' | 'leaky_relu';
  n: number;
  alpha: number;
  modes: string[];
}
interface PoolSpec {
  kind: 'maxpool' | 'avgpool';
  c: number;
  h: number;
  w: number;
  p: number;
  s: number;
  modes: string[];
}
type Spec = DenseSpec | ConvSpec | DwConvSpec | ActSpec | PoolSpec;

const convOut = (s: ConvSpec | DwConvSpec): [number, number] => [
  Math.floor((s.h + s.pt + s.pb - s.kh) / s.sh) + 1,
  Math.floor((s.w + s.pl + s.pr - s.kw) / s.sw) + 1,
];
const poolOut = (s: PoolSpec): [number, number] => [Math.floor((s.h - s.p) / s.s) + 1, Math.floor((s.w - s.p) / s.s) + 1];

function shapes(s: Spec): { nParams: [number, number]; nIn: number; nOut: number; res: Ty } {
  switch (s.kind) {
    case 'dense':
      return { nParams: [s.nIn * s.nOut, s.nOut], nIn: s.nIn, nOut: s.nOut, res: s.res };
    case 'conv': {
      const [oh, ow] = convOut(s);
      return { nParams: [s.f * s.c * s.kh * s.kw, s.f], nIn: s.c * s.h * s.w, nOut: s.f * oh * ow, res: T16 };
    }
    case 'dwconv': {
      const [oh, ow] = convOut(s);
      return { nParams: [s.c * s.kh * s.kw, s.c], nIn: s.c * s.h * s.w, nOut: s.c * oh * ow, res: T16 };
    }
    case 'relu':
    case 'leaky_relu':
      return { nParams: [0, 0], nIn: s.n, nOut: s.n, res: T16 };
    default: {
      const [oh, ow] = poolOut(s);
      return { nParams: [0, 0], nIn: s.c * s.h * s.w, nOut: s.c * oh * ow, res: T16 };
    }
  }
}

function reference(s: Spec, w: bigint[], b: bigint[], x: bigint[]): Ref {
  const exact: bigint[] = [];
  const float: number[] = [];
  switch (s.kind) {
    case 'dense':
      for (let j = 0; j < s.nOut; j++) {
        const terms: [bigint, bigint][] = x.map((xi, i) => [xi, w[i * s.nOut + j]]);
        exact.push(macExact(b[j], terms, s.acc, s.res));
        float.push(macFloat(b[j], terms));
      }
      break;
    case 'dwconv': {
      // Channel c through filter c alone: the conv reference on a one-channel slice.
      const plane = s.h * s.w;
      const k = s.kh * s.kw;
      const one: ConvSpec = { ...s, kind: 'conv', c: 1, f: 1 };
      for (let c = 0; c < s.c; c++) {
        const r = reference(one, w.slice(c * k, (c + 1) * k), [b[c]], x.slice(c * plane, (c + 1) * plane));
        exact.push(...r.exact);
        float.push(...r.float);
      }
      break;
    }
    case 'conv': {
      const [oh, ow] = convOut(s);
      for (let f = 0; f < s.f; f++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const terms: [bigint, bigint][] = [];
            for (let c = 0; c < s.c; c++)
              for (let ky = 0; ky < s.kh; ky++)
                for (let kx = 0; kx < s.kw; kx++) {
                  const iy = oy * s.sh + ky - s.pt;
                  const ix = ox * s.sw + kx - s.pl;
                  if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                  terms.push([x[(c * s.h + iy) * s.w + ix], w[((f * s.c + c) * s.kh + ky) * s.kw + kx]]);
                }
            exact.push(macExact(b[f], terms, s.acc, T16));
            float.push(macFloat(b[f], terms));
          }
      break;
    }
    case 'relu':
      for (const xi of x) {
        exact.push(xi > 0n ? xi : 0n);
        float.push(Math.max(0, toDouble(xi, T16)));
      }
      break;
    case 'leaky_relu': {
      const alphaRaw = BigInt(Math.floor(s.alpha / lsb(ALPHA)));
      for (const xi of x) {
        exact.push(xi > 0n ? xi : cvt(xi * alphaRaw, frac(T16) + frac(ALPHA), T16));
        float.push(xi > 0n ? toDouble(xi, T16) : toDouble(xi, T16) * s.alpha);
      }
      break;
    }
    default: {
      const [oh, ow] = poolOut(s);
      const n = s.p * s.p;
      const scaleRaw = BigInt(Math.floor((1 / n) / lsb(SCALE18)));
      for (let c = 0; c < s.c; c++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const win: bigint[] = [];
            for (let ky = 0; ky < s.p; ky++)
              for (let kx = 0; kx < s.p; kx++) win.push(x[(c * s.h + oy * s.s + ky) * s.w + ox * s.s + kx]);
            if (s.kind === 'maxpool') {
              const m = win.reduce((a, v) => (v > a ? v : a));
              exact.push(m);
              float.push(toDouble(m, T16));
            } else {
              let acc = 0n;
              for (const v of win) acc = cvt(acc + (v << BigInt(frac(ACC32) - frac(T16))), frac(ACC32), ACC32);
              exact.push(cvt(acc * scaleRaw, frac(ACC32) + frac(SCALE18), T16));
              float.push(win.reduce((a, v) => a + toDouble(v, T16), 0) / n);
            }
          }
    }
  }
  return { exact, float };
}

/**
 * |fixed - float64| allowed, from the types: each truncation loses less than one LSB of its
 * target. MAC layers: one accum_t LSB per product when accum_t has fewer fractional bits
 * than the product (else 0), plus one result LSB. leaky_relu: alpha's truncation times |x|,
 * plus one result LSB. Average pools: the scale's truncation (< 2^-17) times |sum| (< n * 2),
 * plus one result LSB. relu and max pools: 0 (no rounding anywhere).
 */
function tolerance(s: Spec, nTerms: number): number {
  switch (s.kind) {
    case 'dense':
    case 'conv':
    case 'dwconv':
      return (frac(s.acc) < 2 * frac(T16) ? nTerms * lsb(s.acc) : 0) + lsb(s.kind === 'dense' ? s.res : T16);
    case 'leaky_relu':
      return 2 * lsb(ALPHA) + lsb(T16);
    case 'avgpool':
      return s.p * s.p * 2 * lsb(SCALE18) + lsb(T16);
    default:
      return 0;
  }
}

const conv = (o: Omit<ConvSpec, 'kind'>): ConvSpec => ({ kind: 'conv', ...o });
// Must match the modes in test/layers_driver.cc. Input values are uniform in [-2, 2),
// biases in [-1, 1), weights in [-wMax, wMax): small enough that no sum can leave its type
// (checked below), so the float comparison is meaningful; dense also runs a full-range pass.
const LAYERS: Record<string, Spec> = {
  dense_a: { kind: 'dense', nIn: 16, nOut: 8, acc: ACC32, res: T16, wMax: 0.5,
    modes: ['dense_a_lat_rf1', 'dense_a_lat_rf4', 'dense_a_res_rf4', 'dense_a_res_rf128'] },
  dense_b: { kind: 'dense', nIn: 7, nOut: 5, acc: ACC24, res: T12, wMax: 0.25,
    modes: ['dense_b_lat_rf1', 'dense_b_res_rf7', 'dense_b_res_rf5'] },
  relu: { kind: 'relu', n: 32, alpha: 0, modes: ['relu'] },
  leaky_relu: { kind: 'leaky_relu', n: 32, alpha: 0.1, modes: ['leaky_relu'] },
  conv2d_same: conv({ c: 3, h: 6, w: 6, f: 4, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pb: 1, pl: 1, pr: 1, acc: ACC32,
    modes: ['conv2d_same'] }),
  conv2d_strided: conv({ c: 2, h: 7, w: 8, f: 3, kh: 3, kw: 2, sh: 2, sw: 3, pt: 1, pb: 0, pl: 0, pr: 1, acc: ACC24,
    modes: ['conv2d_strided'] }),
  // conv1d is the 2-D reference with height 1.
  conv1d: conv({ c: 2, h: 1, w: 10, f: 3, kh: 1, kw: 3, sh: 1, sw: 1, pt: 0, pb: 0, pl: 1, pr: 1, acc: ACC24,
    modes: ['conv1d'] }),
  maxpool_2s2: { kind: 'maxpool', c: 3, h: 8, w: 8, p: 2, s: 2, modes: ['maxpool_2s2'] },
  maxpool_3s2: { kind: 'maxpool', c: 3, h: 7, w: 7, p: 3, s: 2, modes: ['maxpool_3s2'] },
  avgpool_2s2: { kind: 'avgpool', c: 3, h: 8, w: 8, p: 2, s: 2, modes: ['avgpool_2s2'] },
  avgpool_3s2: { kind: 'avgpool', c: 3, h: 7, w: 7, p: 3, s: 2, modes: ['avgpool_3s2'] },
  // global average pool is the avg pool whose window is the whole 5x5 plane.
  global_avg_pool: { kind: 'avgpool', c: 4, h: 5, w: 5, p: 5, s: 1, modes: ['global_avg_pool'] },
  // Depthwise (last, so the seeds above stay as they were): the second has a tall kernel,
  // stride 2, asymmetric pads and a truncating accumulator.
  dwconv_same: { kind: 'dwconv', c: 4, h: 6, w: 6, f: 4, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pb: 1, pl: 1, pr: 1, acc: ACC32,
    modes: ['dwconv_same'] },
  dwconv_strided: { kind: 'dwconv', c: 3, h: 11, w: 7, f: 3, kh: 4, kw: 3, sh: 2, sw: 2, pt: 2, pb: 1, pl: 1, pr: 0, acc: ACC24,
    modes: ['dwconv_strided'] },
};

const nTermsOf = (s: Spec): number =>
  s.kind === 'dense' ? s.nIn : s.kind === 'conv' ? s.c * s.kh * s.kw : s.kind === 'dwconv' ? s.kh * s.kw : 0;

beforeAll(() => {
  driver = compileDriver('layers_driver');
}, 60_000);

describe('layer templates against float64 and integer references', () => {
  let seedOffset = 0;
  for (const [name, spec] of Object.entries(LAYERS)) {
    const seed = SEED + seedOffset++;
    it(`${name}: ${SAMPLES} samples (seed ${seed}) in ${spec.modes.join(', ')}`, () => {
      const rand = rng(seed);
      const sh = shapes(spec);
      const wMax = spec.kind === 'dense' ? spec.wMax : 0.5;
      const w = drawUniform(rand, sh.nParams[0], T16, wMax);
      const b = drawUniform(rand, sh.nParams[1], T16, 1);
      const xs = Array.from({ length: SAMPLES }, () => drawUniform(rand, sh.nIn, T16, 2));
      const refs = xs.map((x) => reference(spec, w, b, x));
      const tol = tolerance(spec, nTermsOf(spec));
      const resMax = 2 ** (sh.res.i - 1);
      const distinct = new Set<bigint>();
      for (const mode of spec.modes) {
        const got = runDriver(driver, mode, [...w, ...b], xs, sh.nOut);
        for (let k = 0; k < SAMPLES; k++) {
          for (let j = 0; j < sh.nOut; j++) {
            const where = `${mode} sample ${k} output ${j} (seed ${seed})`;
            const want = refs[k];
            // The float result must fit the result type, or the comparison would test the wrap.
            expect(Math.abs(want.float[j]), where).toBeLessThan(resMax);
            expect(got[k][j], `${where}: integer reference`).toBe(want.exact[j]);
            expect(Math.abs(toDouble(got[k][j], sh.res) - want.float[j]), `${where}: float64`).toBeLessThanOrEqual(tol);
            distinct.add(got[k][j]);
          }
        }
      }
      // Guard against a degenerate draw (all zeros, all saturated): outputs must vary.
      expect(distinct.size).toBeGreaterThan(Math.min(50, sh.nOut));
    });
  }

  it('dense: full-range raws (sums wrap) stay bit-exact across strategies and with the integer reference', () => {
    for (const name of ['dense_a', 'dense_b'] as const) {
      const spec = LAYERS[name] as DenseSpec;
      const rand = rng(SEED + 100);
      const full = (n: number): bigint[] => drawUniform(rand, n, T16, 2 ** (T16.i - 1));
      const w = full(spec.nIn * spec.nOut);
      const b = full(spec.nOut);
      const xs = Array.from({ length: 100 }, () => full(spec.nIn));
      const want = xs.map((x) => reference(spec, w, b, x).exact);
      const wrapped = xs
        .flatMap((x) => reference(spec, w, b, x).float)
        .filter((v) => Math.abs(v) >= 2 ** (spec.res.i - 1)).length;
      expect(wrapped, `${name}: the full-range draw must overflow somewhere`).toBeGreaterThan(0);
      for (const mode of spec.modes) expect(runDriver(driver, mode, [...w, ...b], xs, spec.nOut), mode).toEqual(want);
    }
  });
});

describe('depthwise conv: the fast path (this build) and the generic code, bit for bit', () => {
  it('dwconv_same, dwconv_strided: in-range and full-range raws (sums wrap) equal the integer reference in both builds', () => {
    const generic = path.join(path.dirname(driver), 'layers_driver_generic');
    const cc = spawnSync('g++', driverCompileArgs('layers_driver', generic, ['-DHT_SIM_GENERIC']), { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    for (const name of ['dwconv_same', 'dwconv_strided'] as const) {
      const spec = LAYERS[name] as DwConvSpec;
      const sh = shapes(spec);
      const rand = rng(SEED + 200);
      for (const range of [2, 2 ** (T16.i - 1)]) {
        const w = drawUniform(rand, sh.nParams[0], T16, Math.min(range, 8));
        const b = drawUniform(rand, sh.nParams[1], T16, range);
        const xs = Array.from({ length: 60 }, () => drawUniform(rand, sh.nIn, T16, range));
        const want = xs.map((x) => reference(spec, w, b, x).exact);
        for (const bin of [driver, generic]) expect(runDriver(bin, name, [...w, ...b], xs, sh.nOut), `${name} ${bin} range ${range}`).toEqual(want);
        if (range > 2) {
          const wrapped = xs.flatMap((x) => reference(spec, w, b, x).float).filter((v) => Math.abs(v) >= 2 ** (T16.i - 1)).length;
          expect(wrapped, `${name}: the full-range draw must overflow somewhere`).toBeGreaterThan(0);
        }
      }
    }
  }, 120_000);
});

describe('layer configs are checked at compile time', () => {
  const header = `#include "nnet_dense.h"\n#include "nnet_depthwise_conv2d.h"\n#include "nnet_conv2d.h"\n#include "nnet_pooling.h"\ntypedef ap_fixed<16, 6> t;\n`;
  const dense = (nIn: number, nOut: number, rf: number): string =>
    `struct C { static constexpr int n_in = ${nIn}, n_out = ${nOut}, reuse_factor = ${rf};
      static constexpr nnet::strategy strategy = nnet::resource; typedef t weight_t; typedef t bias_t; typedef t accum_t; };
    void f(const t* x, t* y, const t* w, const t* b) { nnet::dense<t, t, C>(x, y, w, b); }\n`;
  const conv = (outH: number): string =>
    `struct C { static constexpr int n_chan = 1, in_height = 5, in_width = 5, n_filt = 1, filt_height = 3, filt_width = 3,
      stride_height = 1, stride_width = 1, pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0,
      out_height = ${outH}, out_width = 3, reuse_factor = 1; typedef t weight_t; typedef t bias_t; typedef t accum_t; };
    void f(const t* x, t* y, const t* w, const t* b) { nnet::conv_2d<t, t, C>(x, y, w, b); }\n`;
  const pool = (p: number): string =>
    `struct C { static constexpr int n_chan = 1, in_height = 4, in_width = 4, pool_height = ${p}, pool_width = ${p},
      stride_height = 1, stride_width = 1, out_height = ${5 - p}, out_width = ${5 - p}, reuse_factor = 1; };
    void f(const t* x, t* y) { nnet::max_pool_2d<t, t, C>(x, y); }\n`;
  const dwconv = (outW: number, padLeft: number): string =>
    `struct C { static constexpr int n_chan = 2, in_height = 5, in_width = 5, filt_height = 3, filt_width = 3,
      stride_height = 2, stride_width = 2, pad_top = 0, pad_bottom = 0, pad_left = ${padLeft}, pad_right = 0,
      out_height = 2, out_width = ${outW}, reuse_factor = 1; typedef t weight_t; typedef t bias_t; typedef t accum_t; };
    void f(const t* x, t* y, const t* w, const t* b) { nnet::depthwise_conv_2d<t, t, C>(x, y, w, b); }\n`;
  const compiles = (body: string): { ok: boolean; stderr: string } => configCompiles('config_check.cc', header, body);
  const cases: [string, string, string | null][] = [
    ['dense 16x8 rf 4', dense(16, 8, 4), null],
    ['dense 16x8 rf 5', dense(16, 8, 5), 'divisible by reuse_factor'],
    ['dense 16x8 rf 256', dense(16, 8, 256), 'must not exceed'],
    ['conv 5x5 k3 out 3', conv(3), null],
    ['conv 5x5 k3 out 4', conv(4), 'out_height disagrees'],
    ['depthwise 5x5 k3 s2 pad left 2 out 2x3', dwconv(3, 2), null],
    ['depthwise 5x5 k3 s2 out width 3', dwconv(3, 0), 'out_width disagrees'],
    ['depthwise 5x5 k3 pad left 3', dwconv(3, 3), 'a pad as large as the kernel'],
    ['maxpool 4x4 window 4', pool(4), null],
    ['maxpool 4x4 window 5', pool(5), 'window larger than the input'],
  ];
  for (const [label, body, error] of cases) {
    it(`${label}: ${error === null ? 'compiles' : `refused (${error})`}`, () => {
      const r = compiles(body);
      expect(r.ok, r.stderr).toBe(error === null);
      if (error !== null) expect(r.stderr).toContain(error);
    });
  }
});
