// Golden test of nnet_preprocess.h (the firmware's pixel stage) with the constants the
// compiler plans (hls/compiler/preprocess.ts): a frame holding every pixel value in every
// channel, centre-cropped, against the host's float normalisation computed here from the
// card's definition (x * scale - mean) / std in float64, stored as float32, then the input
// type's AP_TRN (floor) and AP_SAT (clamp) on value * 2^F. Every build (the simulator's table
// fast path, the generic loop with -DHT_SIM_GENERIC, and the generic loop on the vendor's
// ap_fixed and ap_uint<8>, what synthesis sees) must give exactly that, bit for bit.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planPreprocess, type PixelSpec } from '../compiler/preprocess.js';
import { parseFixedType } from '../compiler/precision.js';
import { pixelsFiles } from '../compiler/pixels-writer.js';
import { buildDir, configCompiles, nnetDir } from './test/testing.js';

// 18 x 17 frame, 3 channels, cropped to 16 x 16: the crop holds 256 pixels per channel, and
// pixel (y, x, c) of the crop is (y * 16 + x + 85 * c) mod 256, so each channel sees all 256.
const FRAME = [18, 17, 3] as const;
const VENDOR_INCLUDE = path.resolve(nnetDir, '..', '..', '..', 'shared', 'reference', 'xilinx-ap-types', 'include');
type Build = 'table' | 'generic' | 'vendor';
const BUILD_FLAGS: Record<Build, string[]> = { table: [], generic: ['-DHT_SIM_GENERIC'], vendor: ['-DHT_USE_VENDOR_AP', '-DNDEBUG', '-I', VENDOR_INCLUDE] };
const INPUT = [3, 16, 16] as const;
const CROP_TOP = 1;
const CROP_LEFT = 0;
const SPECS: { name: string; spec: PixelSpec; type: string }[] = [
  { name: 'bccd card', type: 'ap_fixed<16,6,AP_TRN,AP_SAT>',
    spec: { frame: { shape: FRAME, dtype: 'uint8' }, input: { shape: INPUT }, resize: 'centre-crop', scale: 1 / 255, mean: [0.7334, 0.6836, 0.7086], std: [0.0642, 0.1035, 0.0767] } },
  // A narrow type that saturates: (255/255 - 0) / 0.05 = 20 > 8 (the type's range).
  { name: 'saturating', type: 'ap_fixed<10,4,AP_TRN,AP_SAT>',
    spec: { frame: { shape: FRAME, dtype: 'uint8' }, input: { shape: INPUT }, resize: 'centre-crop', scale: 1 / 255, mean: [0, 0.5, 1], std: [0.05, 0.25, 0.3] } },
];

function framePixel(y: number, x: number, c: number): number {
  const cy = y - CROP_TOP;
  const cx = x - CROP_LEFT;
  if (cy < 0 || cy >= 16 || cx < 0 || cx >= 16) return (y * 7 + x * 13 + c) % 256;  // outside the crop: anything
  return (cy * 16 + cx + 85 * c) % 256;
}

/** The host's input_t raw value: float64 multiply-add, float32, then AP_TRN and AP_SAT. */
function hostRaw(p: number, scale: number, mean: number, std: number, width: number, integer: number): number {
  const v = Math.fround(p * (scale / std) + -mean / std);
  const raw = Math.floor(v * 2 ** (width - integer));
  return Math.min(Math.max(raw, -(2 ** (width - 1))), 2 ** (width - 1) - 1);
}

function driverSource(name: string, type: string): string {
  return `#include <cstdio>
#include "${name}_pixels.h"
int main() {
  static pixel_t px[N_PX];
  for (int y = 0; y < ${FRAME[0]}; y++)
    for (int x = 0; x < ${FRAME[1]}; x++)
      for (int c = 0; c < 3; c++) {
        const int cy = y - ${CROP_TOP}, cx = x - ${CROP_LEFT};
        px[(y * ${FRAME[1]} + x) * 3 + c] = (cy < 0 || cy >= 16 || cx < 0 || cx >= 16) ? (y * 7 + x * 13 + c) % 256 : (cy * 16 + cx + 85 * c) % 256;
      }
  static ${type} x[N_IN];
  nnet::preprocess<${type}, config_preprocess>(px, x, preprocess_gain, preprocess_offset);
  for (int i = 0; i < N_IN; i++) std::printf("%lld\\n", static_cast<long long>(nnet::fixed_bits(x[i])));
  return 0;
}
`;
}

