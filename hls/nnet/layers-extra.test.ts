// Golden tests for the layer templates added after layers.test.ts: sigmoid and tanh (lookup
// tables, nnet_activation.h), softmax (nnet_softmax.h), argmax (nnet_argmax.h), batchnorm
// (nnet_batchnorm.h), add (nnet_merge.h), padded and 1-D pools (nnet_pooling.h) and
// transpose (nnet_transpose.h), through test/layers_extra_driver.cc. For every compiled
// configuration (LAYERS below must match the modes in the driver), seeded random inputs are
// sent as raw integers and the raw outputs are checked
//   (a) bit-exact against an integer (BigInt) re-implementation where the arithmetic is exact
//       or a fixed sequence of conversions (argmax, batchnorm, add, pools, transpose), via
//       test/reference.ts's convertRef;
//   (b) against float64 on the same dequantised values within the bound the types and table
//       sizes give (bound() below derives each one), for every layer; for the table layers
//       this is the only check, and the test also requires the observed error to reach an
//       eighth of the bound somewhere, so a bound far too loose to catch a table of a quarter
//       the size fails too (softmax's first-order bound adds the exp and sum errors, which
//       partly cancel in the ratio, so it is reached less closely than sigmoid's and tanh's).
import { beforeAll, describe, expect, it } from 'vitest';
import { convertRef, Ovf, Quant } from './test/reference.js';
import { compileDriver, configCompiles, drawUniform, frac, lsb, rng, runDriver, toDouble, type FixedShape } from './test/testing.js';

let driver = '';
const SEED = 20261128;
const SAMPLES = 300;

interface Ty extends FixedShape {
  q: number;
}
const ty = (w: number, i: number, q: number = Quant.TRN): Ty => ({ w, i, q });
// The driver's types (test/layers_extra_driver.cc).
const T16 = ty(16, 6);
const T12 = ty(12, 4);
const P18 = ty(18, 2);
const TABLE18 = ty(18, 2, Quant.RND_CONV);
const INV24 = ty(24, 2, Quant.RND_CONV);
const ACC32 = ty(32, 12);
const ACC24 = ty(24, 10);
const SCALE18 = ty(18, 2, Quant.RND_CONV);
/** Largest error of one conversion into t: half an LSB when rounding to nearest, else one. */
const qErr = (t: Ty): number => (t.q === Quant.TRN ? lsb(t) : lsb(t) / 2);
/** raw * 2^-fracIn converted to t (AP_WRAP: every type here wraps). */
const cvt = (raw: bigint, fracIn: number, t: Ty): bigint => convertRef(t.w, t.i, t.q, Ovf.WRAP, fracIn, raw);
/** The exact value of a double d in (0, 1] (>= 2^-7) converted to t: d * 2^60 is an exact integer. */
const cvtDouble = (d: number, t: Ty): bigint => cvt(BigInt(d * 2 ** 60), 60, t);

// ---- layer specs (must match the driver's modes) ---------------------------------------------

interface LutSpec { kind: 'sigmoid' | 'tanh'; n: number; table: number; res: Ty }
interface SoftmaxSpec { kind: 'softmax'; n: number; slices: number; inner: number; table: number; range: number; spread: number }
interface ArgmaxSpec { kind: 'argmax'; n: number }
interface BnSpec { kind: 'batchnorm'; n: number; chan: number; acc: Ty }
interface AddSpec { kind: 'add'; n: number }
interface PoolSpec {
  kind: 'maxpool' | 'avgpool';
  c: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number;
  pt: number; pb: number; pl: number; pr: number; incl: boolean;
}
interface TransposeSpec { kind: 'transpose'; dims: number[]; perm: number[] }
type Spec = LutSpec | SoftmaxSpec | ArgmaxSpec | BnSpec | AddSpec | PoolSpec | TransposeSpec;

const pool2d = (kind: PoolSpec['kind'], c: number, h: number, w: number, k: number, s: number,
  [pt, pb, pl, pr]: number[], incl: boolean): PoolSpec => ({ kind, c, h, w, kh: k, kw: k, sh: s, sw: s, pt, pb, pl, pr, incl });
