// The simulation fast paths (nnet_fast.h) against the generic layer code, bit for bit.
//
// Seeded random layer configs (dense with both strategies and random reuse factors, conv_2d,
// conv_1d with strides and pads, relu, max_pool_2d; random ap_fixed widths, integer bits and
// Q / O modes, some of them outside the fast path's conditions) are written as
// fastpath_configs.h and compiled into test/fastpath_driver.cc six ways: generic
// (-DHT_SIM_GENERIC), and fast with -march=native (AVX-512 / AVX2, VNNI where the CPU has
// them), native without VNNI, native without AVX-512 (AVX-VNNI where the CPU has it), the
// same without AVX-VNNI, and portable (no -m flags: the plain C++ loops). Raw inputs, many at
// the full range of their types so accumulators wrap and results saturate or wrap, go through
// every build; the raw outputs must be identical. The drivers also print, per config, whether
// the fast path is compiled in; that must match the conditions as restated here
// (fastExpected), and the generic build must report it nowhere.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDir, driverBytesMax, driverCompileArgs, rng } from './test/testing.js';

const SEED = 20261128;
const SAMPLES = 12;

const QUANT = ['AP_TRN', 'AP_TRN_ZERO', 'AP_RND', 'AP_RND_ZERO', 'AP_RND_MIN_INF', 'AP_RND_INF', 'AP_RND_CONV'] as const;
const OVF = ['AP_WRAP', 'AP_SAT', 'AP_SAT_ZERO', 'AP_SAT_SYM'] as const;

interface Fx {
  w: number;
  f: number; // fractional bits; I = w - f
  q: (typeof QUANT)[number];
  o: (typeof OVF)[number];
}
const cppType = (t: Fx): string => `ap_fixed<${t.w}, ${t.w - t.f}, ${t.q}, ${t.o}>`;

interface Mac {
  kind: 'dense' | 'conv2d' | 'conv1d';
  data: Fx;
  weight: Fx;
  bias: Fx;
  acc: Fx;
  res: Fx;
  fields: Record<string, number | string>;
  nIn: number;
  nOut: number;
  nW: number;
  nB: number;
  /** Every parameter and input at its type's min or max: int32 lanes overflow (the sums wrap). */
  stress?: boolean;
}
interface Copy {
  kind: 'relu' | 'maxpool2d' | 'convert';
  data: Fx;
  res: Fx;
  fields: Record<string, number | string>;
  nIn: number;
  nOut: number;
  nW: 0;
  nB: 0;
  /** Skip the check that outputs vary (conversions meant to round everything away or saturate). */
  anyOutputs?: boolean;
}
type Layer = Mac | Copy;

const isCopy = (l: Layer): l is Copy => l.kind === 'relu' || l.kind === 'maxpool2d' || l.kind === 'convert';

/** The fast path's conditions (nnet_fast.h, mac_fast / copy_fast), restated independently. */
function fastExpected(l: Layer): boolean {
  if (isCopy(l)) return true;
  return l.data.w <= 16 && l.weight.w <= 16 && l.acc.w <= 32 && l.acc.q === 'AP_TRN' && l.acc.o === 'AP_WRAP';
}

