// Golden tests of the io_stream templates (nnet_stream.h, nnet_conv2d_stream.h,
// nnet_pooling_stream.h) through test/stream_driver.cc: on seeded random inputs and
// parameters, each streaming layer (and a lymphocyte-shaped chain of them) gives exactly the
// bits of the io_parallel templates (conv_2d, max_pool_2d, avg_pool_2d, relu, dense), which
// layers.test.ts checks against an integer reference. Cases cover 1 to 4 channels, strides
// 1 to 3, pads on every side, 1, 2, 3 and 4 pixels a word, reuse factors 1 to 3, and a
// narrow saturating accumulator (where the order of additions changes the result).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDir, configCompiles, drawUniform, driverBytesMax, nnetDir, rng, runDriver, type FixedShape } from './test/testing.js';

const SEED = 20261207;
const SAMPLES = 40;
const T16: FixedShape = { w: 16, i: 6 };

interface Case {
  mode: string;
  /** Parameter raws the mode reads (weights then biases, in the driver's order). */
  params: number;
  nIn: number;
  /** Outputs of one form (the driver prints both). */
  nOut: number;
  /** Magnitude of the drawn weights (inputs are uniform in [-4, 4)). */
  wMax: number;
}

const conv = (mode: string, c: number, h: number, w: number, f: number, kh: number, kw: number, sh: number,
  sw: number, pads: [number, number, number, number], wMax = 0.5): Case => {
  const oh = Math.floor((h + pads[0] + pads[1] - kh) / sh) + 1;
  const ow = Math.floor((w + pads[2] + pads[3] - kw) / sw) + 1;
  return { mode, params: f * c * kh * kw + f, nIn: c * h * w, nOut: f * oh * ow, wMax };
};
const pool = (mode: string, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number): Case =>
  ({ mode, params: 0, nIn: c * h * w, nOut: c * (Math.floor((h - kh) / sh) + 1) * (Math.floor((w - kw) / sw) + 1), wMax: 0 });

// Must match the modes of test/stream_driver.cc.
const CASES: Case[] = [
  conv('conv_plain', 1, 8, 8, 4, 3, 3, 1, 1, [0, 0, 0, 0]),
  conv('conv_p2', 1, 12, 12, 3, 3, 3, 1, 1, [0, 0, 0, 0]),
  conv('conv_pad_stride', 3, 9, 7, 5, 3, 2, 2, 1, [1, 0, 1, 1]),
  conv('conv_p4_stride', 2, 6, 8, 2, 2, 3, 1, 2, [0, 0, 0, 0]),
  conv('conv_pad_sat', 4, 5, 5, 6, 3, 3, 1, 1, [1, 1, 1, 1], 2),
  conv('conv_p2_pad_tb', 2, 6, 6, 3, 3, 3, 1, 1, [2, 1, 0, 0], 2),
  pool('max_p2', 3, 8, 8, 2, 2, 2, 2),
  pool('max_3x3', 2, 7, 9, 3, 3, 2, 3),
  pool('avg_p3', 2, 8, 6, 2, 3, 2, 3),
  { mode: 'chain', params: 36 + 4 + 144 + 4 + 12 + 3, nIn: 144, nOut: 3, wMax: 0.5 },
];

let driver = '';

beforeAll(() => {
  mkdirSync(buildDir, { recursive: true });
  driver = path.join(buildDir, 'stream_driver');
  const cc = spawnSync('g++', ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-unknown-pragmas',
    '-Wno-unused-label', '-I', nnetDir, path.join(nnetDir, 'test', 'stream_driver.cc'), '-o', driver],
  { encoding: 'utf8', maxBuffer: driverBytesMax });
  if (cc.status !== 0) throw new Error(`compiling stream_driver failed:\n${cc.stderr}`);
}, 180_000);

describe('io_stream layers are bit-exact with the io_parallel layers', () => {
  for (const [k, c] of CASES.entries()) {
    it(c.mode, () => {
      const rand = rng(SEED + k);
      const params = c.params > 0 ? drawUniform(rand, c.params, T16, c.wMax) : [];
      const samples = Array.from({ length: SAMPLES }, () => drawUniform(rand, c.nIn, T16, 4));
      const out = runDriver(driver, c.mode, params, samples, 2 * c.nOut);
      const distinct = new Set<bigint>();
      for (const line of out) {
        expect(line.slice(c.nOut)).toEqual(line.slice(0, c.nOut));
        for (const v of line.slice(0, c.nOut)) distinct.add(v);
      }
      // the comparison means something only if the outputs vary
      expect(distinct.size).toBeGreaterThan(Math.min(10, c.nOut * SAMPLES / 2));
    });
  }

  it('the saturating accumulator does saturate (so the order of additions is tested)', () => {
    const c = CASES.find((x) => x.mode === 'conv_pad_sat')!;
    const rand = rng(SEED + CASES.indexOf(c));
    const params = drawUniform(rand, c.params, T16, c.wMax);
    const samples = Array.from({ length: SAMPLES }, () => drawUniform(rand, c.nIn, T16, 4));
    const out = runDriver(driver, c.mode, params, samples, 2 * c.nOut).flat();
    // ACC_SAT = ap_fixed<18,4,AP_RND,AP_SAT>: max 8 - 2^-14, which T16 (10 fractional bits) floors to 8 - 2^-10
    const satMax = BigInt(8 * 1024 - 1);
    expect(out.filter((v) => v === satMax || v === -satMax - 1n).length).toBeGreaterThan(0);
  });
});

describe('stream configs are checked at compile time', () => {
  const header = '#include "nnet_conv2d_stream.h"\ntypedef ap_fixed<16,6> T;\n';
  const cfg = (pin: number, pl: number) => `struct cfg {
  static constexpr int n_chan = 1, in_height = 6, in_width = 6, n_filt = 2, filt_height = 3, filt_width = 3;
  static constexpr int stride_height = 1, stride_width = 1, pad_top = 0, pad_bottom = 0, pad_left = ${pl}, pad_right = 0;
  static constexpr int out_height = 4, out_width = ${4 + pl}, pixels_in = ${pin}, pixels_out = 1, reuse_factor = 1;
  typedef T weight_t; typedef T bias_t; typedef ap_fixed<32,12> accum_t;
};
void f(hls::stream<nnet::array<T, ${pin}>>& i, hls::stream<nnet::array<T, 2>>& o, const T* w, const T* b) {
  nnet::conv_2d_stream<nnet::array<T, ${pin}>, nnet::array<T, 2>, cfg>(i, o, w, b);
}
`;
  it('accepts a good config', () => {
    const r = configCompiles('stream_cfg_ok.cc', header, cfg(2, 0));
    expect(r.stderr).toBe('');
    expect(r.ok).toBe(true);
  });
  it('refuses pixels_in not dividing in_width', () => {
    const r = configCompiles('stream_cfg_div.cc', header, cfg(4, 0));
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('pixels_in must divide in_width');
  });
  it('refuses pixels_in > 1 with a left pad', () => {
    const r = configCompiles('stream_cfg_pad.cc', header, cfg(2, 1));
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('no left/right pads');
  });
});