const pool1d = (kind: PoolSpec['kind'], c: number, w: number, k: number, s: number, pl: number, pr: number, incl: boolean): PoolSpec =>
  ({ kind, c, h: 1, w, kh: 1, kw: k, sh: 1, sw: s, pt: 0, pb: 0, pl, pr, incl });

const LAYERS: Record<string, Spec> = {
  sigmoid_1024: { kind: 'sigmoid', n: 64, table: 1024, res: P18 },
  sigmoid_64: { kind: 'sigmoid', n: 64, table: 64, res: P18 },
  tanh_1024: { kind: 'tanh', n: 64, table: 1024, res: P18 },
  tanh_4096: { kind: 'tanh', n: 64, table: 4096, res: T16 },
  // spread: logits uniform in [-spread, spread); 24 reaches past the exp table's range.
  softmax_10x3: { kind: 'softmax', n: 10, slices: 3, inner: 1, table: 1024, range: 8, spread: 24 },
  softmax_5: { kind: 'softmax', n: 5, slices: 1, inner: 1, table: 4096, range: 16, spread: 6 },
  softmax_4x3x6: { kind: 'softmax', n: 4, slices: 3, inner: 6, table: 1024, range: 8, spread: 8 },
  argmax: { kind: 'argmax', n: 10 },
  batchnorm_acc32: { kind: 'batchnorm', n: 24, chan: 4, acc: ACC32 },
  batchnorm_acc24: { kind: 'batchnorm', n: 24, chan: 4, acc: ACC24 },
  add: { kind: 'add', n: 32 },
  maxpool2d_pad: pool2d('maxpool', 3, 7, 7, 3, 2, [1, 1, 1, 1], false),
  avgpool2d_pad: pool2d('avgpool', 3, 7, 7, 3, 2, [1, 1, 1, 1], false),
  avgpool2d_pad_incl: pool2d('avgpool', 3, 7, 7, 3, 2, [1, 1, 1, 1], true),
  avgpool2d_asym: { ...pool2d('avgpool', 2, 6, 5, 2, 1, [1, 0, 0, 1], false) },
  maxpool1d_pad: pool1d('maxpool', 4, 11, 3, 2, 1, 1, false),
  avgpool1d_pad: pool1d('avgpool', 4, 10, 3, 1, 1, 1, false),
  avgpool1d_plain: pool1d('avgpool', 2, 9, 2, 2, 0, 0, false),
  maxpool1d_plain: pool1d('maxpool', 2, 9, 2, 2, 0, 0, false),
  transpose_2d: { kind: 'transpose', dims: [6, 7], perm: [1, 0] },
  transpose_3d: { kind: 'transpose', dims: [3, 4, 5], perm: [2, 0, 1] },
  transpose_4d: { kind: 'transpose', dims: [2, 3, 4, 5], perm: [3, 1, 0, 2] },
};

const poolOut = (s: PoolSpec): [number, number] => [
  Math.floor((s.h + s.pt + s.pb - s.kh) / s.sh) + 1,
  Math.floor((s.w + s.pl + s.pr - s.kw) / s.sw) + 1,
];

function sizes(s: Spec): { nParams: number; nIn: number; nOut: number; res: Ty | null } {
  switch (s.kind) {
    case 'sigmoid':
    case 'tanh':
      return { nParams: 0, nIn: s.n, nOut: s.n, res: s.res };
    case 'softmax':
      return { nParams: 0, nIn: s.n * s.slices * s.inner, nOut: s.n * s.slices * s.inner, res: P18 };
    case 'argmax':
      return { nParams: 0, nIn: s.n, nOut: 1, res: null };
    case 'batchnorm':
      return { nParams: 2 * s.chan, nIn: s.n, nOut: s.n, res: T16 };
    case 'add':
      return { nParams: 0, nIn: 2 * s.n, nOut: s.n, res: T16 };
    case 'transpose': {
      const n = s.dims.reduce((a, b) => a * b, 1);
      return { nParams: 0, nIn: n, nOut: n, res: T16 };
    }
    default: {
      const [oh, ow] = poolOut(s);
      return { nParams: 0, nIn: s.c * s.h * s.w, nOut: s.c * oh * ow, res: T16 };
    }
  }
}

