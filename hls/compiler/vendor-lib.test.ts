// The vendor-csim peer (hls/compiler/vendor-lib.ts): the jet student's firmware built on the
// vendor's ap_fixed, loaded through the sim backend's loader, against the sim library built on
// ht_fixed: bit-identical outputs on the same inputs (float and raw paths).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSimModel, type NativeSimModel } from '../../host/src/native/addon.js';
import { createRng } from '../../host/src/core/rng.js';
import { buildPeerLibrary } from './vendor-lib.js';

const REPO = join(import.meta.dirname, '..', '..');
const NAME = 'jets_hls4ml_student';
const PROJECT = join(REPO, 'hls', 'build', NAME);
const SEED = 14;

function outputsOf(m: NativeSimModel, xs: readonly Float32Array[]): Uint32Array {
  const n = m.info().nOut;
  const y = new Float32Array(xs.length * n);
  for (let i = 0; i < xs.length; i++) m.predict(xs[i]!, y.subarray(i * n, (i + 1) * n));
  return new Uint32Array(y.buffer);
}

function rawOutputsOf(m: NativeSimModel, xs: readonly Int32Array[]): Int32Array {
  const n = m.info().nOut;
  const y = new Int32Array(xs.length * n);
  for (let i = 0; i < xs.length; i++) m.predictRaw(xs[i]!, y.subarray(i * n, (i + 1) * n));
  return y;
}

describe(`vendor-csim library of ${NAME} (seed ${SEED})`, () => {
  it('computes the same bits as the sim library on 300 inputs', () => {
    const sim = loadSimModel(join(PROJECT, `lib${NAME}.so`));
    const info = sim.info();
    const lib = buildPeerLibrary(PROJECT, info, join(REPO, 'hls', 'build', 'vendor-csim'));
    const vendor = loadSimModel(lib);
    try {
      expect(vendor.info()).toMatchObject({ ...info, path: lib });
      const rng = createRng(SEED);
      // A third at x40: the input type (ap_fixed<16,6>) saturates at +-32, so its overflow mode runs too.
      const xs = Array.from({ length: 300 }, (_, k) => Float32Array.from({ length: info.nIn }, () => rng.normal() * (k % 3 === 0 ? 40 : 1)));
      const want = outputsOf(sim, xs);
      expect(new Set(want).size).toBeGreaterThan(100);
      expect(outputsOf(vendor, xs)).toEqual(want);
      // Raw words with bits above W set: the ABI ignores them.
      const raws = Array.from({ length: 100 }, () => Int32Array.from({ length: info.nIn }, () => rng.uint32() | 0));
      expect(rawOutputsOf(vendor, raws)).toEqual(rawOutputsOf(sim, raws));
    } finally {
      vendor.close();
      sim.close();
    }
  }, 300_000);
});