function generate(seed: number): Layer[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const fx = (w: number, f: number, q: Fx['q'] = 'AP_TRN', o: Fx['o'] = 'AP_WRAP'): Fx => ({ w, f, q, o });
  // Operand widths: mostly <= 16 (the fast path), one in eight wider (the generic one).
  const operand = (): Fx => {
    const w = r() < 0.125 ? int(17, 22) : r() < 0.4 ? 16 : int(3, 16);
    return fx(w, int(-2, w + 3), pick(QUANT), pick(OVF));
  };
  const macTypes = (nTerms: number): Pick<Mac, 'data' | 'weight' | 'bias' | 'acc' | 'res'> => {
    for (;;) {
      const data = operand();
      const weight = operand();
      const fp = data.f + weight.f;
      const ip = data.w - data.f + weight.w - weight.f;
      // log2 of |sum| at full range, from the operands' integer bits and the term count.
      const log2Sum = Math.round(ip - 1 + Math.log2(nTerms) / 2);
      // Accumulators: mostly AP_TRN / AP_WRAP, <= 32 bits, holding every product or
      // truncating each (fa < fp), wide enough for most sums but not all of them at full
      // range (so some wrap); some too wide or in another mode (the generic path).
      const roll = r();
      const fa = fp + int(-7, 5);
      const wFit = Math.max(2, fa + log2Sum + int(-3, 2));
      const w = roll < 0.1 ? int(33, 40) : Math.min(32, wFit);
      const q = roll >= 0.1 && roll < 0.2 ? pick(QUANT.slice(1)) : 'AP_TRN';
      const o = roll >= 0.2 && roll < 0.3 ? pick(OVF.slice(1)) : 'AP_WRAP';
      const acc = fx(w, fa, q, o);
      // The generic code forms acc + product in full precision: at most 64 bits.
      const addW = Math.max(w - fa, ip) + 1 + Math.max(fa, fp);
      if (addW > 64 || Math.abs(fa) > 60) continue;
      // Bias and result ranges near the accumulated values' size, at least 10 bits wide, so
      // small inputs give varied outputs and full-range ones overflow the result.
      const log2Res = Math.min(log2Sum, w - fa - 1);
      const biasW = int(10, 24);
      const bias = fx(biasW, biasW - log2Res + int(-1, 4), pick(QUANT), pick(OVF));
      const resW = int(10, 20);
      const res = fx(resW, resW - log2Res + int(-1, 4), pick(QUANT), pick(OVF));
      if (Math.abs(res.f) > 60 || Math.abs(bias.f) > 60) continue;
      return { data, weight, bias, acc, res };
    }
  };
  const layers: Layer[] = [];
  for (let k = 0; k < 16; k++) {
    const nIn = int(1, 70);
    const nOut = int(1, 40);
    const divisors = Array.from({ length: nIn * nOut }, (_, d) => d + 1).filter((d) => (nIn * nOut) % d === 0);
    layers.push({
      kind: 'dense', ...macTypes(nIn), nIn, nOut, nW: nIn * nOut, nB: nOut,
      fields: { n_in: nIn, n_out: nOut, reuse_factor: pick(divisors), strategy: pick(['nnet::latency', 'nnet::resource']) },
    });
  }
  for (let k = 0; k < 14; k++) {
    const c = int(1, 6), f = int(1, 9), kh = int(1, 4), kw = int(1, 4);
    const sh = int(1, 3), sw = int(1, 3);
    const pt = int(0, kh - 1), pb = int(0, kh - 1), pl = int(0, kw - 1), pr = int(0, kw - 1);
    const h = int(Math.max(1, kh - pt - pb), 12), w = int(Math.max(1, kw - pl - pr), 12);
    const oh = Math.floor((h + pt + pb - kh) / sh) + 1, ow = Math.floor((w + pl + pr - kw) / sw) + 1;
    layers.push({
      kind: 'conv2d', ...macTypes(c * kh * kw), nIn: c * h * w, nOut: f * oh * ow, nW: f * c * kh * kw, nB: f,
      fields: { n_chan: c, in_height: h, in_width: w, n_filt: f, filt_height: kh, filt_width: kw,
        stride_height: sh, stride_width: sw, pad_top: pt, pad_bottom: pb, pad_left: pl, pad_right: pr,
        out_height: oh, out_width: ow, reuse_factor: int(1, 4) },
    });
  }
  for (let k = 0; k < 8; k++) {
    const c = int(1, 8), f = int(1, 10), kw = int(1, 5), sw = int(1, 3);
    const pl = int(0, kw - 1), pr = int(0, kw - 1);
    const w = int(Math.max(1, kw - pl - pr), 20);
    const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
    layers.push({
      kind: 'conv1d', ...macTypes(c * kw), nIn: c * w, nOut: f * ow, nW: f * c * kw, nB: f,
      fields: { n_chan: c, in_width: w, n_filt: f, filt_width: kw, stride_width: sw, pad_left: pl, pad_right: pr,
        out_width: ow, reuse_factor: 1 },
    });
  }
  // Stress configs: 16-bit operands at their extremes and a 32-bit exact accumulator, so the
  // int32 partial sums themselves overflow (a saturating instruction would show).
  const t16: Fx = fx(16, 10, 'AP_TRN', 'AP_WRAP');
  const stressTypes = { data: t16, weight: t16, bias: t16, acc: fx(32, 20), res: fx(16, 6, 'AP_RND', 'AP_SAT') };
  layers.push({ kind: 'dense', ...stressTypes, nIn: 64, nOut: 40, nW: 64 * 40, nB: 40, stress: true,
    fields: { n_in: 64, n_out: 40, reuse_factor: 1, strategy: 'nnet::latency' } });
  layers.push({ kind: 'dense', ...stressTypes, nIn: 150, nOut: 3, nW: 150 * 3, nB: 3, stress: true,
    fields: { n_in: 150, n_out: 3, reuse_factor: 3, strategy: 'nnet::resource' } });
  layers.push({ kind: 'conv2d', ...stressTypes, nIn: 6 * 9 * 9, nOut: 8 * 7 * 7, nW: 8 * 6 * 9, nB: 8, stress: true,
    fields: { n_chan: 6, in_height: 9, in_width: 9, n_filt: 8, filt_height: 3, filt_width: 3, stride_height: 1,
      stride_width: 1, pad_top: 0, pad_bottom: 0, pad_left: 0, pad_right: 0, out_height: 7, out_width: 7, reuse_factor: 1 } });
  layers.push({ kind: 'conv1d', ...stressTypes, nIn: 16 * 40, nOut: 4 * 40, nW: 4 * 16 * 5, nB: 4, stress: true,
    fields: { n_chan: 16, in_width: 40, n_filt: 4, filt_width: 5, stride_width: 1, pad_left: 2, pad_right: 2,
      out_width: 40, reuse_factor: 1 } });
  const anyType = (): Fx => {
    const w = int(4, 40);
    return fx(w, int(-4, w + 4), pick(QUANT), pick(OVF));
  };
  // A result type with about the input's integer bits (so not everything saturates).
  const near = (t: Fx): Fx => {
    const w = int(8, 40);
    return fx(w, w - (t.w - t.f) + int(-3, 3), pick(QUANT), pick(OVF));
  };
  for (let k = 0; k < 5; k++) {
    const n = int(1, 100);
    const data = anyType();
    layers.push({ kind: 'relu', data, res: near(data), nIn: n, nOut: n, nW: 0, nB: 0,
      fields: { n_in: n, reuse_factor: 1 } });
  }
  for (let k = 0; k < 5; k++) {
    const c = int(1, 4), p = int(1, 3), s = int(1, 3);
    const h = int(p, 10), w = int(p, 10);
    const oh = Math.floor((h - p) / s) + 1, ow = Math.floor((w - p) / s) + 1;
    const data = anyType();
    layers.push({ kind: 'maxpool2d', data, res: near(data), nIn: c * h * w, nOut: c * oh * ow, nW: 0, nB: 0,
      fields: { n_chan: c, in_height: h, in_width: w, pool_height: p, pool_width: p, stride_height: s, stride_width: s,
        out_height: oh, out_width: ow, reuse_factor: 1 } });
  }
  // Conversions alone (the result conversion every fast layer ends with), every Q and O
  // mode, with fractional shifts from -6 to 6, +-20 to 40, and around the int64 limit.
  for (let k = 0; k < 28; k++) {
    const dataW = int(8, 40);
    const data = fx(dataW, int(-4, 8), pick(QUANT), pick(OVF));
    const far = k % 4 === 3;
    // Every eighth: scaled up so that w + the shift lands at 60..66 bits, where to_fixed
    // hands over to from_scaled (past 62).
    const edge = k % 8 === 7;
    const shift = edge ? data.w - int(60, 66) : far ? int(20, 40) * (r() < 0.5 ? -1 : 1) : int(-6, 6);
    const f = Math.max(-60, Math.min(60, data.f - shift));
    // Near shifts: about the input's integer bits (varied outputs); far ones mostly round
    // to 0 or saturate, which is the point of them.
    const w = far ? int(4, 48) : Math.max(4, Math.min(64, data.w - shift + int(-2, 2)));
    const res = fx(w, f, QUANT[k % QUANT.length], OVF[Math.floor(k / QUANT.length) % OVF.length]);
    layers.push({ kind: 'convert', data, res, nIn: 64, nOut: 64, nW: 0, nB: 0, fields: { n_in: 64 }, anyOutputs: far });
  }
  return layers;
}