/** Inputs: raws of T16 in [-max, max); add's second operand is T12; argmax draws ties on purpose. */
function drawInput(s: Spec, rand: () => number): bigint[] {
  switch (s.kind) {
    case 'sigmoid':
    case 'tanh':
      return drawUniform(rand, s.n, T16, 12); // past the table's [-8, 8) on both sides
    case 'softmax':
      return drawUniform(rand, s.n * s.slices * s.inner, T16, s.spread);
    case 'argmax':
      // Seven distinct values for ten slots: most samples have a tie for the maximum.
      return Array.from({ length: s.n }, () => BigInt((Math.floor(rand() * 7) - 3) * 256));
    case 'add':
      return [...drawUniform(rand, s.n, T16, 4), ...drawUniform(rand, s.n, T12, 4)];
    default:
      return drawUniform(rand, sizes(s).nIn, T16, 2);
  }
}

// ---- references ------------------------------------------------------------------------------

interface Ref {
  /** Integer reference, or null where only the float bound applies (table layers). */
  exact: bigint[] | null;
  float: number[];
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function poolRef(s: PoolSpec, x: bigint[]): Ref {
  const [oh, ow] = poolOut(s);
  const exact: bigint[] = [];
  const float: number[] = [];
  for (let c = 0; c < s.c; c++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const win: bigint[] = [];
        for (let ky = 0; ky < s.kh; ky++)
          for (let kx = 0; kx < s.kw; kx++) {
            const iy = oy * s.sh - s.pt + ky;
            const ix = ox * s.sw - s.pl + kx;
            if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) win.push(x[(c * s.h + iy) * s.w + ix]);
          }
        expect(win.length, 'every window holds a real position').toBeGreaterThan(0);
        if (s.kind === 'maxpool') {
          const m = win.reduce((a, v) => (v > a ? v : a));
          exact.push(m);
          float.push(toDouble(m, T16));
        } else {
          const count = s.incl ? s.kh * s.kw : win.length;
          let acc = 0n;
          for (const v of win) acc = cvt(acc + (v << BigInt(frac(ACC32) - frac(T16))), frac(ACC32), ACC32);
          exact.push(cvt(acc * cvtDouble(1 / count, SCALE18), frac(ACC32) + frac(SCALE18), T16));
          float.push(win.reduce((a, v) => a + toDouble(v, T16), 0) / count);
        }
      }
  return { exact, float };
}

function transposeRef(s: TransposeSpec, x: bigint[]): Ref {
  const rank = s.dims.length;
  const stride = s.dims.map((_, d) => s.dims.slice(d + 1).reduce((a, b) => a * b, 1));
  const outDims = s.perm.map((p) => s.dims[p]);
  const exact: bigint[] = [];
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < x.length; o++) {
    exact.push(x[idx.reduce((a, v, d) => a + v * stride[s.perm[d]], 0)]);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return { exact, float: exact.map((v) => toDouble(v, T16)) };
}

function reference(s: Spec, params: bigint[], x: bigint[]): Ref {
  switch (s.kind) {
    case 'sigmoid':
    case 'tanh':
      return { exact: null, float: x.map((v) => (s.kind === 'sigmoid' ? sigmoid : Math.tanh)(toDouble(v, T16))) };
    case 'softmax': {
      const float = new Array<number>(x.length);
      for (let g = 0; g < s.slices; g++)
        for (let t = 0; t < s.inner; t++) {
          const at = (i: number): number => (g * s.n + i) * s.inner + t;
          const v = Array.from({ length: s.n }, (_, i) => toDouble(x[at(i)], T16));
          const m = Math.max(...v);
          const e = v.map((a) => Math.exp(a - m));
          const sum = e.reduce((a, b) => a + b, 0);
          e.forEach((a, i) => { float[at(i)] = a / sum; });
        }
      return { exact: null, float };
    }
    case 'argmax': {
      let k = 0;
      for (let i = 1; i < x.length; i++) if (x[i] > x[k]) k = i;
      return { exact: [BigInt(k)], float: [k] };
    }
    case 'batchnorm': {
      const per = s.n / s.chan;
      const f = Math.max(frac(s.acc), 2 * frac(T16));
      const exact = x.map((xi, i) => {
        const c = Math.floor(i / per);
        const a = cvt(params[s.chan + c], frac(T16), s.acc);
        const sum = (a << BigInt(f - frac(s.acc))) + ((xi * params[c]) << BigInt(f - 2 * frac(T16)));
        return cvt(cvt(sum, f, s.acc), frac(s.acc), T16);
      });
      const float = x.map((xi, i) => {
        const c = Math.floor(i / per);
        return toDouble(xi, T16) * toDouble(params[c], T16) + toDouble(params[s.chan + c], T16);
      });
      return { exact, float };
    }
    case 'add': {
      const a = x.slice(0, s.n);
      const b = x.slice(s.n);
      const shift = BigInt(frac(T16) - frac(T12));
      return {
        exact: a.map((v, i) => cvt(v + (b[i] << shift), frac(T16), T16)),
        float: a.map((v, i) => toDouble(v, T16) + toDouble(b[i], T12)),
      };
    }
    case 'transpose':
      return transposeRef(s, x);
    default:
      return poolRef(s, x);
  }
}