/** Writes the generated pixel files around a stub network header and runs the kernel alone. */
function runKernel(name: string, spec: PixelSpec, type: string, build: Build): number[] {
  const dir = path.join(buildDir, `preprocess_${name}`);
  mkdirSync(path.join(dir, 'nnet'), { recursive: true });
  const plan = planPreprocess(spec, parseFixedType(type, 'test'), 'test');
  expect(plan.cropTop).toBe(CROP_TOP);
  expect(plan.cropLeft).toBe(CROP_LEFT);
  const files = pixelsFiles(name, plan);
  writeFileSync(path.join(dir, `${name}.h`), `#include "nnet_common.h"\nstatic constexpr int N_IN = ${INPUT[0] * INPUT[1] * INPUT[2]};\nstatic constexpr int N_OUT = 1;\ntypedef ${type} input_t;\ntypedef ${type} result_t;\nvoid ${name}(input_t x[N_IN], result_t y[N_OUT]);\n`);
  writeFileSync(path.join(dir, `${name}_pixels.h`), files.get(`firmware/${name}_pixels.h`)!.replace('#include "nnet/nnet_preprocess.h"', '#include "nnet_preprocess.h"'));
  // The constants, without the top function (which would call the stub network).
  const cpp = files.get(`firmware/${name}_pixels.cpp`)!;
  writeFileSync(path.join(dir, 'constants.h'), cpp.slice(0, cpp.indexOf('void ')));
  writeFileSync(path.join(dir, 'driver.cc'), driverSource(name, type).replace(`#include "${name}_pixels.h"`, `#include "${name}_pixels.h"\n#include "constants.h"`));
  const exe = path.join(dir, `driver_${build}`);
  const warnings = build === 'vendor' ? ['-w'] : ['-Wall', '-Werror', '-Wno-unknown-pragmas', '-Wno-unused-label'];
  const cc = spawnSync('g++', ['-std=c++17', '-O1', ...warnings, ...BUILD_FLAGS[build],
    '-I', nnetDir, '-I', dir, path.join(dir, 'driver.cc'), '-o', exe], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`compiling the preprocess driver failed:\n${cc.stderr}`);
  const r = spawnSync(exe, [], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n').map(Number);
}

describe('nnet::preprocess (crop and per-channel normalisation of uint8 pixels)', () => {
  for (const { name, spec, type } of SPECS) {
    for (const build of ['table', 'generic', 'vendor'] as const) {
      it(`${name}, ${type}, ${build} build: every pixel value as the host's float path gives it`, () => {
        const t = parseFixedType(type, 'test');
        const got = runKernel(name.replace(/\W/g, '_'), spec, type, build);
        const want: number[] = [];
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < 16; y++) {
            for (let x = 0; x < 16; x++) {
              want.push(hostRaw(framePixel(y + CROP_TOP, x + CROP_LEFT, c), spec.scale, spec.mean[c]!, spec.std[c]!, t.width, t.integer));
            }
          }
        }
        expect(got).toEqual(want);
        if (name === 'saturating') expect(want.filter((v) => v === 2 ** (t.width - 1) - 1).length).toBeGreaterThan(0);
      }, 60_000);
    }
  }

  it('refuses a crop that leaves the frame (static_assert)', () => {
    const header = `#include "nnet_preprocess.h"
struct cfg { static constexpr int frame_height = 4, frame_width = 4, n_chan = 1, in_height = 4, in_width = 4, crop_top = 1, crop_left = 0, reuse_factor = 1;
  typedef ap_fixed<9, 9> pixel_fixed_t; typedef ap_fixed<20, 2> gain_t; typedef ap_fixed<20, 4> offset_t; };
`;
    const r = configCompiles('preprocess_bad_crop.cc', header, `void f(const nnet::pixel_t* p, ap_fixed<16,6>* x, const cfg::gain_t* g, const cfg::offset_t* o) { nnet::preprocess<ap_fixed<16,6>, cfg>(p, x, g, o); }\n`);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/the crop leaves the frame \(height\)/);
  });
});