const modeName = (l: Layer, k: number): string => `${l.kind}_${k}`;

function configsHeader(layers: Layer[]): string {
  const out: string[] = ['// Generated by hls/nnet/fastpath.test.ts: random layer configs for fastpath_driver.cc.'];
  layers.forEach((l, k) => {
    const m = modeName(l, k);
    out.push(`struct cfg_${m} {`);
    for (const [name, v] of Object.entries(l.fields)) {
      out.push(typeof v === 'number' ? `  static constexpr int ${name} = ${v};`
        : `  static constexpr nnet::strategy ${name} = ${v};`);
    }
    if (!isCopy(l)) {
      out.push(`  typedef ${cppType(l.weight)} weight_t;`, `  typedef ${cppType(l.bias)} bias_t;`,
        `  typedef ${cppType(l.acc)} accum_t;`);
    }
    out.push('};', `typedef ${cppType(l.data)} data_${m};`, `typedef ${cppType(l.res)} res_${m};`);
  });
  const flag = (l: Layer, m: string): string => (isCopy(l)
    ? `copy_flag<data_${m}, res_${m}>()` : `mac_flag<data_${m}, res_${m}, cfg_${m}>()`);
  out.push('void print_flags() {');
  layers.forEach((l, k) => {
    const m = modeName(l, k);
    out.push(`  std::printf("${m} %d\\n", static_cast<int>(${flag(l, m)}));`);
  });
  out.push('}', 'bool dispatch(const char* m) {');
  const runner = { dense: 'run_dense', conv2d: 'run_conv2d', conv1d: 'run_conv1d', relu: 'run_relu', maxpool2d: 'run_max_pool_2d',
    convert: 'run_convert' };
  layers.forEach((l, k) => {
    const m = modeName(l, k);
    out.push(`  if (!std::strcmp(m, "${m}")) return ${runner[l.kind]}<data_${m}, res_${m}, cfg_${m}>(), true;`);
  });
  out.push('  return false;', '}', '');
  return out.join('\n');
}