/**
 * |fixed - float64| allowed, from the types and tables (each conversion loses at most one
 * LSB of its target under AP_TRN, half of one under AP_RND_CONV: qErr).
 * - sigmoid / tanh (table of N entries over [-8, 8), step 16 / N, input rounded to the nearest
 *   grid point and clamped): inside the table the input moves by at most step / 2, so the
 *   value by max|f'| * step / 2 (sigmoid 1/4, tanh 1); outside, the end entries stand for
 *   the tails, off by at most 1 - |f(8 - step)|; plus the table entry's and the result's
 *   rounding.
 * - softmax (exp table step R / N, inverse table step IR / N, IR the least power of two > n):
 *   each exp is off by a factor within exp(+-step / 2), or (past the table) absolutely by
 *   exp(-R + step); the sum >= 1 so the inverse is off by a factor within
 *   1 +- (IR / N / 2) / (1 - IR / N / 2). First order in p: p * (2 rel_exp + rel_inv) (the
 *   exact product of the factors is used), plus (n + 2) absolute exp errors (tail and table
 *   rounding), the inverse entry's rounding and the result's.
 * - batchnorm: one accum_t LSB when accum_t has fewer fractional bits than the product,
 *   plus one result LSB. Average pools: the scale's rounding (half an LSB of scale_t) times
 *   |sum| (< count * 2), plus one result LSB. add, max pools, transpose, argmax: 0.
 */
function bound(s: Spec, pTrue: number): number {
  switch (s.kind) {
    case 'sigmoid':
    case 'tanh': {
      const step = 16 / s.table;
      const slope = s.kind === 'sigmoid' ? 0.25 : 1;
      const f = s.kind === 'sigmoid' ? sigmoid : Math.tanh;
      return Math.max(slope * step / 2, 1 - f(8 - step)) + qErr(TABLE18) + qErr(s.res);
    }
    case 'softmax': {
      const step = s.range / s.table;
      const invStep = 2 ** Math.ceil(Math.log2(s.n + 1)) / s.table;
      const relExp = Math.exp(step / 2) - 1;
      const relInv = (invStep / 2) / (1 - invStep / 2);
      const rel = ((1 + relExp) * (1 + relInv)) / (1 - relExp) - 1;
      const absExp = Math.exp(-s.range + step) + qErr(TABLE18);
      return pTrue * rel + (s.n + 2) * absExp + qErr(INV24) + qErr(P18);
    }
    case 'batchnorm':
      return (frac(s.acc) < 2 * frac(T16) ? lsb(s.acc) : 0) + lsb(T16);
    case 'avgpool':
      return s.kh * s.kw * 2 * qErr(SCALE18) + lsb(T16);
    default:
      return 0;
  }
}

beforeAll(() => {
  driver = compileDriver('layers_extra_driver');
}, 60_000);