/** n raws of type t, each its min or max. */
function extremes(r: () => number, n: number, t: Fx): bigint[] {
  const max = 2n ** BigInt(t.w - 1);
  return Array.from({ length: n }, () => (r() < 0.5 ? -max : max - 1n));
}

/** n raws of type t: full range (every value the type has) or small (|raw| < 2^(w - 1 - 5)). */
function draw(r: () => number, n: number, t: Fx, full: boolean): bigint[] {
  const bits = full ? t.w - 1 : Math.max(1, t.w - 6);
  const span = 2 ** bits;
  return Array.from({ length: n }, () => BigInt(Math.floor(r() * 2 * span) - span));
}

// Every build stays within the host's ISA (-march=native minus features), so the test runs
// anywhere g++ does; on an AVX-512 host the native builds cover the 16-lane kernels.
const BUILDS = [
  { name: 'generic', flags: ['-DHT_SIM_GENERIC'], fast: false },
  { name: 'native', flags: ['-march=native'], fast: true },
  { name: 'native_no_vnni', flags: ['-march=native', '-mno-avx512vnni', '-mno-avxvnni'], fast: true },
  { name: 'native_no_avx512', flags: ['-march=native', '-mno-avx512f'], fast: true },
  { name: 'native_no_avx512_vnni', flags: ['-march=native', '-mno-avx512f', '-mno-avxvnni'], fast: true },
  { name: 'portable', flags: [], fast: true },
] as const;
const driverPath = (build: string): string => path.join(buildDir, `fastpath_driver_${build}`);