describe('added layer templates against float64 and integer references', () => {
  let seedOffset = 0;
  for (const [mode, spec] of Object.entries(LAYERS)) {
    const seed = SEED + seedOffset++;
    it(`${mode}: ${SAMPLES} samples (seed ${seed})`, () => {
      const rand = rng(seed);
      const sz = sizes(spec);
      // batchnorm: scales in [-2, 2), biases in [-1, 1).
      const params = spec.kind === 'batchnorm' ? [...drawUniform(rand, spec.chan, T16, 2), ...drawUniform(rand, spec.chan, T16, 1)] : [];
      const xs = Array.from({ length: SAMPLES }, () => drawInput(spec, rand));
      const got = runDriver(driver, mode, params, xs, sz.nOut);
      const distinct = new Set<bigint>();
      let worstRatio = 0;
      for (let k = 0; k < SAMPLES; k++) {
        const want = reference(spec, params, xs[k]);
        for (let j = 0; j < sz.nOut; j++) {
          const where = `${mode} sample ${k} output ${j} (seed ${seed})`;
          distinct.add(got[k][j]);
          if (want.exact !== null) expect(got[k][j], `${where}: integer reference`).toBe(want.exact[j]);
          if (sz.res === null) continue;
          // The float result must fit the result type, or the comparison would test the wrap.
          expect(Math.abs(want.float[j]), where).toBeLessThan(2 ** (sz.res.i - 1));
          const err = Math.abs(toDouble(got[k][j], sz.res) - want.float[j]);
          const b = bound(spec, want.float[j]);
          expect(err, `${where}: float64 (bound ${b})`).toBeLessThanOrEqual(b);
          if (b > 0) worstRatio = Math.max(worstRatio, err / b);
        }
      }
      // Guard against a degenerate draw (all zeros, all saturated): outputs must vary.
      expect(distinct.size).toBeGreaterThan(Math.min(spec.kind === 'argmax' ? 5 : 50, sz.nOut));
      if (isTableLayer(spec)) {
        console.log(`${mode}: max |fixed - float64| / bound = ${worstRatio.toFixed(3)}`);
        expect(worstRatio, `${mode}: the bound is far looser than the observed error`).toBeGreaterThan(1 / 8);
      }
    });
  }

  it('argmax: ties go to the lowest index, on hand-made inputs', () => {
    const xs = [
      [5n, 5n, 5n, 5n, 5n, 5n, 5n, 5n, 5n, 5n],
      [-1n, -3n, 7n, 2n, 7n, 7n, 0n, 0n, 0n, 0n],
      [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 1n],
      [-32768n, -32768n, -32767n, -32768n, -32768n, -32768n, -32768n, -32768n, -32768n, -32767n],
    ];
    expect(runDriver(driver, 'argmax', [], xs, 1).map((r) => r[0])).toEqual([0n, 2n, 9n, 2n]);
  });
});

function isTableLayer(s: Spec): boolean {
  return s.kind === 'sigmoid' || s.kind === 'tanh' || s.kind === 'softmax';
}