function run(build: string, args: string[], input = ''): string {
  const r = spawnSync(driverPath(build), args, { input, encoding: 'utf8', maxBuffer: driverBytesMax });
  if (r.status !== 0) throw new Error(`fastpath_driver_${build} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const LAYERS = generate(SEED);

/** floor(raw * 2^shift) for any integer shift. */
const scale = (raw: bigint, shift: number): bigint => (shift >= 0 ? raw << BigInt(shift) : raw >> BigInt(-shift));

/**
 * How many of a dense layer's accumulators leave accum_t's range before the wrap (the
 * unwrapped sum bias + sum of AP_TRN terms): coverage only, so the suite is known to
 * exercise the modulo arithmetic.
 */
function denseWraps(l: Mac, params: bigint[], samples: bigint[][]): number {
  const fp = l.data.f + l.weight.f;
  const lim = 1n << BigInt(l.acc.w - 1);
  let wraps = 0;
  for (const x of samples) {
    for (let j = 0; j < l.nOut; j++) {
      let acc = scale(params[l.nW + j], l.acc.f - l.bias.f);
      for (let i = 0; i < l.nIn; i++) acc += scale(x[i] * params[i * l.nOut + j], l.acc.f - fp);
      if (acc < -lim || acc >= lim) wraps++;
    }
  }
  return wraps;
}
const coverage = { denseWraps: 0, saturated: 0 };

beforeAll(async () => {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(path.join(buildDir, 'fastpath_configs.h'), configsHeader(LAYERS));
  const cc = promisify(execFile);
  await Promise.all(BUILDS.map((b) => cc('g++', driverCompileArgs('fastpath_driver', driverPath(b.name), b.flags, [buildDir]),
    { maxBuffer: driverBytesMax })
    .catch((e: { stderr?: string }) => { throw new Error(`compiling fastpath_driver (${b.name}) failed:\n${e.stderr}`); })));
}, 240_000);

describe(`fast paths are bit-identical to the generic layer code (seed ${SEED})`, () => {
  it('each build compiles the fast path exactly where the conditions hold', () => {
    const want = LAYERS.map((l, k) => `${modeName(l, k)} ${fastExpected(l) ? 1 : 0}`).join('\n') + '\n';
    const none = LAYERS.map((l, k) => `${modeName(l, k)} 0`).join('\n') + '\n';
    for (const b of BUILDS) expect(run(b.name, ['--flags']), b.name).toBe(b.fast ? want : none);
    // The draw must cover both sides of the conditions for every multiply-accumulate kind.
    for (const kind of ['dense', 'conv2d', 'conv1d']) {
      const of = LAYERS.filter((l) => l.kind === kind);
      expect(of.some(fastExpected), `${kind}: some config takes the fast path`).toBe(true);
      expect(of.some((l) => !fastExpected(l)), `${kind}: some config falls back`).toBe(true);
    }
    const macs = LAYERS.filter((l): l is Mac => !isCopy(l) && fastExpected(l));
    expect(macs.some((l) => l.acc.f < l.data.f + l.weight.f), 'a fast config with a truncating accumulator').toBe(true);
    expect(macs.some((l) => l.acc.f >= l.data.f + l.weight.f), 'a fast config with an exact accumulator').toBe(true);
  });

  LAYERS.forEach((l, k) => {
    const m = modeName(l, k);
    const seed = SEED + 1000 + k;
    const geometry = Object.entries(l.fields).map(([n, v]) => `${n}=${v}`).join(' ');
    it(`${m} (${fastExpected(l) ? 'fast' : 'generic'}; seed ${seed}): ${geometry}`, () => {
      const r = rng(seed);
      // Parameters at full range in half the configs; samples alternate full and small.
      const fullParams = k % 2 === 0;
      const stress = !isCopy(l) && l.stress === true;
      const params = isCopy(l) ? []
        : stress ? [...extremes(r, l.nW, l.weight), ...extremes(r, l.nB, l.bias)]
        : [...draw(r, l.nW, l.weight, fullParams), ...draw(r, l.nB, l.bias, fullParams)];
      const samples = Array.from({ length: SAMPLES }, (_, s) =>
        (stress ? extremes(r, l.nIn, l.data) : draw(r, l.nIn, l.data, s % 2 === 0)));
      const input = [params.join(' '), ...samples.map((s) => s.join(' '))].join('\n') + '\n';
      const outputs = BUILDS.map((b) => run(b.name, [m], input));
      const lines = outputs[0].trim().split('\n');
      expect(lines).toHaveLength(SAMPLES);
      for (const line of lines) expect(line.split(' ')).toHaveLength(l.nOut);
      for (let b = 1; b < BUILDS.length; b++) expect(outputs[b], `${BUILDS[b].name} vs generic`).toBe(outputs[0]);
      if (l.kind === 'dense' && fastExpected(l)) coverage.denseWraps += denseWraps(l, params, samples);
      if (l.res.o === 'AP_SAT') {
        const max = String(2n ** BigInt(l.res.w - 1) - 1n);
        coverage.saturated += lines.flatMap((line) => line.split(' ')).filter((v) => v === max).length;
      }
      // Not a degenerate draw: the outputs vary (unless the layer has a single output).
      const distinct = new Set(lines.flatMap((line) => line.split(' ')));
      if (!(isCopy(l) && l.anyOutputs)) {
        expect(distinct.size, `distinct output values (${JSON.stringify(l)})`).toBeGreaterThan(Math.min(3, l.nOut));
      }
    });
  });

  it('the draws reached the edges: fast dense accumulators wrapped, AP_SAT results saturated', () => {
    expect(coverage.denseWraps).toBeGreaterThan(0);
    expect(coverage.saturated).toBeGreaterThan(0);
  });
});