describe('added layer configs are checked at compile time', () => {
  const header = ['nnet_activation.h', 'nnet_argmax.h', 'nnet_batchnorm.h', 'nnet_merge.h', 'nnet_pooling.h',
    'nnet_softmax.h', 'nnet_transpose.h'].map((h) => `#include "${h}"\n`).join('') + 'typedef ap_fixed<16, 6> t;\n';
  const lut = (fn: string, table: number, tableT = 'ap_fixed<18, 2>'): string =>
    `struct C { static constexpr int n_in = 8, table_size = ${table}, reuse_factor = 1; typedef ${tableT} table_t; };
    void f(const t* x, t* y) { nnet::${fn}<t, t, C>(x, y); }\n`;
  const softmax = (n: number, acc: string, range = 8): string =>
    `struct C { static constexpr int n_in = ${n}, n_slices = 1, n_inner = 1, table_size = 1024, exp_range = ${range}, reuse_factor = 1;
      typedef ap_fixed<18, 2> exp_table_t; typedef ap_fixed<18, 2> inv_table_t; typedef ${acc} accum_t; };
    void f(const t* x, t* y) { nnet::softmax<t, t, C>(x, y); }\n`;
  const argmax = (n: number): string =>
    `struct C { static constexpr int n_in = ${n}, reuse_factor = 1; };
    int f(const t* x) { int i = 0; nnet::argmax<t, C>(x, i); return i; }\n`;
  const bn = (nIn: number, chan: number): string =>
    `struct C { static constexpr int n_in = ${nIn}, n_chan = ${chan}, reuse_factor = 1;
      typedef t scale_t; typedef t bias_t; typedef ap_fixed<32, 12> accum_t; };
    void f(const t* x, t* y, const t* s, const t* b) { nnet::batchnorm<t, t, C>(x, y, s, b); }\n`;
  const add = (rf: number): string =>
    `struct C { static constexpr int n_elem = 8, reuse_factor = ${rf}; };
    void f(const t* a, const t* b, t* y) { nnet::add<t, t, t, C>(a, b, y); }\n`;
  const pool = (pad: number, outH: number): string =>
    `struct C { static constexpr int n_chan = 1, in_height = 5, in_width = 5, pool_height = 3, pool_width = 3,
      stride_height = 1, stride_width = 1, pad_top = ${pad}, pad_bottom = ${pad}, pad_left = ${pad}, pad_right = ${pad},
      out_height = ${outH}, out_width = ${outH}, reuse_factor = 1; static constexpr bool count_include_pad = false;
      typedef ap_fixed<32, 12> accum_t; typedef ap_fixed<18, 2> scale_t; };
    void f(const t* x, t* y) { nnet::avg_pool_2d<t, t, C>(x, y); }\n`;
  const pool1 = (outW: number): string =>
    `struct C { static constexpr int n_chan = 2, in_width = 8, pool_width = 2, stride_width = 2, pad_left = 1, pad_right = 1,
      out_width = ${outW}, reuse_factor = 1; };
    void f(const t* x, t* y) { nnet::max_pool_1d<t, t, C>(x, y); }\n`;
  const transpose = (perm: number[]): string =>
    `struct C { static constexpr int n_dims = 3, in_dim0 = 2, in_dim1 = 3, in_dim2 = 4, in_dim3 = 1;
      static constexpr int perm0 = ${perm[0]}, perm1 = ${perm[1]}, perm2 = ${perm[2]}, perm3 = 3, reuse_factor = 1; };
    void f(const t* x, t* y) { nnet::transpose<t, t, C>(x, y); }\n`;
  const compiles = (body: string): { ok: boolean; stderr: string } => configCompiles('config_check_extra.cc', header, body);
  const cases: [string, string, string | null][] = [
    ['sigmoid table 1024', lut('sigmoid', 1024), null],
    ['sigmoid table 1000', lut('sigmoid', 1000), 'table_size must be a power of two'],
    ['tanh table 16', lut('tanh', 16), 'table_size must be a power of two in [32, 65536]'],
    ['tanh table_t ap_fixed<18,1>', lut('tanh', 1024, 'ap_fixed<18, 1>'), 'table_t must hold +-1'],
    ['softmax n 10 accum <32,12>', softmax(10, 'ap_fixed<32, 12>'), null],
    ['softmax n 10 accum <16,4>', softmax(10, 'ap_fixed<16, 4>'), 'accum_t must hold n_in'],
    ['softmax n 10 accum <20,12>', softmax(10, 'ap_fixed<20, 12>'), "at least exp_table_t's fractional bits"],
    ['softmax exp_range 6', softmax(10, 'ap_fixed<32, 12>', 6), 'exp_range must be a power of two'],
    ['argmax n 4', argmax(4), null],
    ['argmax n 0', argmax(0), 'n_in must be positive'],
    ['batchnorm 24 over 4 channels', bn(24, 4), null],
    ['batchnorm 24 over 5 channels', bn(24, 5), 'n_chan must divide n_in'],
    ['add rf 1', add(1), null],
    ['add rf 0', add(0), 'reuse_factor must be >= 1'],
    ['avg pool 5x5 k3 pad 1 out 5', pool(1, 5), null],
    ['avg pool 5x5 k3 pad 1 out 3', pool(1, 3), 'out_height disagrees'],
    ['avg pool 5x5 k3 pad 3', pool(3, 9), 'a pad as large as the window'],
    ['max pool 1d 8 k2 s2 pads 1 out 5', pool1(5), null],
    ['max pool 1d 8 k2 s2 pads 1 out 4', pool1(4), 'out_width disagrees'],
    ['transpose perm 2,0,1', transpose([2, 0, 1]), null],
    ['transpose perm 0,0,1', transpose([0, 0, 1]), 'perm must be a permutation'],
    ['transpose perm 3,0,1', transpose([3, 0, 1]), 'perm must be a permutation'],
  ];
  for (const [label, body, error] of cases) {
    it(`${label}: ${error === null ? 'compiles' : `refused (${error})`}`, () => {
      const r = compiles(body);
      expect(r.ok, r.stderr).toBe(error === null);
      if (error !== null) expect(r.stderr).toContain(error);
    });
  }
});
